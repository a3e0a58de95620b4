import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseFurl } from "@lafs/config";
import {
  base32Decode,
  isBase32,
  parseNodePublicKey,
  parseTlsIdentityPem,
  tubIdOfCertificate,
} from "@lafs/crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  loadNodeIdentity,
  loadOrCreatePermutationSeed,
  loadOrCreateStorageSwissnum,
  writeStorageFurl,
} from "../src/node-identity.js";
import { makeNodeDir, tempDir } from "./helpers.js";

let dir: ReturnType<typeof tempDir>;
let basedir: string;
beforeEach(() => {
  dir = tempDir();
  basedir = join(dir.path, "node");
});
afterEach(() => dir.cleanup());

describe("node identity", () => {
  it("reads the key and certificate create-node wrote and derives the tub id from node.pem", async () => {
    await makeNodeDir(basedir);
    const pem = readFileSync(join(basedir, "private/node.pem"), "utf8");
    const identity = await loadNodeIdentity(basedir);
    expect(identity.tls.spkiHash).toBe(parseTlsIdentityPem(pem).spkiHash);
    expect(identity.tubId).toBe(tubIdOfCertificate(pem).tubId);
    expect(identity.tubIdBytes).toHaveLength(20);
    const pub = parseNodePublicKey(readFileSync(join(basedir, "node.pubkey"), "utf8"));
    expect(identity.nodeKey.nodeId).toBe(pub.nodeId);
  });

  it("refuses an empty key file instead of replacing it", async () => {
    await makeNodeDir(basedir);
    writeFileSync(join(basedir, "private/node.privkey"), "");
    await expect(loadNodeIdentity(basedir)).rejects.toMatchObject({ code: "TAHOE_ERR_CRYPTO_NODE_KEY" });
  });

  it("makes a missing key and certificate (an older directory), private and 0600, and keeps them", async () => {
    await makeNodeDir(basedir);
    for (const f of ["private/node.pem", "private/node.privkey", "node.pubkey"]) rmSync(join(basedir, f));
    const made = await loadNodeIdentity(basedir);
    for (const f of ["private/node.pem", "private/node.privkey"]) {
      expect(statSync(join(basedir, f)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(basedir, "node.pubkey"), "utf8")).toBe(`${made.nodeKey.publicKey}\n`);
    const again = await loadNodeIdentity(basedir);
    expect(again.tubId).toBe(made.tubId);
    expect(again.nodeKey.nodeId).toBe(made.nodeKey.nodeId);
  });

  it("refuses a node.pem that does not parse, naming it", async () => {
    await makeNodeDir(basedir);
    writeFileSync(join(basedir, "private/node.pem"), "garbage\n");
    const error = await loadNodeIdentity(basedir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TAHOE_ERR_CRYPTO_TLS_PEM" });
    expect((error as Error).message).toContain(join(basedir, "private/node.pem"));
  });
});

describe("storage swissnum", () => {
  it("is 32 base32 characters, made once and then read back from private/storage.furl", async () => {
    await makeNodeDir(basedir);
    const swissnum = await loadOrCreateStorageSwissnum(basedir);
    expect(isBase32(swissnum, 20)).toBe(true);
    const furl = `pb://${"a".repeat(32)}@tcp:127.0.0.1:1/${swissnum}`;
    await writeStorageFurl(basedir, furl);
    expect(statSync(join(basedir, "private/storage.furl")).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateStorageSwissnum(basedir)).toBe(swissnum);
    expect(parseFurl(readFileSync(join(basedir, "private/storage.furl"), "utf8")).swissnum).toBe(swissnum);
  });

  it("keeps the swissnum of a storage.furl Tahoe-LAFS wrote", async () => {
    await makeNodeDir(basedir);
    const tahoe =
      "pb://v67jiisoty6ooyxlql5fuucitqiok2ic@tcp:192.0.2.1:3457/abcdefghijklmnopqrstuvwxyz234567\n";
    writeFileSync(join(basedir, "private/storage.furl"), tahoe);
    expect(await loadOrCreateStorageSwissnum(basedir)).toBe("abcdefghijklmnopqrstuvwxyz234567");
  });

  it("refuses a storage.furl that is not a fURL", async () => {
    await makeNodeDir(basedir);
    writeFileSync(join(basedir, "private/storage.furl"), "hello\n");
    const error = await loadOrCreateStorageSwissnum(basedir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TAHOE_ERR_NODE_STORAGE_FURL" });
    expect((error as Error).message).toContain(join(basedir, "private/storage.furl"));
  });
});

describe("permutation seed", () => {
  it("is base32 of the node key's base32 text, saved in BASEDIR/permutation-seed", async () => {
    await makeNodeDir(basedir);
    const { nodeKey } = await loadNodeIdentity(basedir);
    const seed = await loadOrCreatePermutationSeed(basedir, nodeKey);
    expect(Buffer.from(base32Decode(seed)).toString("ascii")).toBe(nodeKey.publicKey.slice("pub-v0-".length));
    expect(readFileSync(join(basedir, "permutation-seed"), "utf8")).toBe(`${seed}\n`);
  });

  it("keeps a seed already saved (Tahoe-LAFS's tub-id seed of an old server) and refuses a broken one", async () => {
    await makeNodeDir(basedir);
    const { nodeKey } = await loadNodeIdentity(basedir);
    writeFileSync(join(basedir, "permutation-seed"), "v67jiisoty6ooyxlql5fuucitqiok2ic\n");
    expect(await loadOrCreatePermutationSeed(basedir, nodeKey)).toBe("v67jiisoty6ooyxlql5fuucitqiok2ic");
    writeFileSync(join(basedir, "permutation-seed"), "NOT BASE32\n");
    await expect(loadOrCreatePermutationSeed(basedir, nodeKey)).rejects.toMatchObject({
      code: "TAHOE_ERR_NODE_FILE",
    });
  });
});
