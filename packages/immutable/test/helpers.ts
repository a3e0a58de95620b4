import { createHash } from "node:crypto";
import {
  bufferShareReader,
  bytesSource,
  type ChkEncodedShares,
  type ChkEncodeOptions,
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
