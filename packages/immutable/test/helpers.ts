import { createHash } from "node:crypto";
import { expect } from "vitest";
import {
  bufferShareReader,
  bytesSource,
  type ChkEncodedShares,
  type ChkEncodeOptions,
  type ClosableByteSource,
  computeImmutableCap,
  encodeChkToBuffers,
  type ShareReader,
} from "../src/index.js";

/** Deterministic bytes that differ at every position, so a misplaced byte is noticed. */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let block = createHash("sha256").update(`seed ${seed}`).digest();
  for (let at = 0; at < length; at += 32) {
    block.copy(out, at, 0, Math.min(32, length - at));
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

export const SECRET = Buffer.from("0123456789abcdef");

/**
 * Fresh pieces of uneven sizes, as an HTTP body arrives (a spool batches them about a megabyte
 * at a time); `fail` breaks the stream off after half of it.
 */
export async function* bodyPieces(data: Uint8Array, fail?: Error): AsyncGenerator<Uint8Array> {
  const sizes = [65536, 1, 70000, 4096, 300_000];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield Uint8Array.from(data.subarray(at, at + size));
    at += size;
    if (fail !== undefined && at > data.length / 2) throw fail;
  }
}

/** A spooled upload of `data` gets the cap the same bytes get from a buffer; closes the spool. */
export async function expectSpoolCapOf(spool: ClosableByteSource, data: Uint8Array): Promise<void> {
  const options = { k: 3, n: 5, maxSegmentSize: 131_072, convergenceSecret: SECRET };
  try {
    const fromSpool = await computeImmutableCap(spool, options);
    const fromBuffer = await computeImmutableCap(bytesSource(data), options);
    expect(fromSpool.readCap).toBe(fromBuffer.readCap);
  } finally {
    await spool.close();
  }
}

export function encode(
  plaintext: Uint8Array,
  options: Partial<ChkEncodeOptions> & { k: number; n: number },
): Promise<ChkEncodedShares> {
  return encodeChkToBuffers(bytesSource(plaintext), {
    maxSegmentSize: 128,
    ...(options.randomKey || options.encryptionKey ? {} : { convergenceSecret: SECRET }),
    ...options,
  });
}

export function readersFor(shares: readonly Uint8Array[], numbers: readonly number[]): ShareReader[] {
  return numbers.map((sn) => bufferShareReader(sn, shares[sn]!));
}

/** Every size-k subset of 0..n-1. */
export function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const walk = (start: number, picked: number[]) => {
    if (picked.length === k) {
      out.push(picked);
      return;
    }
    for (let i = start; i < n; i++) walk(i + 1, [...picked, i]);
  };
  walk(0, []);
  return out;
}
