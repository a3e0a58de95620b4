import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createActivityTracker } from "@lafs/control-tub";
import { base32Encode } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import type { ServerInfo, ServerList } from "@lafs/introducer-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGridClients } from "../src/grid-clients.js";
import { createWebNode } from "../src/web-node.js";

/**
 * The node's WebNode over a fixed server list: what the welcome page says about uploads, and
 * which servers the uploader and downloader get. Transfers themselves run in tests/grid.
 */

function server(nickname: string, state: "connected" | "disconnected", withFurl = true): ServerInfo {
  const id = `v0-${base32Encode(randomBytes(32))}`;
  const info: ServerInfo = {
    serverId: id,
    nickname,
    version: "lafs-ts/test",
    nurls: [
      `pb://${randomBytes(32).toString("base64url")}@tcp:127.0.0.1:9/${base32Encode(randomBytes(32))}#v=1`,
    ],
    announcement: {},
    learnedFrom: [{ kind: "introducer", petname: "default" }],
    connection:
      state === "connected"
        ? { state, since: 1000, hint: "tcp:127.0.0.1:9", handler: "tcp" }
        : { state, since: 1000, errors: [{ hint: "tcp:127.0.0.1:9", message: "ECONNREFUSED", at: 1000 }] },
  };
  if (withFurl)
    info.furl = `pb://${base32Encode(randomBytes(20))}@tcp:127.0.0.1:9/${base32Encode(randomBytes(20))}`;
  return info;
}

function fixedList(servers: ServerInfo[]): ServerList {
  return {
    start: async () => {},
    stop: async () => {},
    addIntroducer: () => {},
    servers: () => servers,
    server: (id) => servers.find((s) => s.serverId === id),
    noteReceived: () => {},
    onChange: () => () => {},
  };
}

let basedir: string;
beforeEach(async () => {
  basedir = await mkdtemp(join(tmpdir(), "lafs-web-node-"));
});
afterEach(async () => {
  await rm(basedir, { recursive: true, force: true });
});

function webNodeOver(servers: ServerInfo[], activity = createActivityTracker()) {
  const serverList = fixedList(servers);
  const clients = createGridClients({
    serverList,
    connectorFor: () => async () => {
      throw new Error("no network in this test");
    },
    logger: silentLogger,
  });
  const node = createWebNode({
    basedir,
    nickname: "client",
    nodeId: "v0-test",
    version: "lafs-ts/test",
    tempdir: join(basedir, "tmp"),
    leaseSecret: new Uint8Array(32),
    convergenceSecret: new Uint8Array(16),
    encoding: { last: () => ({ k: 3, happy: 4, n: 5 }), read: async () => ({ k: 3, happy: 4, n: 5 }) },
    storageEnabled: false,
    serverList,
    introducers: [],
    clients,
    logger: silentLogger,
    activity,
    now: () => 5000,
  });
  return { node, clients };
}

