import { ErasureCoderError } from "./errors.js";
import type { MultiplyKernel, RowMultiplier } from "./kernel.js";
import { encodingMatrix, invertMatrix } from "./matrix.js";
import { plainKernel } from "./plain-kernel.js";
import { tableKernel } from "./table-kernel.js";
import { wasmSimdKernel } from "./wasm-simd-kernel.js";

/** "plain" is the byte-at-a-time reference; "fast" is the quickest kernel this runtime has. */
export type CoderImplementation = "plain" | "fast";

/** zfec's systematic Reed-Solomon code over GF(2^8): any k of the n blocks give back the data. */
export interface ErasureCoder {
  readonly k: number;
  readonly n: number;
  /** The kernel in use: "plain", "table" (pure JavaScript) or "wasm-simd". */
  readonly implementation: string;
  /**
   * k primary blocks of equal length -> the n-k check blocks (indices k..n-1), each the same
   * length. With `into` (n-k buffers at least that long, which the caller owns) the blocks are
   * written there and returned as views of them instead of allocated.
   */
  encode(primary: readonly Uint8Array[], into?: readonly Uint8Array[]): Uint8Array[];
  /**
   * Any k distinct blocks with their indices -> the k primary blocks in index order 0..k-1.
   * A primary block among the inputs is returned as given, not copied.
   */
  decode(blocks: readonly Uint8Array[], indices: readonly number[]): Uint8Array[];
}

export interface ErasureCoderOptions {
  implementation?: CoderImplementation;
}

/** Decoding matrices kept per coder; a download decodes every segment from the same servers. */
const DECODER_CACHE_SIZE = 8;

let fastKernel: MultiplyKernel | undefined;

/** The kernel "fast" stands for here: WASM SIMD when the runtime has it, else the table kernel. */
export function fastestKernel(): MultiplyKernel {
  fastKernel ??= wasmSimdKernel() ?? tableKernel;
  return fastKernel;
}

export function createErasureCoder(k: number, n: number, options: ErasureCoderOptions = {}): ErasureCoder {
  const implementation = options.implementation ?? "fast";
  if (implementation !== "plain" && implementation !== "fast") {
    throw new ErasureCoderError(
      "TAHOE_ERR_IMMUTABLE_CODER_PARAMS",
      `unknown erasure coder implementation ${JSON.stringify(implementation)}`,
      { hint: 'Use "plain" or "fast".' },
    );
  }
  return createCoderWithKernel(k, n, implementation === "plain" ? plainKernel : fastestKernel());
}

/** Like createErasureCoder, with the kernel chosen by the caller (tests and benchmarks). */
export function createCoderWithKernel(k: number, n: number, kernel: MultiplyKernel): ErasureCoder {
  checkParameters(k, n);
  const matrix = encodingMatrix(k, n);
  let encoder: RowMultiplier | undefined;
  const decoders = new Map<string, { missing: number[]; multiplier: RowMultiplier }>();

  return {
    k,
    n,
    implementation: kernel.name,
    encode(primary, into) {
      const length = checkBlocks(primary, k, "encode", "primary blocks");
      if (into !== undefined) checkOutputs(into, n - k, length);
      encoder ??= kernel.prepare(matrix.subarray(k * k), n - k, k);
      return encoder.apply(primary, length, into);
    },
    decode(blocks, indices) {
      const length = checkBlocks(blocks, k, "decode", "blocks");
      checkIndices(indices, k, n);
      const primary: Uint8Array[] = new Array(k);
      indices.forEach((index, m) => {
        if (index < k) primary[index] = blocks[m]!;
      });
      // Every primary block at hand: nothing to invert (k = n always lands here).
      if (indices.every((index) => index < k)) return primary;
      const key = indices.join(",");
      let decoder = decoders.get(key);
      if (decoder === undefined) {
        decoder = buildDecoder(kernel, matrix, k, indices);
        if (decoders.size >= DECODER_CACHE_SIZE) decoders.clear();
        decoders.set(key, decoder);
      }
      const recovered = decoder.multiplier.apply(blocks, length);
      decoder.missing.forEach((index, m) => {
        primary[index] = recovered[m]!;
      });
      return primary;
    },
  };
}

