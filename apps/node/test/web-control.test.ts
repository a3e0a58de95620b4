import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadTahoeCfgText,
  NODE_FILES,
  rotateWebSecret,
  writeFileAtomic,
  writePrivateFile,
} from "@lafs/config";
import { base32Encode } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import type { ServerInfo, ServerList } from "@lafs/introducer-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGridClients } from "../src/grid-clients.js";
import { createNode } from "../src/node.js";
import { createNodeWebControl } from "../src/web-control.js";
import { createWebNode } from "../src/web-node.js";
import { makeNodeDir } from "./helpers.js";

const id = () => `v0-${base32Encode(randomBytes(32))}`;

function server(nickname: string, serverId = id()): ServerInfo {
  return {
    serverId,
    nickname,
    version: "lafs-ts/test",
    nurls: [],
    announcement: {},
    learnedFrom: [{ kind: "introducer", petname: "default" }],
    connection: { state: "connected", since: 1000, hint: "tcp:127.0.0.1:9", handler: "tcp" },
  };
}

function fixedList(servers: ServerInfo[]): ServerList {
  return {
    start: async () => {},
    stop: async () => {},
    addIntroducer: () => {},
    servers: () => servers,
    server: (sid) => servers.find((s) => s.serverId === sid),
    noteReceived: () => {},
    onChange: () => () => {},
  };
}

let basedir: string;
beforeEach(async () => {
  basedir = await mkdtemp(join(tmpdir(), "lafs-web-control-"));
});
afterEach(() => rm(basedir, { recursive: true, force: true }));

function config(text = "[node]\n") {
  const loaded = loadTahoeCfgText(text, { file: "tahoe.cfg" });
  expect(loaded.errors).toEqual([]);
  return loaded.config!;
}

