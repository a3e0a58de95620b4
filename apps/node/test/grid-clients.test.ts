import { parseServersYaml } from "@lafs/config";
import { generateNodeKey } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import { createServerList, type ProbeFunction, ServerUnreachableError } from "@lafs/introducer-client";
import { tcpConnect } from "@lafs/storage-client";
import { afterEach, describe, expect, it } from "vitest";
import { createGridClients } from "../src/grid-clients.js";

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
