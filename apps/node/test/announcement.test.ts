import { createHash } from "node:crypto";
import { parseFurl, parseNurl, parseServersYaml } from "@lafs/config";
import {
  base32Decode,
  base32Encode,
  createTlsIdentity,
  generateNodeKey,
  tubIdOfCertificate,
} from "@lafs/crypto";
import { describe, expect, it } from "vitest";
import { formatAnnouncementYaml, OLDEST_SUPPORTED, storageFurl, storageNurls } from "../src/index.js";

const tls = createTlsIdentity();
const swissnum = base32Encode(Buffer.alloc(20, 7));
/** A well-formed v3 onion address: base32(pubkey || checksum || version 3). */
function onionAddress(): string {
  const key = Buffer.alloc(32, 9);
  const version = Buffer.from([3]);
  const checksum = createHash("sha3-256")
    .update(Buffer.concat([Buffer.from(".onion checksum"), key, version]))
    .digest()
    .subarray(0, 2);
  return `${base32Encode(Buffer.concat([key, checksum, version]))}.onion`;
}
const onion = onionAddress();

describe("storage NURLs", () => {
  it("gives one NURL per hint: pb+tor for tor, pb+i2p for i2p with a port, none for i2p without", () => {
    const nurls = storageNurls(tls.spkiHash, swissnum, [
      { kind: "tcp", host: "127.0.0.1", port: 3457 },
      { kind: "tcp", host: "::1", port: 3457 },
      { kind: "tor", host: onion, port: 80 },
      { kind: "i2p", host: `${"b".repeat(52)}.b32.i2p` },
      { kind: "i2p", host: `${"c".repeat(52)}.b32.i2p`, port: 3457 },
    ]);
    expect(nurls).toEqual([
      `pb://${tls.spkiHash}@127.0.0.1:3457/${swissnum}#v=1`,
      `pb://${tls.spkiHash}@[::1]:3457/${swissnum}#v=1`,
      `pb+tor://${tls.spkiHash}@${onion}:80/${swissnum}#v=1`,
      `pb+i2p://${tls.spkiHash}@${"c".repeat(52)}.b32.i2p:3457/${swissnum}#v=1`,
    ]);
    expect(parseNurl(nurls[2]!).hints).toEqual([{ kind: "tor", host: onion, port: 80 }]);
    expect(parseNurl(nurls[3]!).hints).toEqual([
      { kind: "i2p", host: `${"c".repeat(52)}.b32.i2p`, port: 3457 },
    ]);
  });

  it("builds the fURL Tahoe-LAFS clients take the tub id from, with every hint", () => {
    const { tubId, bytes } = tubIdOfCertificate(tls.certPem);
    const furl = storageFurl(tubId, swissnum, [
      { kind: "tcp", host: "example.net", port: 1 },
      { kind: "tor", host: onion, port: 80 },
    ]);
    expect(furl).toBe(`pb://${tubId}@tcp:example.net:1,tor:${onion}:80/${swissnum}`);
    const parsed = parseFurl(furl);
    expect(Buffer.from(parsed.tubIdBytes)).toEqual(bytes);
    expect(parsed.swissnum).toBe(swissnum);
  });
});

describe("private/storage-announcement.yaml", () => {
  it("is a servers.yaml that parses back to this server's announcement, without warnings", () => {
    const key = generateNodeKey();
    const { tubId } = tubIdOfCertificate(tls.certPem);
    const hints = [{ kind: "tcp" as const, host: "127.0.0.1", port: 3457 }];
    const seed = base32Encode(Buffer.from(key.publicKey.slice(7), "ascii"));
    const text = formatAnnouncementYaml({
      serverId: key.nodeId,
      nickname: "yes",
      furl: storageFurl(tubId, swissnum, hints),
      nurls: storageNurls(tls.spkiHash, swissnum, hints),
      permutationSeedBase32: seed,
      myVersion: "lafs-ts/9.9.9",
    });
    const parsed = parseServersYaml(text, "storage-announcement.yaml");
    expect(parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.servers).toHaveLength(1);
    const server = parsed.servers[0]!;
    expect(server).toMatchObject({
      serverId: key.nodeId,
      nickname: "yes",
      storageFurl: `pb://${tubId}@tcp:127.0.0.1:3457/${swissnum}`,
      storageNurls: [`pb://${tls.spkiHash}@127.0.0.1:3457/${swissnum}#v=1`],
      permutationSeedBase32: seed,
    });
    expect(server.announcement).toMatchObject({
      "my-version": "lafs-ts/9.9.9",
      "oldest-supported": OLDEST_SUPPORTED,
    });
    // The seed is the base32 of the key's base32 text (wire-formats §5.8a), 84 characters long.
    expect(Buffer.from(base32Decode(seed)).toString("ascii")).toBe(key.publicKey.slice("pub-v0-".length));
    expect(seed).toHaveLength(84);
  });
});
