import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface ChkVector {
  readonly index: number;
  readonly convergence: Buffer;
  readonly plaintext: Buffer;
  readonly k: number;
  readonly n: number;
  readonly segmentSize: number;
  readonly expected: string;
}

interface RawVector {
  convergence: string;
  sample: { seed: string; length: number };
  zfec: { required: number; total: number; segmentSize: number };
  expected: string;
}

/** `(seed * (length // len(seed) + 1))[:length]`, as the vector generator stretches samples. */
export function stretch(seed: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += seed.length) seed.copy(out, at, 0, Math.min(seed.length, length - at));
  return out;
}

/** The published CHK vectors (../shared/vectors/chk.json beside the repository). */
export function loadChkVectors(): ChkVector[] {
  const path = join(import.meta.dirname, "../../../../shared/vectors/chk.json");
  const raw = JSON.parse(readFileSync(path, "utf8")) as RawVector[] | { vector: RawVector[] };
  const list = Array.isArray(raw) ? raw : raw.vector;
  return list.map((v, index) => ({
    index,
    convergence: Buffer.from(v.convergence, "base64"),
    plaintext: stretch(Buffer.from(v.sample.seed, "base64"), v.sample.length),
    k: v.zfec.required,
    n: v.zfec.total,
    segmentSize: v.zfec.segmentSize,
    expected: v.expected,
  }));
}
