import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkstringReadVector,
  decodeMutableVersion,
  deriveMutableSecrets,
  encodeMutableVersion,
  generateMutableKeyPair,
  importMutablePrivateKey,
  MDMF_SHARE_DATA_OFFSET,
  MutableError,
  type MutableFormat,
  mdmfUpdateRange,
  mutableCapsOf,
  parseMutableHeader,
  publishTestVector,
  updateMdmfShares,
  verifyMutableShare,
} from "../src/index.js";
import { loadSskVectors } from "./vectors.js";

const keys = loadSskVectors()
  .slice(0, 6)
  .map((v) => importMutablePrivateKey(v.keyPem));
const SEG = 131072;

function capsOf(keyPair: (typeof keys)[number], format: MutableFormat) {
  const s = deriveMutableSecrets(keyPair);
  return mutableCapsOf(format, s.writekey, s.fingerprint);
}

function sharesMap(shares: readonly Uint8Array[]): Map<number, Uint8Array> {
  return new Map(shares.map((bytes, shnum) => [shnum, bytes]));
}

describe("encode -> decode round trips", () => {
  const sizes = [0, 1, 2, 55, 1000, SEG - 1, SEG, SEG + 1, 3 * SEG + 7];
  const params: [number, number][] = [
    [1, 1],
    [2, 3],
    [3, 10],
    [71, 255],
  ];
  for (const format of ["SDMF", "MDMF"] as const) {
    for (const [k, n] of params) {
      const tried = k === 71 ? [0, 1, 5000] : sizes;
      it(`${format} ${k}-of-${n}: sizes ${tried.join(", ")} read back from the last k shares`, () => {
        const keyPair = keys[k % keys.length]!;
        const caps = capsOf(keyPair, format);
        for (const size of tried) {
          const plaintext = randomBytes(size);
          const version = encodeMutableVersion({ format, keyPair, plaintext, seqnum: 1, k, n });
          expect(version.shares).toHaveLength(n);
          const lastK = new Map([...sharesMap(version.shares)].slice(n - k));
          const read = decodeMutableVersion(caps.read, lastK);
          expect(Buffer.from(read.plaintext).equals(plaintext), `${size} bytes`).toBe(true);
          expect(read.header.format).toBe(format);
        }
      });
    }
  }

  it("a freshly generated key works end to end, and a seqnum 2 overwrite wins over seqnum 1", () => {
    const keyPair = generateMutableKeyPair();
    const caps = capsOf(keyPair, "MDMF");
    const v1 = encodeMutableVersion({
      format: "MDMF",
      keyPair,
      plaintext: Buffer.from("one"),
      seqnum: 1,
      k: 2,
      n: 4,
    });
    const v2 = encodeMutableVersion({
      format: "MDMF",
      keyPair,
      plaintext: Buffer.from("two!"),
      seqnum: 2,
      k: 2,
      n: 4,
    });
    const mixed = new Map([
      [0, v1.shares[0]!],
      [1, v2.shares[1]!],
      [2, v1.shares[2]!],
      [3, v2.shares[3]!],
    ]);
    const read = decodeMutableVersion(caps.write, mixed);
    expect(Buffer.from(read.plaintext).toString()).toBe("two!");
    expect(read.header.seqnum).toBe(2);
  });

  it("refuses bad parameters with TAHOE_ERR_MUTABLE_PARAMS", () => {
    const keyPair = keys[0]!;
    const plaintext = Buffer.from("x");
    const bad: [Partial<{ k: number; n: number; seqnum: number; salts: Uint8Array[] }>, RegExp][] = [
      [{ k: 0 }, /k=0, N=10/],
      [{ k: 4, n: 3 }, /k=4, N=3/],
      [{ n: 256 }, /N=256/],
      [{ seqnum: 0 }, /sequence number 0/],
      [{ salts: [] }, /only 0 salts were given/],
      [{ salts: [new Uint8Array(15)] }, /salt 0 is 15 bytes/],
    ];
    for (const [change, why] of bad) {
      let caught: unknown;
      try {
        encodeMutableVersion({ format: "MDMF", keyPair, plaintext, seqnum: 1, k: 3, n: 10, ...change });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MutableError);
      expect((caught as MutableError).code).toBe("TAHOE_ERR_MUTABLE_PARAMS");
      expect((caught as MutableError).message).toMatch(why);
    }
  });
});