describe("the node's WebControl", () => {
  it("writes both lists with nicknames and a header, records the shown servers as decided", async () => {
    const [bob, carol] = [server("bob"), server("carol dee")];
    const control = await createNodeWebControl({
      basedir,
      config: config(),
      serverList: fixedList([bob, carol]),
      logger: silentLogger,
    });
    const before = await control.servers();
    expect(before.servers.map((s) => [s.allowed, s.decided])).toEqual([
      [true, false],
      [true, false],
    ]);
    await control.saveServers({ allowed: [bob.serverId], required: [bob.serverId], newServersAllowed: true });
    const allowed = await readFile(join(basedir, "servers-allowed"), "utf8");
    expect(allowed).toMatch(/^# servers-allowed: /);
    expect(allowed).toContain(`${bob.serverId} bob\n`);
    expect(allowed).not.toContain(carol.serverId);
    expect(await readFile(join(basedir, "servers-required"), "utf8")).toContain(`${bob.serverId} bob\n`);
    const state = JSON.parse(await readFile(join(basedir, "control-panel.json"), "utf8"));
    expect(state).toEqual({ version: 1, newServersAllowed: true, decided: [bob.serverId, carol.serverId] });
    const after = await control.servers();
    expect(after.servers.map((s) => [s.nickname, s.allowed, s.required, s.decided])).toEqual([
      ["bob", true, true, true],
      ["carol dee", false, false, true],
    ]);
    // A newcomer gets the default (allowed), and the uploader's flags agree with the page.
    const flags = await control.readFlags();
    expect([flags.allowed(bob.serverId), flags.allowed(carol.serverId), flags.allowed(id())]).toEqual([
      true,
      false,
      true,
    ]);
  });

  it("keeps a hand-edited file's bad lines as comments, and lists servers known only from the files", async () => {
    const [bob, stranger] = [server("bob"), id()];
    await writeFile(
      join(basedir, "servers-allowed"),
      `${bob.serverId} bob\nnot-an-id whatever\n${stranger} far-away\n`,
    );
    const control = await createNodeWebControl({
      basedir,
      config: config(),
      serverList: fixedList([bob]),
      logger: silentLogger,
    });
    const page = await control.servers();
    expect(page.issues).toEqual([
      { file: "servers-allowed", line: 2, message: "'not-an-id' is not a server id" },
    ]);
    expect(page.servers.find((s) => s.id === stranger)).toMatchObject({
      nickname: "far-away",
      listedOnly: true,
      allowed: true,
    });
    await control.saveServers({ allowed: [stranger], required: [], newServersAllowed: false });
    const text = await readFile(join(basedir, "servers-allowed"), "utf8");
    expect(text).toContain(`${stranger} far-away\n`);
    expect(text).not.toContain(`${bob.serverId} bob`);
    expect(text).toContain("# kept from line 2 ('not-an-id' is not a server id): not-an-id whatever\n");
  });

  it("refuses to save over a broken control-panel.json and changes no file", async () => {
    const bob = server("bob");
    await writeFile(join(basedir, "control-panel.json"), '{"version": 1,\n "decided": 7}\n');
    const control = await createNodeWebControl({
      basedir,
      config: config(),
      serverList: fixedList([bob]),
      logger: silentLogger,
    });
    expect((await control.encoding()).issues?.[0]).toMatchObject({ file: "control-panel.json", line: 2 });
    await expect(
      control.saveServers({ allowed: [], required: [], newServersAllowed: true }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_CONFIG_CONTROL_PANEL",
    });
    await expect(stat(join(basedir, "servers-allowed"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(join(basedir, "control-panel.json"), "utf8")).toContain('"decided": 7');
  });

  it("takes the encoding from control-panel.json over tahoe.cfg over the defaults, with its source", async () => {
    const control = await createNodeWebControl({
      basedir,
      config: config("[client]\nshares.happy = 5\n"),
      serverList: fixedList([]),
      logger: silentLogger,
    });
    expect(await control.encoding()).toEqual({
      k: 3,
      happy: 5,
      n: 10,
      sources: { k: "default", happy: "tahoe.cfg", n: "default" },
    });
    await expect(control.saveEncoding({ k: 4, happy: 3, n: 10 })).rejects.toMatchObject({
      code: "TAHOE_ERR_CONFIG_ENCODING",
    });
    await control.saveEncoding({ k: 2, happy: 3, n: 4 });
    expect(control.encodingSource.last()).toEqual({ k: 2, happy: 3, n: 4 });
    expect((await control.encoding()).sources.k).toBe("control panel");
  });

  it("reads the secret on every call, and retires it (deleting the file) after the idle timeout", async () => {
    let now = Date.now();
    const control = await createNodeWebControl({
      basedir,
      config: config("[node]\nweb.control-panel.idle-timeout = 15m\n"),
      serverList: fixedList([]),
      logger: silentLogger,
      now: () => now,
    });
    expect(await control.secretMatches("anything")).toBe(false);
    const first = await rotateWebSecret(basedir);
    expect(await control.secretMatches(first)).toBe(true);
    const second = await rotateWebSecret(basedir);
    expect(await control.secretMatches(first)).toBe(false);
    expect(await control.secretMatches(second)).toBe(true);
    now += 10 * 60_000;
    expect(await control.secretMatches(second)).toBe(true);
    now += 20 * 60_000;
    expect(await control.secretMatches(second)).toBe(false);
    await expect(stat(join(basedir, NODE_FILES.webSecret))).rejects.toMatchObject({ code: "ENOENT" });
    // A secret written long ago and never used is retired at its first use.
    const stale = await rotateWebSecret(basedir);
    const old = new Date(now - 3600_000);
    await utimes(join(basedir, NODE_FILES.webSecret), old, old);
    expect(await control.secretMatches(stale)).toBe(false);
  });
});

describe("a required server that nothing announced", () => {
  it("disables uploads with placement's message, on the status and for an upload", async () => {
    const ghost = id();
    await writeFile(join(basedir, "servers-required"), `${ghost} ghost\n`);
    const serverList = fixedList([server("bob")]);
    const control = await createNodeWebControl({
      basedir,
      config: config(),
      serverList,
      logger: silentLogger,
    });
    const node = createWebNode({
      basedir,
      nickname: "n",
      nodeId: "v0-test",
      version: "lafs-ts/test",
      tempdir: join(basedir, "tmp"),
      leaseSecret: new Uint8Array(32),
      convergenceSecret: new Uint8Array(16),
      encoding: control.encodingSource,
      storageEnabled: false,
      serverList,
      introducers: [],
      clients: createGridClients({
        serverList,
        connectorFor: () => async () => {
          throw new Error("no network in this test");
        },
        logger: silentLogger,
      }),
      logger: silentLogger,
    });
    const body = (async function* () {
      yield new TextEncoder().encode("x".repeat(100));
    })();
    await expect(node.upload(body, { signal: new AbortController().signal })).rejects.toThrow(
      /uploads disabled: server 'ghost' .* required but not connected|uploads disabled: .*required but not connected/,
    );
    expect(node.status().uploads).toMatchObject({
      ready: false,
      reason: expect.stringContaining("required"),
    });
  });
});

describe("a running node's control panel", () => {
  it("serves the panel at the secret, applies saved encoding to status, and guards private uploads", async () => {
    await makeNodeDir(basedir, { noTub: true, storage: ["enabled = false"] });
    const cfg = await readFile(join(basedir, "tahoe.cfg"), "utf8");
    await writeFileAtomic(
      join(basedir, "tahoe.cfg"),
      cfg.replace(
        "web.port =",
        "web.port = tcp:0:interface=127.0.0.1\nweb.upload-authority = private\ntub.port = disabled\ntub.location = disabled",
      ),
    );
    await writePrivateFile(basedir, NODE_FILES.secret, `${base32Encode(randomBytes(32))}\n`);
    await writePrivateFile(basedir, NODE_FILES.convergence, `${base32Encode(randomBytes(16))}\n`);
    const node = createNode(basedir, { logger: silentLogger });
    await node.start();
    try {
      const url = node.status().nodeUrl!;
      const token = (await readFile(join(basedir, NODE_FILES.apiAuthToken), "utf8")).trim();
      expect((await stat(join(basedir, NODE_FILES.apiAuthToken))).mode & 0o777).toBe(0o600);
      expect((await fetch(`${url}control/anything/`)).status).toBe(404);
      const secret = await rotateWebSecret(basedir);
      const panel = await fetch(`${url}control/${secret}/`);
      expect(panel.status).toBe(200);
      expect(panel.headers.get("referrer-policy")).toBe("no-referrer");
      const saved = await fetch(`${url}control/${secret}/encoding`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "k=1&happy=1&n=2",
      });
      expect(saved.status).toBe(303);
      const status = (await (await fetch(`${url}?t=json`)).json()) as { encoding: unknown };
      expect(status.encoding).toEqual({ k: 1, happy: 1, n: 2 });
      const refused = await fetch(`${url}uri`, { method: "PUT", body: "hello" });
      expect(refused.status).toBe(403);
      // With the token the request passes the guard and reaches the uploader (no servers here).
      const allowed = await fetch(`${url}uri`, {
        method: "PUT",
        body: "hello",
        headers: { authorization: `tahoe-bearer ${token}` },
      });
      expect(allowed.status).not.toBe(403);
    } finally {
      await node.stop();
    }
  });
});
