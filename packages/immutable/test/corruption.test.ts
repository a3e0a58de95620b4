import { describe, expect, it } from "vitest";
import {
  bufferShareReader,
  type CorruptShareError,
  createChkDecoder,
  DEFAULT_MAX_SEGMENT_SIZE,
  isCorruptShareError,
  verifyCapOf,
  verifyChkShare,
} from "../src/index.js";
import { encode, pattern, readersFor } from "./helpers.js";

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("corruption of any single byte of a share", () => {
  it("is found by verifyChkShare, naming the share", async () => {
    const { result, shares } = await encode(pattern(200, 3), { k: 2, n: 3, maxSegmentSize: 128 });
    for (const cap of [result.cap, verifyCapOf(result.cap)]) {
      for (const sn of [0, 2]) {
        expect(await verifyChkShare(cap, bufferShareReader(sn, shares[sn]!))).toEqual({
          shareNumber: sn,
          shareSize: result.plan.shareSize,
        });
      }
    }
    const share = shares[2]!;
    const missed: number[] = [];
    for (let at = 0; at < share.length; at++) {
      const bad = Buffer.from(share);
      bad[at]! ^= 1 << (at % 8);
      const error = await caught(verifyChkShare(result.cap, bufferShareReader(2, bad)));
      if (!(isCorruptShareError(error) && error.shareNumber === 2)) missed.push(at);
    }
    expect(missed).toEqual([]);
  });

  // Read whole (the default for a share this small) or piece by piece; with the segment size the
  // decoder guesses where the tail is from, or another.
  it.each([
    ["read whole, 128-byte segments", 128, undefined],
    ["read whole, default segments", DEFAULT_MAX_SEGMENT_SIZE, undefined],
    ["read in pieces, 128-byte segments", 128, 0],
    ["read in pieces, default segments", DEFAULT_MAX_SEGMENT_SIZE, 0],
  ])(
    "makes the decoder fail with CorruptShareError for that share, or ignore an unread byte (%s)",
    async (_, maxSegmentSize, wholeShareBytes) => {
      const plaintext = pattern(200, 4);
      const { result, shares } = await encode(plaintext, { k: 2, n: 3, maxSegmentSize });
      const { layout } = result.plan;
      const share = shares[1]!;
      const codes = new Set<string>();
      for (let at = 0; at < share.length; at++) {
        const bad = Buffer.from(share);
        bad[at]! ^= 0x80 >> (at % 8);
        const readers = [bufferShareReader(1, bad), bufferShareReader(2, shares[2]!)];
        // Put the corrupt share first and second: it must be caught whether or not it fixes the plan.
        for (const order of [readers, [...readers].reverse()]) {
          const error = await caught(createChkDecoder(result.readCap, order, { wholeShareBytes }).readAll());
          const unread = at >= layout.plaintextHashTree && at < layout.crypttextHashTree;
          if (unread) {
            expect(error, `byte ${at} is never read`).toBeUndefined();
          } else {
            expect(isCorruptShareError(error), `byte ${at}: ${String(error)}`).toBe(true);
            expect((error as CorruptShareError).shareNumber).toBe(1);
            codes.add((error as CorruptShareError).code);
          }
        }
      }
      expect([...codes].sort()).toEqual([
        "TAHOE_ERR_IMMUTABLE_BLOCK_HASH",
        "TAHOE_ERR_IMMUTABLE_CRYPTTEXT_TREE",
        "TAHOE_ERR_IMMUTABLE_SHARE_HASH",
        "TAHOE_ERR_IMMUTABLE_SHARE_HEADER",
        "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED",
        "TAHOE_ERR_IMMUTABLE_UEB",
        "TAHOE_ERR_IMMUTABLE_UEB_HASH",
      ]);
    },
  );

  it("reports a truncated share", async () => {
    const { result, shares } = await encode(pattern(500), { k: 1, n: 2 });
    const short = shares[0]!.subarray(0, result.plan.layout.data + 10);
    const error = await caught(createChkDecoder(result.readCap, readersFor([short], [0])).readAll());
    expect(error).toMatchObject({ code: "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED", shareNumber: 0 });
    expect((error as Error).message).toMatch(/^share 0: /);
  });

  it("rejects a share from another file by its UEB hash", async () => {
    const a = await encode(pattern(500, 1), { k: 1, n: 1 });
    const b = await encode(pattern(500, 2), { k: 1, n: 1 });
    const error = await caught(createChkDecoder(a.result.readCap, readersFor(b.shares, [0])).readAll());
    expect(error).toMatchObject({ code: "TAHOE_ERR_IMMUTABLE_UEB_HASH", shareNumber: 0 });
  });
});
