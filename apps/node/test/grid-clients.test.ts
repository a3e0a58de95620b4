import { connect, createServer, type Server, type Socket } from "node:net";
import { parseServersYaml } from "@lafs/config";
import { generateNodeKey } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import { createServerList, type ProbeFunction, ServerUnreachableError } from "@lafs/introducer-client";
import { createStorageClient, type StorageClient, tcpConnect } from "@lafs/storage-client";
import { afterEach, describe, expect, it } from "vitest";
import { createGridClients } from "../src/grid-clients.js";
import { useStorageNode } from "./storage-node-setup.js";

/**
 * The servers the uploader and downloader get carry a `lost` signal that the server list's
 * liveness verdict aborts, one per connected spell. The probe is the server list's interface,
 * given here as a function whose answer the test sets.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("grid clients", () => {
  it("abort a server's lost signal when the probe finds it gone, and give a fresh one when it is back", async () => {
    const key = generateNodeKey();
    const nurl = `pb://${"B".repeat(42)}A@127.0.0.1:9/${"t".repeat(32)}#v=1`;
    const yaml = `storage:\n  ${key.nodeId}:\n    ann:\n      nickname: one\n      anonymous-storage-NURLs:\n        - ${nurl}\n`;
    const { servers: staticServers } = parseServersYaml(yaml, "servers.yaml");
    let up = true;
    const probe: ProbeFunction = async (server) => {
      if (up) return { availableSpace: 1, applicationVersion: "t", hint: "tcp:127.0.0.1:9", handler: "tcp" };
      throw new ServerUnreachableError(server.serverId, [{ hint: "tcp:127.0.0.1:9", message: "timed out" }]);
    };
    const serverList = createServerList({ staticServers, probe, pollIntervalMs: 10 });
    const clients = createGridClients({ serverList, connectorFor: () => tcpConnect, logger: silentLogger });
    cleanups.push(
      () => serverList.stop(),
      () => clients.close(),
    );
    await serverList.start();
    await until(() => clients.downloadServers()[0]?.connected === true, "connected");
    const first = clients.downloadServers()[0]!;
    expect(first.lost?.aborted).toBe(false);
    // Every snapshot of one connected spell shares the signal: an upload's servers see it too.
    expect(clients.downloadServers()[0]!.lost).toBe(first.lost);
    expect(first.client.server).toContain("127.0.0.1:9");

    up = false;
    await until(() => first.lost?.aborted === true, "the lost signal");
    expect(clients.downloadServers()[0]!.connected).toBe(false);
    expect(clients.downloadServers()[0]!.lost).toBeUndefined();

    up = true;
    await until(() => clients.downloadServers()[0]?.connected === true, "reconnected");
    const again = clients.downloadServers()[0]!;
    expect(again.lost).not.toBe(first.lost);
    expect(again.lost?.aborted).toBe(false);
  });
});

/**
 * A TCP relay to a real storage node that can stop relaying while keeping every connection
 * open: a hung server as its clients see it.
 */
