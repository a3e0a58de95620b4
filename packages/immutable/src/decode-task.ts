import { createHash } from "node:crypto";
import { netstring } from "@lafs/crypto";
import { createCtrCipher } from "./aes-ctr.js";
import { freeNow } from "./free-buffer.js";
import type { WorkerTaskResult } from "./worker-pool.js";
import { createErasureCoder, type ErasureCoder } from "./zfec/index.js";

/**
 * The CPU part of reading a run of segments: every block against its block hash, zfec
 * decoding, every segment against its crypttext hash, and AES-CTR. The decoder runs the hash
 * checks ("check") as a worker task, which hands the share bytes back, and the output
 * ("output", checked already) in its own thread; without a pool it does both at once here. It
 * only computes; the decoder turns what it finds into errors naming shares, so the checks are
 * the ones Tahoe-LAFS makes either way.
 */
const BLOCK_PREFIX = netstring("allmydata_encoded_subshare_v1");
const SEGMENT_PREFIX = netstring("allmydata_crypttext_segment_v1");
const HASH = 32;

export interface DecodeRunInput {
  readonly k: number;
  readonly n: number;
  /** The k share numbers used, ascending. */
  readonly shareNumbers: readonly number[];
  /** Per share (same order): its blocks from..to back to back, as read. */
  readonly shares: readonly Uint8Array[];
  /** Per share: the expected block hashes of segments from..to, 32 bytes each. */
  readonly blockHashes: readonly Uint8Array[];
  /** The expected crypttext hashes of segments from..to, 32 bytes each. */
  readonly segmentHashes: Uint8Array;
  readonly from: number;
  readonly to: number;
  readonly numSegments: number;
  readonly segmentSize: number;
  readonly tailSize: number;
  readonly blockSize: number;
  readonly tailBlockSize: number;
  /** The AES key; without one the checked crypttext is the output (a verify cap). */
  readonly key?: Uint8Array | undefined;
  /** Which bytes of the run's crypttext to output: [outFrom, outTo), counted from segment `from`. */
  readonly outFrom: number;
  readonly outTo: number;
  /** The share buffers are this task's to free once decoded (moved or copied to it, or fresh reads). */
  readonly ownsShares: boolean;
  /**
   * "check": only the hashes (blocks, then segments), answering "checked" with the share
   * buffers handed back; "output": the plaintext pieces, checking too unless `checked`.
   */
  readonly mode: "check" | "output";
  /** The hashes were checked already (by a "check" task): skip them. */
  readonly checked?: boolean | undefined;
}

export type DecodeRunOutput =
  /** The output bytes in order, each a buffer of its own. */
  | { readonly kind: "ok"; readonly pieces: Uint8Array[] }
  /** Every hash matched ("check" mode); the share bytes come back. */
  | { readonly kind: "checked"; readonly shares: readonly Uint8Array[] }
  /** Blocks that fail their hash (index into shareNumbers, segment); the share bytes come back. */
  | {
      readonly kind: "bad-blocks";
      readonly bad: readonly { readonly share: number; readonly segment: number }[];
      readonly shares: readonly Uint8Array[];
    }
  /** A segment decoded from good blocks that fails its crypttext hash. */
  | { readonly kind: "bad-segment"; readonly segment: number };

function taggedHashEquals(
  prefix: Buffer,
  pieces: readonly Uint8Array[],
  expected: Uint8Array,
  at: number,
): boolean {
  const inner = createHash("sha256").update(prefix);
  for (const piece of pieces) inner.update(piece);
  const digest = createHash("sha256").update(inner.digest()).digest();
  return Buffer.compare(digest, expected.subarray(at, at + HASH)) === 0;
}

/** Whether `view` is the whole of an ArrayBuffer of its own, so it can be moved or freed. */
function ownsBuffer(view: Uint8Array): view is Uint8Array & { buffer: ArrayBuffer } {
  return (
    view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength
  );
}

/** The ArrayBuffers to move with `views`: those each view owns whole, each once. */
export function movableBuffers(views: readonly Uint8Array[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) if (ownsBuffer(v) && v.byteLength > 0) out.add(v.buffer);
  return [...out];
}

const coders = new Map<string, ErasureCoder>();

export function decodeRun(input: DecodeRunInput): WorkerTaskResult<DecodeRunOutput> {
  const { from, to, blockSize, shares } = input;
  const sizeOf = (s: number) => (s === input.numSegments - 1 ? input.tailBlockSize : blockSize);
  const blocksOf = shares.map((bytes) => {
    const blocks: Uint8Array[] = [];
    for (let s = from; s <= to; s++) {
      const at = (s - from) * blockSize;
      blocks.push(bytes.subarray(at, at + sizeOf(s)));
    }
    return blocks;
  });
  const bad: { share: number; segment: number }[] = [];
  const check = input.checked !== true;
  if (check)
    blocksOf.forEach((blocks, i) => {
      const hashes = input.blockHashes[i]!;
      const wrong = blocks.findIndex(
        (block, j) => !taggedHashEquals(BLOCK_PREFIX, [block], hashes, j * HASH),
      );
      if (wrong !== -1) bad.push({ share: i, segment: from + wrong });
    });
  if (bad.length > 0) {
    return { value: { kind: "bad-blocks", bad, shares: [...shares] }, transfer: movableBuffers(shares) };
  }
  const coderKey = `${input.k},${input.n}`;
  let coder = coders.get(coderKey);
  if (coder === undefined) {
    coder = createErasureCoder(input.k, input.n, { implementation: "fast" });
    coders.set(coderKey, coder);
  }
  const output = input.mode === "output";
  const cipher =
    !output || input.key === undefined
      ? undefined
      : createCtrCipher(input.key, from * input.segmentSize + input.outFrom);
  const pieces: Uint8Array[] = [];
  const recovered: Uint8Array[] = [];
  let runAt = 0;
  for (let s = from; s <= to; s++) {
    const blocks = blocksOf.map((b) => b[s - from]!);
    const primary = coder.decode(blocks, input.shareNumbers);
    for (const block of primary) if (!blocks.includes(block)) recovered.push(block);
    const length = s === input.numSegments - 1 ? input.tailSize : input.segmentSize;
    const segment: Uint8Array[] = [];
    let at = 0;
    for (const block of primary) {
      if (at >= length) break;
      const take = Math.min(block.length, length - at);
      segment.push(take === block.length ? block : block.subarray(0, take));
      at += take;
    }
    if (check && !taggedHashEquals(SEGMENT_PREFIX, segment, input.segmentHashes, (s - from) * HASH)) {
      return { value: { kind: "bad-segment", segment: s } };
    }
    if (!output) continue;
    for (const piece of segment) {
      const a = Math.max(input.outFrom, runAt) - runAt;
      const b = Math.min(input.outTo, runAt + piece.length) - runAt;
      runAt += piece.length;
      if (b <= a) continue;
      const part = piece.subarray(a, b);
      const out = cipher === undefined ? new Uint8Array(part) : cipher.update(part);
      // A small cipher output can be a view of Node's shared pool: such a piece is copied.
      pieces.push(ownsBuffer(out) ? out : new Uint8Array(out));
    }
  }
  for (const block of recovered) freeNow(block);
  if (!output) return { value: { kind: "checked", shares: [...shares] }, transfer: movableBuffers(shares) };
  // The crypttext is done with: give its memory back now, not at this thread's next GC.
  if (input.ownsShares) for (const bytes of shares) freeNow(bytes);
  return { value: { kind: "ok", pieces }, transfer: movableBuffers(pieces) };
}
