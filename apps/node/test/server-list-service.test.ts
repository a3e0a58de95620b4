import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseServersYaml } from "@lafs/config";
import { generateNodeKey } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import type {
  GridSnapshot,
  IntroducerConnectionStatus,
  ServerInfo,
  ServerListEvent,
} from "@lafs/introducer-client";
import { tcpConnect } from "@lafs/storage-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  createServerListService,
  type GridChange,
  introducerStatusChange,
  SERVER_LIST_FILE,
  type ServerListServiceOptions,
  serverEventChange,
  type WrittenGrid,
} from "../src/server-list-service.js";
import { tempDir } from "./helpers.js";
import { useStorageNode } from "./storage-node-setup.js";

const cleanups: (() => unknown)[] = [];

async function readSnapshot(basedir: string): Promise<GridSnapshot | undefined> {
  try {
    return JSON.parse(await readFile(join(basedir, SERVER_LIST_FILE), "utf8")) as GridSnapshot;
  } catch {
    return undefined;
  }
}

/**
 * A server-list service in a temp dir whose one static server is the storage node at `nurl`,
 * probed every 20 ms; stopped (once) after the test, or by `stop`.
 */
async function startService(nurl: string, options: Partial<ServerListServiceOptions>) {
  const serverId = generateNodeKey().nodeId;
  const yaml = `storage:\n  ${serverId}:\n    ann:\n      nickname: one\n      anonymous-storage-NURLs:\n        - ${nurl}\n`;
  const { servers: staticServers } = parseServersYaml(yaml, "servers.yaml");
  const dir = tempDir("lafs-server-list-");
  cleanups.push(() => dir.cleanup());
  const service = createServerListService({
    basedir: dir.path,
    staticServers,
    introducers: [],
    connectorFor: () => tcpConnect,
    tcpHandlerFor: () => "tcp",
    logger: silentLogger,
    pollIntervalMs: 20,
    ...options,
  });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= service.stop());
  cleanups.push(stop);
  await service.start();
  return { service, serverId, basedir: dir.path, stop };
}