/** Rows of inverse(E[indices]) for just the primary blocks that were not handed in. */
function buildDecoder(kernel: MultiplyKernel, matrix: Uint8Array, k: number, indices: readonly number[]) {
  const present = new Set(indices);
  const missing: number[] = [];
  for (let j = 0; j < k; j++) if (!present.has(j)) missing.push(j);
  const sub = new Uint8Array(k * k);
  indices.forEach((index, m) => {
    sub.set(matrix.subarray(index * k, index * k + k), m * k);
  });
  const inverse = invertMatrix(sub, k);
  // Any k distinct rows of E are independent (the MDS property), so this cannot happen.
  if (inverse === undefined)
    throw new Error(`zfec decoding matrix singular for indices ${indices.join(",")}`);
  const rows = new Uint8Array(missing.length * k);
  missing.forEach((j, m) => {
    rows.set(inverse.subarray(j * k, j * k + k), m * k);
  });
  return { missing, multiplier: kernel.prepare(rows, missing.length, k) };
}

function checkParameters(k: number, n: number): void {
  const ok = Number.isInteger(k) && Number.isInteger(n) && k >= 1 && k <= n && n <= 256;
  if (!ok) {
    throw new ErasureCoderError(
      "TAHOE_ERR_IMMUTABLE_CODER_PARAMS",
      `erasure coding parameters k=${k}, n=${n} are out of range`,
      { hint: "k (shares.needed) and n (shares.total) must be whole numbers with 1 <= k <= n <= 256." },
    );
  }
}

/** Checks count, type and equal length; returns the common length. */
function checkBlocks(blocks: readonly Uint8Array[], k: number, operation: string, what: string): number {
  if (!Array.isArray(blocks) || blocks.length !== k) {
    const got = Array.isArray(blocks) ? `${blocks.length}` : typeof blocks;
    throw new ErasureCoderError(
      "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
      `${operation} was given ${got} ${what}, but k=${k}`,
      { hint: `Pass exactly k=${k} blocks as an array of Uint8Array.` },
    );
  }
  const length = blocks[0] instanceof Uint8Array ? blocks[0].length : -1;
  blocks.forEach((block, i) => {
    if (!(block instanceof Uint8Array)) {
      throw new ErasureCoderError(
        "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
        `${operation}: block ${i} of the ${what} is ${block === null ? "null" : typeof block}, not a Uint8Array`,
        { hint: "Every block must be a Uint8Array (a Buffer is one)." },
      );
    }
    if (block.length !== length) {
      throw new ErasureCoderError(
        "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
        `${operation}: block ${i} of the ${what} is ${block.length} bytes long, but block 0 is ${length}`,
        { hint: "All blocks of one segment must have the same length; pad the segment to a multiple of k." },
      );
    }
  });
  return length;
}

function checkOutputs(into: readonly Uint8Array[], count: number, length: number): void {
  const ok =
    Array.isArray(into) &&
    into.length === count &&
    into.every((out) => out instanceof Uint8Array && out.length >= length);
  if (!ok) {
    throw new ErasureCoderError(
      "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
      `encode was given ${Array.isArray(into) ? into.length : typeof into} output buffers; it needs ${count} of at least ${length} bytes`,
      {
        hint: "Pass one Uint8Array per check block (n-k of them), each at least as long as a primary block.",
      },
    );
  }
}

function checkIndices(indices: readonly number[], k: number, n: number): void {
  if (!Array.isArray(indices) || indices.length !== k) {
    const got = Array.isArray(indices) ? `${indices.length}` : typeof indices;
    throw new ErasureCoderError(
      "TAHOE_ERR_IMMUTABLE_CODER_INDICES",
      `decode was given ${got} block indices for k=${k} blocks`,
      { hint: "Pass one index per block: the share number (0..n-1) each block came from." },
    );
  }
  const seen = new Set<number>();
  indices.forEach((index, m) => {
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new ErasureCoderError(
        "TAHOE_ERR_IMMUTABLE_CODER_INDICES",
        `decode: index ${m} is ${index}, which is not a share number of ${k}-of-${n}`,
        { hint: `Block indices must be whole numbers from 0 to ${n - 1}.` },
      );
    }
    if (seen.has(index)) {
      throw new ErasureCoderError(
        "TAHOE_ERR_IMMUTABLE_CODER_INDICES",
        `decode: block index ${index} appears more than once`,
        { hint: `Decoding needs k=${k} different blocks; drop the duplicate and add another share.` },
      );
    }
    seen.add(index);
  });
}