describe("MDMF in-place update", () => {
  const keyPair = keys[3]!;
  const caps = capsOf(keyPair, "MDMF");

  function setup(size: number, k = 2, n = 3) {
    const plaintext = randomBytes(size);
    const salts = Array.from({ length: Math.ceil(size / SEG) }, () => randomBytes(16));
    const version = encodeMutableVersion({ format: "MDMF", keyPair, plaintext, seqnum: 5, k, n, salts });
    return { plaintext, salts, version };
  }

  const updates: [string, number, number, number][] = [
    ["inside one segment", 3 * SEG + 100, 1000, 500],
    ["across a boundary", 3 * SEG + 100, SEG - 10, 20],
    ["covering a whole middle segment", 4 * SEG, SEG - 5, SEG + 10],
    ["appending at the end", 2 * SEG + 17, 2 * SEG + 17, 4000],
    ["appending at a segment boundary", 2 * SEG, 2 * SEG, 10],
    ["extending past the end", 2 * SEG + 17, 2 * SEG, SEG + 5],
    ["reaching exactly the end", 2 * SEG + 17, 2 * SEG + 7, 10],
    ["at offset 0 of an empty file", 0, 0, 300],
    ["of the first byte", 1000, 0, 1],
    ["growing the block hash tree past a power of two (4 -> 5 segments)", 4 * SEG, 4 * SEG - 3, 10],
  ];
  for (const [what, size, offset, length] of updates) {
    it(`${what} (size ${size}, offset ${offset}, ${length} bytes): same shares as a full encode, untouched blocks kept`, () => {
      const { plaintext, salts, version } = setup(size);
      const data = randomBytes(length);
      const expected = Buffer.alloc(Math.max(size, offset + length));
      plaintext.copy(expected);
      data.copy(expected, offset);
      const range = mdmfUpdateRange(version.header, offset, length);
      const newSalts = Array.from({ length: range.endSegment - range.startSegment + 1 }, () =>
        randomBytes(16),
      );
      const pssSalt = randomBytes(32);
      const result = updateMdmfShares({
        keyPair,
        cap: caps.write,
        shares: sharesMap(version.shares),
        offset,
        data,
        salts: newSalts,
        pssSalt,
      });
      expect(result.header.seqnum).toBe(6);
      const read = decodeMutableVersion(caps.read, sharesMap(result.shares));
      expect(Buffer.from(read.plaintext).equals(expected)).toBe(true);
      // Tahoe's update equals publishing the new contents with the old salts where untouched.
      const merged = Array.from({ length: Math.ceil(expected.length / SEG) }, (_, s) =>
        s >= range.startSegment && s <= range.endSegment ? newSalts[s - range.startSegment]! : salts[s]!,
      );
      const full = encodeMutableVersion({
        format: "MDMF",
        keyPair,
        plaintext: expected,
        seqnum: 6,
        k: 2,
        n: 3,
        salts: merged,
        pssSalt,
      });
      for (let shnum = 0; shnum < 3; shnum++) {
        expect(
          Buffer.from(result.shares[shnum]!).equals(Buffer.from(full.shares[shnum]!)),
          `share ${shnum}`,
        ).toBe(true);
        const blockWrites = result.writes[shnum]!.filter(
          (w) => w.offset >= MDMF_SHARE_DATA_OFFSET && w.offset < result.header.offsets.blockHashTree,
        );
        expect(blockWrites).toHaveLength(range.endSegment - range.startSegment + 1);
      }
    });
  }

  it("reads only the boundary segments it keeps in part", () => {
    const { version } = setup(5 * SEG);
    expect(mdmfUpdateRange(version.header, SEG + 5, 3 * SEG).segmentsToRead).toEqual([1, 4]);
    expect(mdmfUpdateRange(version.header, SEG, 3 * SEG).segmentsToRead).toEqual([]);
    expect(mdmfUpdateRange(version.header, 5 * SEG, 9).segmentsToRead).toEqual([]);
    expect(mdmfUpdateRange(version.header, 5 * SEG - 1, 9).segmentsToRead).toEqual([4]);
  });

  it("a 1 MiB file's one-segment update writes about one segment per share, not the file", () => {
    const { version } = setup(1 << 20);
    const result = updateMdmfShares({
      keyPair,
      cap: caps.write,
      shares: sharesMap(version.shares),
      offset: 300_000,
      data: randomBytes(1000),
    });
    const written = result.writes[0]!.reduce((sum, w) => sum + w.data.length, 0);
    const blockSize = SEG / 2;
    expect(written).toBeLessThan(blockSize + 4096);
    expect(verifyMutableShare(result.shares[0]!, 0, caps.write.fingerprint).header.seqnum).toBe(6);
  });

  it("refuses an offset past the end, an SDMF file, and a missing share", () => {
    const { version } = setup(1000);
    const shares = sharesMap(version.shares);
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error as MutableError;
      }
      throw new Error("accepted");
    };
    const past = attempt(() =>
      updateMdmfShares({ keyPair, cap: caps.write, shares, offset: 1001, data: Buffer.from("x") }),
    );
    expect(past.code).toBe("TAHOE_ERR_MUTABLE_UPDATE");
    expect(past.message).toContain("offset 1001 is outside the file (0..1000)");
    const sdmf = encodeMutableVersion({
      format: "SDMF",
      keyPair,
      plaintext: Buffer.from("abc"),
      seqnum: 1,
      k: 1,
      n: 1,
    });
    const sdmfCaps = capsOf(keyPair, "SDMF");
    const refused = attempt(() =>
      updateMdmfShares({
        keyPair,
        cap: sdmfCaps.write,
        shares: sharesMap(sdmf.shares),
        offset: 0,
        data: Buffer.from("x"),
      }),
    );
    expect(refused.message).toContain("needs an MDMF file");
    const partial = new Map([...shares].slice(0, 2));
    const missing = attempt(() =>
      updateMdmfShares({ keyPair, cap: caps.write, shares: partial, offset: 0, data: Buffer.from("x") }),
    );
    expect(missing.message).toContain("block hash tree of share 2 is missing");
  });

  it("the header a servermap parses from an updated share matches the plan", () => {
    const { version } = setup(SEG + 3);
    const result = updateMdmfShares({
      keyPair,
      cap: caps.write,
      shares: sharesMap(version.shares),
      offset: 2,
      data: Buffer.from("zz"),
    });
    const parsed = parseMutableHeader(result.shares[1]!, 1);
    expect(parsed.offsets).toEqual(result.header.offsets);
    expect(Buffer.from(parsed.signedPrefix).equals(Buffer.from(result.header.signedPrefix))).toBe(true);
  });
});

