import { gfMulTable } from "./galois-field.js";
import { type MultiplyKernel, outputBlock, type RowMultiplier } from "./kernel.js";

/**
 * Pure-JavaScript fast path: each coefficient selects a 256-byte row of the product table,
 * and four bytes are looked up and XORed as one 32-bit word. Used where WASM SIMD is not.
 */
export const tableKernel: MultiplyKernel = {
  name: "table",
  prepare(coefficients: Uint8Array, rows: number, k: number): RowMultiplier {
    const coeffs = coefficients.slice(0, rows * k);
    const table = gfMulTable();
    return {
      apply(inputs, length, given) {
        const words = length >>> 2;
        const outputs: Uint8Array[] = [];
        for (let r = 0; r < rows; r++) {
          const out = outputBlock(given, r, length, true);
          // Word access needs 4-aligned views of both; a caller's buffers may not give them.
          const outAligned = out.byteOffset % 4 === 0;
          const out32 = outAligned ? new Uint32Array(out.buffer, out.byteOffset, words) : new Uint32Array(0);
          for (let j = 0; j < k; j++) {
            const c = coeffs[r * k + j]!;
            if (c === 0) continue;
            const input = inputs[j]!;
            const aligned = outAligned && input.byteOffset % 4 === 0;
            const done = aligned ? words << 2 : 0;
            if (aligned) {
              const in32 = new Uint32Array(input.buffer, input.byteOffset, words);
              if (c === 1) xorWords(out32, in32, words);
              else mulXorWords(out32, in32, words, table, c << 8);
            }
            const base = c << 8;
            for (let t = done; t < length; t++) out[t]! ^= table[base | input[t]!]!;
          }
          outputs.push(out);
        }
        return outputs;
      },
    };
  },
};

function xorWords(out: Uint32Array, input: Uint32Array, words: number): void {
  for (let w = 0; w < words; w++) out[w]! ^= input[w]!;
}

/**
 * Byte lanes map to the same lanes, so the result is right on either endianness.
 */
function mulXorWords(out: Uint32Array, input: Uint32Array, words: number, table: Uint8Array, base: number) {
  for (let w = 0; w < words; w++) {
    const x = input[w]!;
    out[w]! ^=
      table[base | (x & 0xff)]! |
      (table[base | ((x >>> 8) & 0xff)]! << 8) |
      (table[base | ((x >>> 16) & 0xff)]! << 16) |
      (table[base | (x >>> 24)]! << 24);
  }
}
