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
  /** inputs: k blocks of at least `length` bytes; returns `rows` fresh blocks of `length` bytes. */
  apply(inputs: readonly Uint8Array[], length: number): Uint8Array[];
}