describe("publish helpers", () => {
  it("give Tahoe's test and read vectors, and MDMF writes in Tahoe's order ending with the checkstring", () => {
    expect(publishTestVector()).toEqual({ offset: 0, size: 1, specimen: new Uint8Array(0) });
    const old = new Uint8Array(41).fill(7);
    expect(publishTestVector(old)).toEqual({ offset: 0, size: 41, specimen: old });
    expect(checkstringReadVector("SDMF")).toEqual({ offset: 0, size: 57 });
    expect(checkstringReadVector("MDMF")).toEqual({ offset: 0, size: 41 });
    const v = encodeMutableVersion({
      format: "MDMF",
      keyPair: keys[0]!,
      plaintext: randomBytes(SEG + 1),
      seqnum: 1,
      k: 1,
      n: 2,
    });
    const o = v.header.offsets;
    expect(v.writes[1]!.map((w) => w.offset)).toEqual([
      MDMF_SHARE_DATA_OFFSET,
      MDMF_SHARE_DATA_OFFSET + SEG + 16,
      o.encPrivkey,
      o.blockHashTree,
      o.shareHashChain,
      0,
      o.signature,
      o.verificationKey,
      59,
      41,
      0,
    ]);
    expect(Buffer.from(v.writes[1]!.at(-1)!.data).equals(Buffer.from(v.header.checkstring))).toBe(true);
    const sdmf = encodeMutableVersion({
      format: "SDMF",
      keyPair: keys[0]!,
      plaintext: randomBytes(10),
      seqnum: 1,
      k: 1,
      n: 2,
    });
    expect(sdmf.writes[0]).toHaveLength(1);
    expect(sdmf.writes[0]![0]!.data).toBe(sdmf.shares[0]);
  });
});