async function freezableRelay(
  port: number,
): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => sockets.delete(s));
    }
    inbound.on("data", (chunk) => frozen || outbound.write(chunk));
    outbound.on("data", (chunk) => frozen || inbound.write(chunk));
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("grid clients report answers to the server list", () => {
  const storage = useStorageNode();
  // Runs before the node stops (hooks run last-registered first): the frozen relay's
  // connections would hold the node's stop.
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("count a refused call as an answer, and a call that reached no server as none", async () => {
    const { nurl } = await storage.start();
    const port = Number(/@127\.0\.0\.1:(\d+)\//.exec(nurl)![1]);
    // A second server whose NURL names a port nothing listens on (a closed one).
    const closed = await freezableRelay(port);
    await closed.close();
    const up = generateNodeKey();
    const down = generateNodeKey();
    const entry = (id: string, url: string) =>
      `  ${id}:\n    ann:\n      nickname: n\n      anonymous-storage-NURLs:\n        - ${url}\n`;
    const yaml = `storage:\n${entry(up.nodeId, nurl)}${entry(down.nodeId, nurl.replace(`:${port}/`, `:${closed.port}/`))}`;
    const { servers: staticServers } = parseServersYaml(yaml, "servers.yaml");
    // No probe: only the calls below can give a server an answer time.
    const serverList = createServerList({ staticServers });
    const clients = createGridClients({ serverList, connectorFor: () => tcpConnect, logger: silentLogger });
    cleanups.push(() => clients.close());
    const byId = new Map(clients.downloadServers().map((s) => [s.id, s.client]));

    const refused = await byId
      .get(up.nodeId)!
      .read(new Uint8Array(16).fill(7), 0, 0, 10)
      .catch((error: { status?: number }) => error.status);
    expect(refused).toBe(404);
    expect(serverList.server(up.nodeId)!.lastReceivedAt).toBeTypeOf("number");

    const unreachable = await byId
      .get(down.nodeId)!
      .version({ timeoutMs: 2000 })
      .catch((error: { code?: string }) => error.code);
    expect(unreachable).toBe("TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE");
    expect(serverList.server(down.nodeId)!.lastReceivedAt).toBeUndefined();
  });

  it("skip the probe while calls answer, probe again once they stop, and abort on a hung server", async () => {
    const { nurl } = await storage.start();
    const upstreamPort = Number(/@127\.0\.0\.1:(\d+)\//.exec(nurl)![1]);
    const relay = await freezableRelay(upstreamPort);
    const relayed = nurl.replace(`127.0.0.1:${upstreamPort}`, `127.0.0.1:${relay.port}`);
    const key = generateNodeKey();
    const yaml = `storage:\n  ${key.nodeId}:\n    ann:\n      nickname: one\n      anonymous-storage-NURLs:\n        - ${relayed}\n`;
    const { servers: staticServers } = parseServersYaml(yaml, "servers.yaml");
    // The probe is the node's: GBS version through its own client, through the relay.
    let prober: StorageClient | undefined;
    let probes = 0;
    const probe: ProbeFunction = async (_server, signal) => {
      probes++;
      prober ??= createStorageClient({ nurl: relayed, connect: tcpConnect });
      const v = await prober.version({ signal });
      return {
        availableSpace: v.availableSpace,
        applicationVersion: v.applicationVersion,
        hint: "tcp",
        handler: "tcp",
      };
    };
    const serverList = createServerList({ staticServers, probe, pollIntervalMs: 50, probeTimeoutMs: 400 });
    const clients = createGridClients({ serverList, connectorFor: () => tcpConnect, logger: silentLogger });
    cleanups.push(
      () => serverList.stop(),
      () => clients.close(),
      async () => prober?.close(),
      // First: its frozen connections would hold the clients' close.
      () => relay.close(),
    );
    await serverList.start();
    await until(() => clients.downloadServers()[0]?.connected === true, "connected");
    const server = clients.downloadServers()[0]!;

    // Calls answering back to back: no probe goes out (one may already be in flight).
    await server.client.version(); // the client's first connection (TLS set-up) is not timed
    const before = probes;
    const busyUntil = Date.now() + 400;
    while (Date.now() < busyUntil) await server.client.version({ serverLost: server.lost! });
    expect(probes - before).toBeLessThanOrEqual(1);
    expect(serverList.server(key.nodeId)!.lastReceivedAt).toBeGreaterThan(busyUntil - 100);

    // Quiet: the probe runs again within a poll interval or so.
    const quiet = probes;
    await until(() => probes >= quiet + 2, "probes again once the calls stop", 2000);

    // Hung while a call is in flight: the probe times out, the call is aborted by "disconnected".
    relay.freeze();
    const started = Date.now();
    const hung = server.client.version({ serverLost: server.lost! }).then(
      () => "answered",
      (error: { code?: string }) => error.code,
    );
    expect(await hung).toBe("TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.lost!.aborted).toBe(true);
    expect(serverList.server(key.nodeId)!.connection.state).toBe("disconnected");
  });
});
