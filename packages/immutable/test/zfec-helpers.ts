import { createCoderWithKernel, type ErasureCoder } from "../src/zfec/coder.js";
import { createErasureCoder } from "../src/zfec/index.js";
import { plainKernel } from "../src/zfec/plain-kernel.js";
import { tableKernel } from "../src/zfec/table-kernel.js";
import { wasmSimdKernel } from "../src/zfec/wasm-simd-kernel.js";

export interface CoderFactory {
  label: string;
  make(k: number, n: number): ErasureCoder;
}

const simd = wasmSimdKernel();

/**
 * Every way to get a coder: the public "plain" and "fast", plus each fast kernel by name, so
 * the table kernel is tested even where "fast" means WASM SIMD.
 */
export const coderFactories: CoderFactory[] = [
  { label: "plain", make: (k, n) => createErasureCoder(k, n, { implementation: "plain" }) },
  { label: "fast", make: (k, n) => createErasureCoder(k, n, { implementation: "fast" }) },
  { label: "table", make: (k, n) => createCoderWithKernel(k, n, tableKernel) },
  ...(simd
    ? [{ label: "wasm-simd", make: (k: number, n: number) => createCoderWithKernel(k, n, simd) }]
    : []),
];

export const plainCoder = (k: number, n: number) => createCoderWithKernel(k, n, plainKernel);

/** Deterministic bytes (xorshift32), so a failure reproduces. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function primaryBlocks(k: number, length: number, seed: number): Uint8Array[] {
  return Array.from({ length: k }, (_, i) => pseudoRandomBytes(length, seed * 1000 + i + 1));
}

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** All size-k subsets of 0..n-1, in lexicographic order. */
export function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (let first = 0; first <= n - k; first++) {
    for (const rest of subsets(n - first - 1, k - 1)) out.push([first, ...rest.map((x) => x + first + 1)]);
  }
  return out;
}