describe("the node's WebNode", () => {
  it("is ready for uploads when placement could reach happy over the connected servers", async () => {
    const servers = ["a", "b", "c", "d"].map((n) => server(n, "connected"));
    const { node, clients } = webNodeOver(servers);
    const status = node.status();
    expect(status.uploads).toEqual({ ready: true });
    expect(status.encoding).toEqual({ k: 3, happy: 4, n: 5 });
    expect(status.startedAt).toBe(5000);
    expect(status.servers.map((s) => [s.nickname, s.connection.state, s.learnedFrom])).toEqual(
      servers.map((s) => [s.nickname, "connected", ["default"]]),
    );
    await clients.close();
  });

  it("is not ready below happy, with placement's headline", async () => {
    const servers = [
      ...["a", "b", "c"].map((n) => server(n, "connected")),
      server("d", "disconnected"),
      server("e", "disconnected"),
    ];
    const { node, clients } = webNodeOver(servers);
    const status = node.status();
    expect(status.uploads.ready).toBe(false);
    expect(status.uploads.reason).toContain("shares could be placed on only 3 server(s)");
    expect(status.servers.find((s) => s.nickname === "d")?.connection.errors).toEqual([
      { hint: "tcp:127.0.0.1:9", message: "ECONNREFUSED" },
    ]);
    await clients.close();
  });

  it("refuses an upload before any server is asked when a required server is down", async () => {
    const servers = [...["a", "b", "c", "d"].map((n) => server(n, "connected")), server("e", "disconnected")];
    await writeFile(join(basedir, "servers-required"), `${servers[4]!.serverId}\n`);
    const { node, clients } = webNodeOver(servers);
    const body = (async function* () {
      yield randomBytes(1000);
    })();
    await expect(
      node.upload(body, { size: 1000, signal: new AbortController().signal }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED",
      message: expect.stringContaining("'e'"),
    });
    await clients.close();
  });

  it("lists a failed upload on the transfers page with its name, size and placement's error", async () => {
    const servers = [...["a", "b", "c", "d"].map((n) => server(n, "connected")), server("e", "disconnected")];
    await writeFile(join(basedir, "servers-required"), `${servers[4]!.serverId}\n`);
    const { node, clients } = webNodeOver(servers);
    const body = (async function* () {
      yield randomBytes(1000);
    })();
    const signal = new AbortController().signal;
    await expect(node.upload(body, { size: 1000, signal, name: "photo.jpg" })).rejects.toThrow();
    expect(node.transfers?.()).toEqual([
      expect.objectContaining({
        kind: "upload",
        name: "photo.jpg",
        totalBytes: 1000,
        state: "failed",
        error: expect.stringMatching(/^TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED: .*'e'/),
      }),
    ]);
    await clients.close();
  });

  it("refuses a body shorter than its Content-Length", async () => {
    const { node, clients } = webNodeOver(["a", "b", "c", "d"].map((n) => server(n, "connected")));
    const body = (async function* () {
      yield randomBytes(100);
    })();
    await expect(
      node.upload(body, { size: 1000, signal: new AbortController().signal }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_NODE_UPLOAD_TRUNCATED",
      message: expect.stringContaining("100 bytes, not the 1000"),
    });
    await clients.close();
  });

  it("gives the uploader only servers whose fURL seeds lease secrets, the downloader every one", async () => {
    const servers = [server("a", "connected"), server("b", "connected", false), server("c", "disconnected")];
    const { clients } = webNodeOver(servers);
    expect(clients.uploadServers().map((s) => s.nickname)).toEqual(["a", "c"]);
    expect(clients.downloadServers().map((s) => [s.nickname, s.connected])).toEqual([
      ["a", true],
      ["b", true],
      ["c", false],
    ]);
    // The same client is reused while the NURL stays the same.
    expect(clients.downloadServers()[0]!.client).toBe(clients.downloadServers()[0]!.client);
    await clients.close();
  });

  it("refuses a mutable file's creation before any server is asked when a required server is down", async () => {
    const servers = [...["a", "b", "c", "d"].map((n) => server(n, "connected")), server("e", "disconnected")];
    await writeFile(join(basedir, "servers-required"), `${servers[4]!.serverId}\n`);
    const { node, clients } = webNodeOver(servers);
    let pulled = false;
    const body = (async function* () {
      pulled = true;
      yield randomBytes(10);
    })();
    await expect(
      node.createMutable(body, { format: "MDMF", size: 10, signal: new AbortController().signal }),
    ).rejects.toMatchObject({ code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED" });
    expect(pulled).toBe(false);
    await clients.close();
  });

  it("shows a mutable write in tahoe status while its body arrives, and not after it fails", async () => {
    const activity = createActivityTracker();
    // Servers that cannot be reached: the body is taken, then no server takes a share.
    const { node, clients } = webNodeOver(
      ["a", "b", "c", "d"].map((n) => server(n, "connected")),
      activity,
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let seen: ReturnType<typeof activity.list> = [];
    const body = (async function* () {
      yield randomBytes(700);
      seen = activity.list();
      release();
      await held;
    })();
    const created = node.createMutable(body, {
      format: "SDMF",
      size: 700,
      signal: new AbortController().signal,
    });
    await expect(created).rejects.toMatchObject({ code: expect.stringMatching(/^TAHOE_ERR_MUTABLE_/) });
    expect(seen).toEqual([
      expect.objectContaining({
        kind: "upload",
        name: expect.stringMatching(/^SDMF create [0-9a-f]{8}$/),
        doneBytes: 700,
      }),
    ]);
    expect(activity.list()).toEqual([]);
    await clients.close();
  });
});
