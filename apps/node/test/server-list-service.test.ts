import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseServersYaml } from "@lafs/config";
import { generateNodeKey } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import type { GridSnapshot } from "@lafs/introducer-client";
import { tcpConnect } from "@lafs/storage-client";
import { afterEach, describe, expect, it } from "vitest";
import { createServerListService, SERVER_LIST_FILE } from "../src/server-list-service.js";
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
});
