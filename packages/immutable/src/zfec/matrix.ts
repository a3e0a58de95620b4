import { GF_EXP, GF_LOG, gfInverse, gfMul, gfPow } from "./galois-field.js";

/**
 * Row-major square or rectangular matrices over GF(2^8), stored flat: entry (r, c) of a
 * matrix with `cols` columns is at r*cols + c.
 */

/** Inverts a size x size matrix by Gauss-Jordan elimination; undefined when it is singular. */
export function invertMatrix(matrix: Uint8Array, size: number): Uint8Array | undefined {
  const a = matrix.slice();
  const inv = new Uint8Array(size * size);
  for (let i = 0; i < size; i++) inv[i * size + i] = 1;
  for (let col = 0; col < size; col++) {
    let pivot = col;
    while (pivot < size && a[pivot * size + col] === 0) pivot++;
    if (pivot === size) return undefined;
    if (pivot !== col) {
      swapRows(a, size, pivot, col);
      swapRows(inv, size, pivot, col);
    }
    const scale = gfInverse(a[col * size + col]!);
    scaleRow(a, size, col, scale);
    scaleRow(inv, size, col, scale);
    for (let row = 0; row < size; row++) {
      const factor = a[row * size + col]!;
      if (row === col || factor === 0) continue;
      subtractScaledRow(a, size, row, col, factor);
      subtractScaledRow(inv, size, row, col, factor);
    }
  }
  return inv;
}

function swapRows(m: Uint8Array, size: number, r1: number, r2: number): void {
  for (let c = 0; c < size; c++) {
    const t = m[r1 * size + c]!;
    m[r1 * size + c] = m[r2 * size + c]!;
    m[r2 * size + c] = t;
  }
}

function scaleRow(m: Uint8Array, size: number, row: number, factor: number): void {
  for (let c = 0; c < size; c++) m[row * size + c] = gfMul(m[row * size + c]!, factor);
}

/**
 * row -= factor * source; subtraction is XOR in characteristic 2. This is the O(k^3) inner
 * loop of the inversion, so the multiply is inlined through the log tables.
 */
function subtractScaledRow(m: Uint8Array, size: number, row: number, source: number, factor: number): void {
  subtractScaledRowInto(m, row * size, m, source * size, size, factor);
}

function subtractScaledRowInto(
  to: Uint8Array,
  toOffset: number,
  from: Uint8Array,
  fromOffset: number,
  length: number,
  factor: number,
): void {
  const logFactor = GF_LOG[factor]!;
  for (let c = 0; c < length; c++) {
    const x = from[fromOffset + c]!;
    if (x !== 0) to[toOffset + c]! ^= GF_EXP[logFactor + GF_LOG[x]!]!;
  }
}

/** product = a (rows x inner) * b (inner x cols). */
export function multiplyMatrices(
  a: Uint8Array,
  b: Uint8Array,
  rows: number,
  inner: number,
  cols: number,
): Uint8Array {
  const product = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inner; i++) {
      const factor = a[r * inner + i]!;
      // Adding factor * (row i of b) to row r of the product is the same row operation.
      if (factor !== 0) subtractScaledRowInto(product, r * cols, b, i * cols, cols, factor);
    }
  }
  return product;
}

/**
 * zfec's n x k Vandermonde matrix: evaluation points 0, 2^0, 2^1, ..., 2^(n-2), so row 0
 * is [1,0,...,0] and row r >= 1 is 2^((r-1)*c).
 */
export function vandermondeMatrix(k: number, n: number): Uint8Array {
  const v = new Uint8Array(n * k);
  for (let r = 0; r < n; r++) {
    const point = r === 0 ? 0 : GF_EXP[r - 1]!;
    for (let c = 0; c < k; c++) v[r * k + c] = gfPow(point, c);
  }
  return v;
}

const encodingMatrices = new Map<number, Uint8Array>();

/**
 * The systematic encoding matrix E = V * V_top^-1 (n x k): its top k rows are the identity
 * and rows k..n-1 give the check blocks. Cached per (k, n) because the inversion is O(k^3).
 */
export function encodingMatrix(k: number, n: number): Uint8Array {
  const key = k * 257 + n;
  let e = encodingMatrices.get(key);
  if (e === undefined && k === n) {
    // V * V^-1 is the identity: no check rows, nothing to invert.
    e = new Uint8Array(k * k);
    for (let i = 0; i < k; i++) e[i * k + i] = 1;
    encodingMatrices.set(key, e);
  }
  if (e === undefined) {
    const v = vandermondeMatrix(k, n);
    const topInverse = invertMatrix(v.subarray(0, k * k), k);
    // Distinct evaluation points make every square Vandermonde matrix invertible.
    if (topInverse === undefined) throw new Error(`zfec Vandermonde top square singular for k=${k}`);
    e = multiplyMatrices(v, topInverse, n, k, k);
    encodingMatrices.set(key, e);
  }
  return e;
}