describe("server list service", () => {
  const storage = useStorageNode();
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("writes server-list.json at once for a connection change, and probe figures alone once per interval", async () => {
    const { nurl } = await storage.start();
    const { service, serverId, basedir, stop } = await startService(nurl, { figuresWriteIntervalMs: 400 });

    // Every distinct write, seen by polling the file (each probe refreshes lastReceivedAt).
    const writes: GridSnapshot[] = [];
    const watchUntil = Date.now() + 1500;
    while (Date.now() < watchUntil) {
      const snapshot = await readSnapshot(basedir);
      if (snapshot !== undefined && snapshot.writtenAt !== writes.at(-1)?.writtenAt) writes.push(snapshot);
      await new Promise((r) => setTimeout(r, 5));
    }
    const connectedAt = writes.findIndex((w) => w.servers[0]?.connection.state === "connected");
    expect(connectedAt).toBeGreaterThanOrEqual(0);
    const connected = writes[connectedAt]!;
    // About 70 probes answered; the file followed them at most once per 400 ms.
    const figures = writes.slice(connectedAt + 1);
    expect(figures.length).toBeGreaterThanOrEqual(1);
    expect(figures.length).toBeLessThanOrEqual(3);
    let previous = connected;
    for (const w of figures) {
      expect(w.writtenAt - previous.writtenAt).toBeGreaterThanOrEqual(390);
      expect(w.servers[0]!.lastReceivedAt).toBeGreaterThan(previous.servers[0]!.lastReceivedAt!);
      previous = w;
    }

    await stop();
    const last = await readSnapshot(basedir);
    expect(last!.servers[0]!.lastReceivedAt).toBe(service.list.server(serverId)!.lastReceivedAt);
    expect(last!.servers[0]!.lastReceivedAt).toBeGreaterThan(previous.servers[0]!.lastReceivedAt!);
  });

  it("writes a server going down at once, while probe figures and repeated errors wait", async () => {
    const { node, nurl } = await storage.start();
    const { service, serverId, basedir } = await startService(nurl, { probeTimeoutMs: 1000 });
    const fileWhere = async (check: (s: GridSnapshot) => boolean, what: string) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const snapshot = await readSnapshot(basedir);
        if (snapshot !== undefined && check(snapshot)) return snapshot;
        if (Date.now() > deadline) throw new Error(`server-list.json never showed ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const stateIs = (state: string) => (s: GridSnapshot) => s.servers[0]?.connection.state === state;

    const connected = await fileWhere(stateIs("connected"), "the server connected");
    const answeredAt = service.list.server(serverId)!.lastReceivedAt!;
    await new Promise((r) => setTimeout(r, 300));
    // Probes answered meanwhile; their figures alone wait for the 60 s interval.
    expect(service.list.server(serverId)!.lastReceivedAt).toBeGreaterThan(answeredAt);
    expect((await readSnapshot(basedir))!.writtenAt).toBe(connected.writtenAt);

    await node.stop();
    const down = await fileWhere(stateIs("disconnected"), "the server down");
    // The failed probes after it give the same errors new times: nothing to write at once.
    const failedAt = (service.list.server(serverId)!.connection as { errors: { at: number }[] }).errors[0]!
      .at;
    await new Promise((r) => setTimeout(r, 300));
    const errors = (service.list.server(serverId)!.connection as { errors: { at: number }[] }).errors;
    expect(errors[0]!.at).toBeGreaterThan(failedAt);
    expect((await readSnapshot(basedir))!.writtenAt).toBe(down.writtenAt);
  });
});

describe("what an event changed in server-list.json", () => {
  const server: ServerInfo = {
    serverId: "v0-one",
    nickname: "one",
    version: "tahoe-lafs/1.20.0",
    nurls: ["pb://a@tcp:127.0.0.1:1/s#v=1"],
    furl: "pb://b@tcp:127.0.0.1:2/t",
    announcement: { nickname: "one" },
    learnedFrom: [{ kind: "introducer", petname: "default" }],
    connection: { state: "connected", since: 1, hint: "tcp:127.0.0.1:1", handler: "tcp" },
    lastReceivedAt: 10,
    availableSpace: 1000,
    applicationVersion: "tahoe-lafs/1.20.0",
  };
  const { availableSpace: _never, ...unmeasured } = server;
  /** A second server, never reached: its probes failed with `message` at `at`. */
  const failing = (message: string, at: number): ServerInfo => ({
    ...unmeasured,
    serverId: "v0-two",
    connection: { state: "disconnected", since: 5, errors: [{ hint: "tcp:127.0.0.1:1", message, at }] },
  });
  const down = failing("refused", 5);
  const introducer: IntroducerConnectionStatus = {
    petname: "default",
    url: "pb://c@tcp:127.0.0.1:3/<redacted>",
    state: "connected",
    since: 1,
    synced: true,
    lastReceivedAt: 10,
  };
  const written: WrittenGrid = {
    servers: new Map([server, down].map((s) => [s.serverId, s])),
    introducers: new Map([[introducer.petname, introducer]]),
  };
  const updated = (s: ServerInfo): ServerListEvent => ({ type: "updated", server: s });

  it.each<[string, GridChange, ServerListEvent]>([
    ["the server as written", "none", updated(server)],
    ["an equal copy", "none", updated(structuredClone(down))],
    [
      "a NURL, fURL or announcement (not in the file)",
      "none",
      updated({ ...server, nurls: [], furl: "x", announcement: {} }),
    ],
    ["an answer time", "figures", updated({ ...server, lastReceivedAt: 11 })],
    ["the free space, first known", "figures", updated({ ...down, availableSpace: 5 })],
    ["the time of the same probe error", "figures", updated(failing("refused", 9))],
    [
      "a connection state",
      "essentials",
      { type: "connected", server: { ...down, connection: server.connection } },
    ],
    ["a probe error's words", "essentials", updated(failing("timed out", 5))],
    [
      "a nickname, with an answer time",
      "essentials",
      updated({ ...server, nickname: "uno", lastReceivedAt: 11 }),
    ],
    ["where the server was learned", "essentials", updated({ ...server, learnedFrom: [{ kind: "static" }] })],
    ["the server's version answer", "essentials", updated({ ...server, applicationVersion: "lafs-ts/2" })],
    ["a new server", "essentials", { type: "added", server: { ...server, serverId: "v0-three" } }],
    ["a server gone", "essentials", { type: "removed", serverId: server.serverId }],
    ["a server gone that was never written", "none", { type: "removed", serverId: "v0-three" }],
  ])("a server event with %s is %s", (_what, expected, event) => {
    expect(serverEventChange(written, event)).toBe(expected);
  });

  it.each<[string, GridChange, IntroducerConnectionStatus]>([
    ["the status as written", "none", introducer],
    ["an answer time", "figures", { ...introducer, lastReceivedAt: 11 }],
    ["a state", "essentials", { ...introducer, state: "disconnected" }],
    ["an error", "essentials", { ...introducer, lastError: { code: "E", message: "m", at: 3 } }],
    ["a new introducer", "essentials", { ...introducer, petname: "other" }],
  ])("an introducer status with %s is %s", (_what, expected, status) => {
    expect(introducerStatusChange(written, status)).toBe(expected);
  });
});
