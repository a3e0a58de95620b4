import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseServersYaml } from "@lafs/config";
import { generateNodeKey } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import type { GridSnapshot, IntroducerConnectionStatus, ServerInfo } from "@lafs/introducer-client";
import { tcpConnect } from "@lafs/storage-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  createServerListService,
  type GridState,
  gridChange,
  SERVER_LIST_FILE,
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

describe("server list service", () => {
  const storage = useStorageNode();
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("writes server-list.json at once for a connection change, and probe figures alone once per interval", async () => {
    const { nurl } = await storage.start();
    const key = generateNodeKey();
    const yaml = `storage:\n  ${key.nodeId}:\n    ann:\n      nickname: one\n      anonymous-storage-NURLs:\n        - ${nurl}\n`;
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
      figuresWriteIntervalMs: 400,
    });
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await service.stop();
    });
    await service.start();

    // Every distinct write, seen by polling the file (each probe refreshes lastReceivedAt).
    const writes: GridSnapshot[] = [];
    const watchUntil = Date.now() + 1500;
    while (Date.now() < watchUntil) {
      const snapshot = await readSnapshot(dir.path);
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

    stopped = true;
    await service.stop();
    const last = await readSnapshot(dir.path);
    expect(last!.servers[0]!.lastReceivedAt).toBe(service.list.server(key.nodeId)!.lastReceivedAt);
    expect(last!.servers[0]!.lastReceivedAt).toBeGreaterThan(previous.servers[0]!.lastReceivedAt!);
  });

  it("writes a server going down at once, while probe figures and repeated errors wait", async () => {
    const { node, nurl } = await storage.start();
    const key = generateNodeKey();
    const yaml = `storage:\n  ${key.nodeId}:\n    ann:\n      nickname: one\n      anonymous-storage-NURLs:\n        - ${nurl}\n`;
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
      probeTimeoutMs: 1000,
    });
    cleanups.push(() => service.stop());
    await service.start();
    const fileWhere = async (check: (s: GridSnapshot) => boolean, what: string) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const snapshot = await readSnapshot(dir.path);
        if (snapshot !== undefined && check(snapshot)) return snapshot;
        if (Date.now() > deadline) throw new Error(`server-list.json never showed ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const stateIs = (state: string) => (s: GridSnapshot) => s.servers[0]?.connection.state === state;

    const connected = await fileWhere(stateIs("connected"), "the server connected");
    const answeredAt = service.list.server(key.nodeId)!.lastReceivedAt!;
    await new Promise((r) => setTimeout(r, 300));
    // Probes answered meanwhile; their figures alone wait for the 60 s interval.
    expect(service.list.server(key.nodeId)!.lastReceivedAt).toBeGreaterThan(answeredAt);
    expect((await readSnapshot(dir.path))!.writtenAt).toBe(connected.writtenAt);

    await node.stop();
    const down = await fileWhere(stateIs("disconnected"), "the server down");
    // The failed probes after it give the same errors new times: nothing to write at once.
    const failedAt = (service.list.server(key.nodeId)!.connection as { errors: { at: number }[] }).errors[0]!
      .at;
    await new Promise((r) => setTimeout(r, 300));
    const errors = (service.list.server(key.nodeId)!.connection as { errors: { at: number }[] }).errors;
    expect(errors[0]!.at).toBeGreaterThan(failedAt);
    expect((await readSnapshot(dir.path))!.writtenAt).toBe(down.writtenAt);
  });
});

describe("gridChange", () => {
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
  /** The server after probes failed with `message` at `at`. */
  const failing = (message: string, at: number): ServerInfo => ({
    ...server,
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
  const state = (servers: ServerInfo[], introducers = [introducer]): GridState => ({ servers, introducers });
  const written = state([server, down]);

  it.each<[string, string, GridState]>([
    ["the same objects", "none", state([server, down])],
    ["equal copies", "none", structuredClone(written)],
    [
      "a NURL, fURL or announcement (not in the file)",
      "none",
      state([{ ...server, nurls: [], furl: "x", announcement: {} }, down]),
    ],
    ["an answer time", "figures", state([{ ...server, lastReceivedAt: 11 }, down])],
    ["the free space, first known", "figures", state([server, { ...down, availableSpace: 5 }])],
    ["the time of the same probe error", "figures", state([server, failing("refused", 9)])],
    [
      "an introducer's answer time",
      "figures",
      state([server, down], [{ ...introducer, lastReceivedAt: 11 }]),
    ],
    ["a connection state", "essentials", state([server, { ...down, connection: server.connection }])],
    ["a probe error's words", "essentials", state([server, failing("timed out", 5)])],
    [
      "a nickname, with an answer time",
      "essentials",
      state([{ ...server, nickname: "uno", lastReceivedAt: 11 }, down]),
    ],
    [
      "where a server was learned",
      "essentials",
      state([{ ...server, learnedFrom: [{ kind: "static" }] }, down]),
    ],
    [
      "a server's version answer",
      "essentials",
      state([{ ...server, applicationVersion: "lafs-ts/2" }, down]),
    ],
    ["a server gone", "essentials", state([server])],
    ["a server added", "essentials", state([server, down, { ...server, serverId: "v0-two" }])],
    [
      "an introducer's state",
      "essentials",
      state([server, down], [{ ...introducer, state: "disconnected" }]),
    ],
    [
      "an introducer's error",
      "essentials",
      state([server, down], [{ ...introducer, lastError: { code: "E", message: "m", at: 3 } }]),
    ],
  ])("counts %s as %s", (_what, expected, after) => {
    expect(gridChange(written, after)).toBe(expected);
  });
});
