import { describe, expect, it } from "vitest";
import {
  type CorruptMutableShareError,
  compareVersions,
  decodeSegmentBlocks,
  type MutableHeader,
  parseMutableCap,
  readCapOf,
  SALT_LENGTH,
  SERVERMAP_READ_SIZE,
  type SegmentBlock,
  type ShareRange,
  shareRanges,
  verifyBlock,
  verifyShareHashes,
  verifyShareSignature,
  versionKey,
} from "../src/index.js";
import { b64, loadMutableCases, recipeContent } from "./vectors.js";

const cases = loadMutableCases();

/** What a retriever does with ranged reads: never the whole share at once. */
function readPieces(c: (typeof cases)[number], step: number, damage?: { shnum: number; at: number }) {
  const cap = parseMutableCap(c.caps.read);
  if (cap.kind !== "read") throw new Error("not a read cap");
  const stored = new Map(
    Object.entries(c.steps[step]!.shares_b64).map(([sn, data]) => {
      const bytes = b64(data);
      if (damage?.shnum === Number(sn)) bytes[damage.at]! ^= 1;
      return [Number(sn), bytes] as const;
    }),
  );
  const reads: ShareRange[] = [];
  const read = (shnum: number, range: ShareRange) => {
    reads.push(range);
    return stored.get(shnum)!.subarray(range.offset, range.offset + range.length);
  };
  let header: MutableHeader | undefined;
  const hashes = new Map<number, ReturnType<typeof verifyShareHashes>>();
  const rejected: CorruptMutableShareError[] = [];
  for (const shnum of stored.keys()) {
    const head = verifyShareSignature(
      read(shnum, { offset: 0, length: SERVERMAP_READ_SIZE }),
      shnum,
      cap.fingerprint,
    );
    if (header !== undefined) expect(versionKey(head.header)).toBe(versionKey(header));
    header = head.header;
    const ranges = shareRanges(head.header);
    hashes.set(
      shnum,
      verifyShareHashes(
        head.header,
        shnum,
        read(shnum, ranges.shareHashChain),
        read(shnum, ranges.blockHashTree),
      ),
    );
  }
  const h = header!;
  const parts: Uint8Array[] = [];
  const segments = h.dataLength === 0 ? 0 : Math.ceil(h.dataLength / h.segmentSize);
  for (let segnum = 0; segnum < segments; segnum++) {
    const blocks: SegmentBlock[] = [];
    for (const shnum of stored.keys()) {
      if (blocks.length === h.k) break;
      const piece = read(shnum, shareRanges(h).block(segnum));
      const salt = h.format === "SDMF" ? h.iv! : piece.subarray(0, SALT_LENGTH);
      const block = h.format === "SDMF" ? piece : piece.subarray(SALT_LENGTH);
      try {
        verifyBlock(h, hashes.get(shnum)!, shnum, segnum, salt, block);
        blocks.push({ shnum, salt, block });
      } catch (error) {
        rejected.push(error as CorruptMutableShareError);
      }
    }
    parts.push(decodeSegmentBlocks(h, blocks, segnum, readCapOf(cap).readkey));
  }
  return { header: h, plaintext: Buffer.concat(parts), reads, rejected };
}

describe("piecewise verification (a retriever's ranged reads)", () => {
  for (const c of cases.filter((x) => x.steps[0]!.plaintext_b64 !== null || x.name === "mdmf-2of3-3seg")) {
    it(`${c.name}: 4000-byte head, chain, tree and blocks read back the plaintext`, () => {
      const { plaintext, reads } = readPieces(c, 0);
      const step = c.steps[0]!;
      const expected =
        step.plaintext_b64 !== null
          ? b64(step.plaintext_b64)
          : recipeContent(step.plaintext_label, step.args[0]!);
      expect(plaintext.equals(expected)).toBe(true);
      expect(Math.max(...reads.map((r) => r.length))).toBeLessThanOrEqual(
        Math.max(SERVERMAP_READ_SIZE, 65536 + 16),
      );
    });
  }

  it("a damaged block is caught by verifyBlock and another share's block is used", () => {
    const c = cases.find((x) => x.name === "mdmf-2of3-3seg")!;
    const { plaintext, rejected } = readPieces(c, 0, { shnum: 0, at: 2167 + 65552 + 40 });
    expect(plaintext.equals(recipeContent(c.steps[0]!.plaintext_label, 262149))).toBe(true);
    expect(rejected.map((e) => [e.shareNumber, e.code])).toEqual([[0, "TAHOE_ERR_MUTABLE_BLOCK_HASH"]]);
    expect(rejected[0]!.message).toContain("segment 1");
  });

  it("a damaged block hash tree is refused by verifyShareHashes", () => {
    const c = cases.find((x) => x.name === "mdmf-2of3-3seg")!;
    expect(() => readPieces(c, 0, { shnum: 2, at: 133290 + 100 })).toThrow(
      /mutable share 2: node \d+ of the block hash tree/,
    );
  });

  it("ranks versions by seqnum, then root hash", () => {
    const c = cases.find((x) => x.name === "sdmf-2of3-seq3")!;
    const heads = c.steps.map(
      (s) =>
        verifyShareSignature(b64(s.shares_b64["0"]!), 0, parseMutableCap(c.caps.read).fingerprint).header,
    );
    expect(compareVersions(heads[2]!, heads[1]!)).toBeGreaterThan(0);
    expect(compareVersions(heads[0]!, heads[1]!)).toBeLessThan(0);
    expect(compareVersions(heads[1]!, heads[1]!)).toBe(0);
  });
});
