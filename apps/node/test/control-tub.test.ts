import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:tls";
import { loadNodeConfig, NODE_FILES } from "@lafs/config";
import {
  createActivityTracker,
  createLogHub,
  type LogLine,
  openControlClient,
  readControlUrl,
} from "@lafs/control-tub";
import { parseTlsIdentityPem } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import { allocatePort } from "@lafs/transport";
import { afterEach, describe, expect, it } from "vitest";
import { createControlTubService } from "../src/control-tub-service.js";
import { createNode, runNode, type TahoeNode } from "../src/index.js";
import { makeNodeDir, tempDir } from "./helpers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function nodeDir(node: string[] = []): Promise<string> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  await makeNodeDir(dir.path, { node });
  return dir.path;
}

async function started(basedir: string): Promise<TahoeNode> {
  const node = createNode(basedir);
  await node.start();
  cleanups.push(() => node.stop());
  return node;
}

/** The address the server's socket has, as seen from a connection to it. */
function peerAddress(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      resolve(s.remoteAddress);
      s.destroy();
    });
    s.once("error", reject);
  });
}

describe("the node's control tub", () => {
  it("is allocated at first start of a directory without one, on 127.0.0.1, with its own key", async () => {
    const basedir = await nodeDir();
    await started(basedir);
    const url = await readControlUrl(basedir);
    expect(url).toBeDefined();
    expect(await peerAddress(url!.port)).toBe("127.0.0.1");
    const control = parseTlsIdentityPem(await readFile(join(basedir, NODE_FILES.controlPem), "utf8"));
    const nodeTls = parseTlsIdentityPem(await readFile(join(basedir, NODE_FILES.nodePem), "utf8"));
    expect(control.spkiHash).toBe(url!.spkiHash);
    expect(control.spkiHash).not.toBe(nodeTls.spkiHash);
    expect(control.keyPem).not.toBe(nodeTls.keyPem);
    // Never announced: the storage announcement does not mention it.
    const announcement = await readFile(join(basedir, "private/storage-announcement.yaml"), "utf8");
    expect(announcement).not.toContain(url!.spkiHash);
    expect(announcement).not.toContain(url!.swissnum);
  });

  it("listens on [node]control.port and keeps its key and swissnum across restarts", async () => {
    const port = await allocatePort({ host: "127.0.0.1" });
    const basedir = await nodeDir([`control.port = tcp:${port}:interface=127.0.0.1`]);
    const node = await started(basedir);
    const first = await readControlUrl(basedir);
    expect(first?.port).toBe(port);
    await node.stop();
    await node.start();
    expect(await readControlUrl(basedir)).toEqual(first);
  });

  it("refuses a control.port that is not loopback-only before starting anything", async () => {
    const basedir = await nodeDir(["control.port = tcp:0:interface=0.0.0.0"]);
    const node = createNode(basedir);
    await expect(node.start()).rejects.toMatchObject({
      code: "TAHOE_ERR_CONFIG_INVALID",
      message: expect.stringContaining(
        "listens on interface 0.0.0.0; the control tub listens on 127.0.0.1 only",
      ),
    });
  });

  it("reports version, node id, servers and uploads in progress", async () => {
    const basedir = await nodeDir();
    const node = await started(basedir);
    const upload = node.activity.track("upload", "photo.jpg", 1000);
    upload.progress(250);
    const status = await (await openControlClient(basedir)).status();
    expect(status).toMatchObject({
      nodeId: node.status().nodeId,
      version: expect.stringMatching(/^lafs-ts\//),
      servers: { known: expect.any(Number), connected: 0 },
      activity: [{ kind: "upload", name: "photo.jpg", doneBytes: 250, totalBytes: 1000, progress: 0.25 }],
    });
    upload.done();
    expect((await (await openControlClient(basedir)).status()).activity).toEqual([]);
  });

  it("serves the node's own log events, secrets redacted", async () => {
    const basedir = await nodeDir();
    await started(basedir);
    const lines: LogLine[] = [];
    await (await openControlClient(basedir)).logs({ level: "info", onLine: (l) => lines.push(l) });
    const messages = lines.map((l) => ("msg" in l ? l.msg : ""));
    expect(messages).toContain("control tub running");
    expect(messages).toContain("storage server running");
    const text = JSON.stringify(lines);
    const url = await readControlUrl(basedir);
    expect(text).not.toContain(url!.swissnum);
    const storageFurl = await readFile(join(basedir, NODE_FILES.storageFurl), "utf8");
    expect(text).not.toContain(storageFurl.trim().split("/").at(-1)!);
  });

  it("reloads servers-allowed / servers-required and reports line-numbered errors", async () => {
    const basedir = await nodeDir();
    await started(basedir);
    await writeFile(join(basedir, NODE_FILES.serversAllowed), "v0-not-a-valid-id\n");
    const answer = await (await openControlClient(basedir)).reload();
    expect(answer.allowed).toEqual([]);
    expect(answer.required).toEqual([]);
    expect(answer.errors).toEqual([expect.stringContaining("servers-allowed:1:")]);
  });

  it("stops a running node gracefully through runNode", async () => {
    const basedir = await nodeDir();
    let ready = () => {};
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const running = runNode(basedir, { stopSignals: [], onReady: () => ready() });
    await isReady;
    await (await openControlClient(basedir)).stop();
    const node = await running;
    expect(() => node.status()).toThrow(/not running/);
    await expect((await openControlClient(basedir)).status()).rejects.toMatchObject({
      code: "TAHOE_ERR_CONTROL_NOT_RUNNING",
    });
  });
});

describe("createControlTubService", () => {
  it("binds 127.0.0.1 only and refuses a non-loopback endpoint even when the rules were skipped", async () => {
    const basedir = await nodeDir();
    const loaded = await loadNodeConfig(basedir);
    const options = {
      basedir,
      logs: createLogHub(),
      activity: createActivityTracker(),
      logger: silentLogger,
      version: "test",
      nodeId: "v0-test",
      grid: () => undefined,
      requestStop: () => {},
    };
    const service = createControlTubService({ ...options, config: loaded.config! });
    await service.start();
    cleanups.push(() => service.stop());
    expect(service.address()?.host).toBe("127.0.0.1");
    const open = {
      ...loaded.config!,
      node: { ...loaded.config!.node, controlPort: { kind: "tcp" as const, port: 0 } },
    };
    await expect(createControlTubService({ ...options, config: open }).start()).rejects.toMatchObject({
      code: "TAHOE_ERR_CONTROL_NOT_LOOPBACK",
    });
  });
});
