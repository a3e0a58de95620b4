import { describe, expect, it } from "vitest";
import {
  bufferShareReader,
  createChkDecoder,
  DEFAULT_MAX_SEGMENT_SIZE,
  openShare,
  type ShareReader,
  WHOLE_SHARE_BYTES,
} from "../src/index.js";
import { encode, pattern } from "./helpers.js";

interface Read {
  sn: number;
  offset: number;
  length: number;
}

/**
 * Readers over share images whose reads are answered in rounds: everything asked for is
 * answered together once the code under test has nothing more to ask without an answer, so
 * the rounds are the round trips a network would cost.
 */
function steppedReaders(images: readonly Uint8Array[], numbers: readonly number[]) {
  const pending: (Read & { answer: () => void })[] = [];
  const readers: ShareReader[] = numbers.map((sn) => ({
    shareNumber: sn,
    read: (offset, length) =>
      new Promise((resolve) =>
        pending.push({
          sn,
          offset,
          length,
          answer: () => resolve(images[sn]!.subarray(offset, offset + length)),
        }),
      ),
  }));
  async function rounds<T>(work: Promise<T>): Promise<{ value: T; rounds: Read[][] }> {
    let outcome: { value: T } | { error: unknown } | undefined;
    work.then(
      (value) => (outcome = { value }),
      (error: unknown) => (outcome = { error }),
    );
    const seen: Read[][] = [];
    for (;;) {
      await new Promise((r) => setTimeout(r, 0));
      if (outcome !== undefined) {
        if ("error" in outcome) throw outcome.error;
        return { value: outcome.value, rounds: seen };
      }
      const batch = pending.splice(0);
      if (batch.length === 0) throw new Error("no read pending, and the work is not done");
      seen.push(batch.map(({ sn, offset, length }) => ({ sn, offset, length })));
      for (const read of batch) read.answer();
    }
  }
  return { readers, rounds };
}

describe("opening a share", () => {
  const size = 3 * 1024 * 1024 + 5;

  it("asks for the header and the tail at once when the share has the default segment size", async () => {
    const { result, shares } = await encode(pattern(size, 1), {
      k: 2,
      n: 3,
      maxSegmentSize: DEFAULT_MAX_SEGMENT_SIZE,
    });
    const { readers, rounds } = steppedReaders(shares, [1]);
    const { value: share, rounds: trips } = await rounds(openShare(readers[0]!, result.cap));
    expect(share.plan).toEqual(result.plan);
    expect(trips).toHaveLength(1);
    expect(trips[0]!.map((r) => r.offset).sort((a, b) => a - b)).toEqual([
      0,
      result.plan.layout.crypttextHashTree,
    ]);
  });

  it("opens a share with other segments too, in one more round trip (its tail where the header says)", async () => {
    const { result, shares } = await encode(pattern(size, 2), { k: 2, n: 3, maxSegmentSize: 131_072 });
    const { readers, rounds } = steppedReaders(shares, [0]);
    const { value: share, rounds: trips } = await rounds(openShare(readers[0]!, result.cap));
    expect(share.plan).toEqual(result.plan);
    expect(share.plan.segmentSize).toBe(131_072);
    expect(trips.map((t) => t.length)).toEqual([2, 1]);
    expect(trips[1]![0]!.offset).toBe(result.plan.layout.crypttextHashTree);
  });

  it("reads a tail larger than a MiB only once the UEB says where it is", async () => {
    // 8,193 segments of 2 bytes: trees of 16,383 nodes each, over a MiB with the chain and UEB.
    const { result, shares } = await encode(pattern(16_386, 3), { k: 2, n: 3, maxSegmentSize: 2 });
    const { layout } = result.plan;
    expect(layout.uebLength - layout.crypttextHashTree).toBeGreaterThan(1 << 20);
    const { readers, rounds } = steppedReaders(shares, [1]);
    const { value: share, rounds: trips } = await rounds(openShare(readers[0]!, result.cap));
    expect(share.plan).toEqual(result.plan);
    // The header and the guessed tail (here: this file's trees with 1 MiB segments, a few bytes).
    expect(trips[0]!.map((r) => r.offset)).toContain(0);
    expect(trips.slice(1).map((t) => t.map((r) => r.offset))).toEqual([
      [layout.uebLength],
      [layout.crypttextHashTree],
    ]);
  });

  it("refuses a header whose UEB comes before its hash trees, before reading by it", async () => {
    const { result, shares } = await encode(pattern(5000, 6), { k: 2, n: 3, maxSegmentSize: 1000 });
    const bad = Buffer.from(shares[0]!);
    // v1 header: the UEB-length offset is its last field, at 0x20.
    bad.writeUInt32BE(result.plan.layout.crypttextHashTree - 8, 0x20);
    const error = await openShare(bufferShareReader(0, bad), result.cap).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TAHOE_ERR_IMMUTABLE_SHARE_HEADER", shareNumber: 0 });
    expect((error as Error).message).toContain("ascending");
  });

  it("the decoder opens k shares at once, then reads their blocks", async () => {
    const data = pattern(size, 3);
    const { result, shares } = await encode(data, { k: 2, n: 3, maxSegmentSize: DEFAULT_MAX_SEGMENT_SIZE });
    const { readers, rounds } = steppedReaders(shares, [0, 1, 2]);
    const { value: out, rounds: trips } = await rounds(createChkDecoder(result.readCap, readers).readAll());
    expect(out.equals(data)).toBe(true);
    // Shares 0 and 1, header and tail each; then both runs of blocks of each (two runs ahead).
    expect(trips[0]!.map((r) => `${r.sn}@${r.offset}`).sort()).toEqual(
      [0, 1].flatMap((sn) => [`${sn}@0`, `${sn}@${result.plan.layout.crypttextHashTree}`]).sort(),
    );
    expect(trips[1]!.every((r) => r.offset >= result.plan.layout.data && r.sn < 2)).toBe(true);
    expect(trips).toHaveLength(2);
  });

  it.each([
    ["the default segment size", DEFAULT_MAX_SEGMENT_SIZE],
    ["128-byte segments", 128],
  ])("a small share comes whole in one request, blocks and all (%s)", async (_, maxSegmentSize) => {
    const data = pattern(100_000, 4);
    const { result, shares } = await encode(data, { k: 3, n: 10, maxSegmentSize });
    expect(result.plan.shareSize).toBeLessThan(WHOLE_SHARE_BYTES);
    const { readers, rounds } = steppedReaders(shares, [9, 4, 7, 2]);
    const { value: out, rounds: trips } = await rounds(createChkDecoder(result.readCap, readers).readAll());
    expect(out.equals(data)).toBe(true);
    expect(trips).toEqual([[2, 4, 7].map((sn) => ({ sn, offset: 0, length: expect.any(Number) as number }))]);
    expect(trips[0]!.every((r) => r.length === WHOLE_SHARE_BYTES)).toBe(true);
  });
});
