import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigInvalidError, parseFurl, parseNurl, parseServersYaml } from "@lafs/config";
import { base32Encode, tubIdOfCertificate } from "@lafs/crypto";
import { createStorageClient } from "@lafs/storage-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createNode, NodeError, runNode, type TahoeNode } from "../src/index.js";
import { getStorageVersion, isListening, makeNodeDir, tempDir } from "./helpers.js";

let dir: ReturnType<typeof tempDir>;
let basedir: string;
const running: TahoeNode[] = [];

beforeEach(() => {
  dir = tempDir();
  basedir = join(dir.path, "node");
});
afterEach(async () => {
  for (const node of running.splice(0)) await node.stop();
  dir.cleanup();
});

async function started(path = basedir): Promise<TahoeNode> {
  const node = createNode(path, { applicationVersion: "lafs-ts/test" });
  await node.start();
  running.push(node);
  return node;
}

describe("createNode", () => {
  it("starts the storage server on tub.port, reachable through its NURL with the pin checked", async () => {
    const { port } = await makeNodeDir(basedir);
    const node = await started();
    const status = node.status();
    const storage = status.storage!;
    expect(storage.addresses).toEqual([{ host: "127.0.0.1", port }]);
    expect(storage.nurls).toHaveLength(1);
    const nurl = parseNurl(storage.nurls[0]!);
    const pem = readFileSync(join(basedir, "private/node.pem"), "utf8");
    expect(nurl.hints).toEqual([{ kind: "tcp", host: "127.0.0.1", port }]);
    const reply = await getStorageVersion(storage.nurls[0]!);
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/cbor/);
    expect(reply.body.includes(Buffer.from("http://allmydata.org/tahoe/protocols/storage/v1"))).toBe(true);
    expect(reply.body.includes(Buffer.from("lafs-ts/test"))).toBe(true);
    // A wrong swissnum is refused: the NURL's secret is what grants access.
    expect((await getStorageVersion(storage.nurls[0]!, "wrongwrongwrong")).status).toBe(401);
    // The fURL carries the tub id of node.pem, which the server uses as its write-enabler seed.
    expect(parseFurl(storage.furl).tubId).toBe(tubIdOfCertificate(pem).tubId);
    expect(status.tubId).toBe(tubIdOfCertificate(pem).tubId);
    expect(status.nodeUrl).toBeUndefined();
    expect(existsSync(join(basedir, "node.url"))).toBe(false);
  });

  it("writes a 0600 private/storage-announcement.yaml that parses as servers.yaml with the NURL and fURL", async () => {
    await makeNodeDir(basedir);
    const node = await started();
    const storage = node.status().storage!;
    const file = join(basedir, "private/storage-announcement.yaml");
    expect(storage.announcementFile).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const parsed = parseServersYaml(readFileSync(file, "utf8"), file);
    expect(parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.servers).toMatchObject([
      {
        serverId: node.status().nodeId,
        nickname: "test-node",
        storageFurl: storage.furl,
        storageNurls: storage.nurls,
        permutationSeedBase32: readFileSync(join(basedir, "permutation-seed"), "utf8").trim(),
        announcement: { "my-version": "lafs-ts/test" },
      },
    ]);
    expect((await getStorageVersion(parsed.servers[0]!.storageNurls[0]!)).status).toBe(200);
  });

  it("is reached by @lafs/storage-client through the NURL of the announcement file", async () => {
    await makeNodeDir(basedir);
    const node = await started();
    const file = node.status().storage!.announcementFile;
    const [server] = parseServersYaml(readFileSync(file, "utf8"), file).servers;
    const client = createStorageClient({ nurl: server!.storageNurls[0]!, timeoutMs: 5000 });
    try {
      const version = await client.version();
      expect(version.applicationVersion).toBe("lafs-ts/test");
      expect(version.maximumImmutableShareSize).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it("records the tub id of node.pem as the write-enabler node id of new mutable shares", async () => {
    await makeNodeDir(basedir);
    const node = await started();
    const client = createStorageClient({ nurl: node.status().storage!.nurls[0]!, timeoutMs: 5000 });
    const si = base32Encode(Buffer.alloc(16, 5));
    try {
      const result = await client.readTestWrite(
        si,
        {
          renewSecret: Buffer.alloc(32, 1),
          cancelSecret: Buffer.alloc(32, 2),
          writeEnabler: Buffer.alloc(32, 3),
        },
        { testWriteVectors: { 0: { write: [{ offset: 0, data: Buffer.from("mutable") }] } } },
      );
      expect(result.success).toBe(true);
    } finally {
      await client.close();
    }
    // Container header: 32-byte magic, then the 20-byte write-enabler node id (wire-formats §5).
    const share = readFileSync(join(basedir, "storage", "shares", si.slice(0, 2), si, "0"));
    const pem = readFileSync(join(basedir, "private/node.pem"), "utf8");
    expect(share.subarray(32, 52)).toEqual(tubIdOfCertificate(pem).bytes);
  });

  it("keeps its swissnum and NURL across restarts", async () => {
    await makeNodeDir(basedir);
    const first = await started();
    const before = first.status().storage!;
    await first.stop();
    const second = await started();
    expect(second.status().storage!.nurls).toEqual(before.nurls);
    expect(second.status().storage!.furl).toBe(before.furl);
  });

  it("refuses a second node on the same directory and leaves the first running", async () => {
    await makeNodeDir(basedir);
    const first = await started();
    const second = createNode(basedir);
    const error = await second.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeError);
    expect(error).toMatchObject({ code: "TAHOE_ERR_NODE_ALREADY_RUNNING" });
    expect((await getStorageVersion(first.status().storage!.nurls[0]!)).status).toBe(200);
    expect(existsSync(join(basedir, "running.process"))).toBe(true);
  });

  it("stops: closes the port and releases running.process", async () => {
    const { port } = await makeNodeDir(basedir);
    const node = await started();
    expect(await isListening(port)).toBe(true);
    await node.stop();
    expect(await isListening(port)).toBe(false);
    expect(existsSync(join(basedir, "running.process"))).toBe(false);
    expect(() => node.status()).toThrow(/not running/);
  });

  it("reports every configuration problem before taking the directory or opening a port", async () => {
    const { port } = await makeNodeDir(basedir);
    const cfg = join(basedir, "tahoe.cfg");
    writeFileSync(
      cfg,
      `${readFileSync(cfg, "utf8")}\n[storage]\nreserved_space = lots\n[client]\nshares.needed = zero\nbogus = 1\n`,
    );
    const node = createNode(basedir);
    const error = await node.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigInvalidError);
    const issues = (error as ConfigInvalidError).issues;
    expect(issues.length).toBeGreaterThanOrEqual(3);
    for (const issue of issues) expect(issue.line).toBeGreaterThan(0);
    expect((error as ConfigInvalidError).message).toContain(`${cfg}:`);
    expect(existsSync(join(basedir, "running.process"))).toBe(false);
    expect(existsSync(join(basedir, "private/storage-announcement.yaml"))).toBe(false);
    expect(await isListening(port)).toBe(false);
  });

  it("starts no storage server when [storage]enabled is false", async () => {
    const { port } = await makeNodeDir(basedir, { storage: ["enabled = false"] });
    const node = await started();
    expect(node.status().storage).toBeUndefined();
    expect(await isListening(port)).toBe(false);
    expect(existsSync(join(basedir, "running.process"))).toBe(true);
  });

  it("names the port when it is taken, and releases the directory", async () => {
    const { port } = await makeNodeDir(basedir);
    const other = join(dir.path, "other");
    await makeNodeDir(other);
    // The other node takes our port by listening on it under its own configuration.
    const otherCfg = join(other, "tahoe.cfg");
    writeFileSync(
      otherCfg,
      readFileSync(otherCfg, "utf8")
        .replace(/tcp:\d+:interface/, `tcp:${port}:interface`)
        .replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`),
    );
    await started(other);
    const error = await createNode(basedir)
      .start()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TAHOE_ERR_STORAGE_SERVER_LISTEN" });
    expect((error as Error).message).toContain(`tcp port ${port} on 127.0.0.1`);
    expect(existsSync(join(basedir, "running.process"))).toBe(false);
  });
});

describe("runNode", () => {
  it("runs until its signal is aborted, then stops", async () => {
    const { port } = await makeNodeDir(basedir);
    const controller = new AbortController();
    let readyNurl: string | undefined;
    const node = await runNode(basedir, {
      signal: controller.signal,
      stopSignals: [],
      onReady: async (n) => {
        readyNurl = n.status().storage!.nurls[0];
        expect((await getStorageVersion(readyNurl!)).status).toBe(200);
        controller.abort();
      },
    });
    expect(readyNurl).toBeDefined();
    expect(await isListening(port)).toBe(false);
    expect(existsSync(join(node.basedir, "running.process"))).toBe(false);
  });
});
