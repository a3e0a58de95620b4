/**
 * The one hot loop of zfec: multiply a fixed coefficient matrix (rows x k) over GF(2^8)
 * by k equal-length blocks, giving `rows` new blocks. Encoding uses the check rows of the
 * encoding matrix; decoding uses the rows of an inverse. Kernels differ only in speed and
 * must give identical bytes.
 */
export interface MultiplyKernel {
  /** "plain", "table" or "wasm-simd": shown as ErasureCoder.implementation. */
  readonly name: string;
  /**
   * Precomputes whatever the kernel needs for these coefficients (row-major, rows x k), so
   * one matrix applied to every segment of a file pays for its tables once.
   */
  prepare(coefficients: Uint8Array, rows: number, k: number): RowMultiplier;
}

export interface RowMultiplier {
  /**
   * inputs: k blocks of at least `length` bytes; returns `rows` blocks of `length` bytes: fresh
   * ones, or the first `length` bytes of each of `outputs` (buffers the caller owns and reuses,
   * so an encode of many segments does not allocate per segment), overwritten.
   */
  apply(inputs: readonly Uint8Array[], length: number, outputs?: readonly Uint8Array[]): Uint8Array[];
}

/** Output block `r` of an apply: the caller's buffer (zeroed when `zeroed`), else a new one. */
export function outputBlock(
  outputs: readonly Uint8Array[] | undefined,
  r: number,
  length: number,
  zeroed: boolean,
): Uint8Array {
  const given = outputs?.[r];
  if (given === undefined) return new Uint8Array(length);
  if (given.length < length) {
    throw new RangeError(`erasure coder output ${r} is ${given.length} bytes, the blocks are ${length}`);
  }
  const out = given.subarray(0, length);
  return zeroed ? out.fill(0) : out;
}
