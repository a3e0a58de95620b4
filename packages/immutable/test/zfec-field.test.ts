import { describe, expect, it } from "vitest";
import { GF_EXP, GF_LOG, gfInverse, gfMul, gfMulTable, gfPow } from "../src/zfec/galois-field.js";
import { invertMatrix, multiplyMatrices, vandermondeMatrix } from "../src/zfec/matrix.js";
import { hex, pseudoRandomBytes } from "./zfec-helpers.js";

/** Carry-less multiply reduced by 0x11D, bit by bit: independent of the exp/log tables. */
function slowMul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) product ^= a << i;
  for (let bit = 15; bit >= 8; bit--) if (product & (1 << bit)) product ^= 0x11d << (bit - 8);
  return product;
}

describe("GF(2^8) with 0x11D", () => {
  it("has zfec's exp table (wire-formats §3.1) with period 255", () => {
    expect(hex(GF_EXP.subarray(0, 17))).toBe("0102040810204080" + "1d3a74e8cd8713264c");
    for (let i = 0; i < 255; i++) {
      expect(GF_EXP[i + 255]).toBe(GF_EXP[i]);
      expect(GF_LOG[GF_EXP[i]!]).toBe(i);
    }
    expect(new Set(GF_EXP.subarray(0, 255)).size).toBe(255);
  });

  it("multiplies like the bitwise definition, for every pair, also through the product table", () => {
    const table = gfMulTable();
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const expected = slowMul(a, b);
        if (gfMul(a, b) !== expected || table[(a << 8) | b] !== expected) {
          expect({ a, b, mul: gfMul(a, b), table: table[(a << 8) | b] }).toEqual({
            a,
            b,
            mul: expected,
            table: expected,
          });
        }
      }
    }
  });

  it("inverts every non-zero element and refuses 0", () => {
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInverse(a))).toBe(1);
    expect(() => gfInverse(0)).toThrow(RangeError);
  });

  it("raises to powers with 0^0 = 1", () => {
    expect(gfPow(0, 0)).toBe(1);
    expect(gfPow(0, 5)).toBe(0);
    expect(gfPow(2, 8)).toBe(0x1d);
    expect(gfPow(3, 255)).toBe(1);
  });
});

describe("matrix inversion (Gauss-Jordan)", () => {
  const identity = (size: number) => {
    const m = new Uint8Array(size * size);
    for (let i = 0; i < size; i++) m[i * size + i] = 1;
    return m;
  };

  it.each([1, 2, 3, 17, 64])("gives M * M^-1 = I for a %i x %i Vandermonde square", (size) => {
    const m = vandermondeMatrix(size, size);
    const inverse = invertMatrix(m, size)!;
    expect(multiplyMatrices(m, inverse, size, size, size)).toEqual(identity(size));
    expect(multiplyMatrices(inverse, m, size, size, size)).toEqual(identity(size));
  });

  it("inverts random matrices that need row swaps, and reports singular ones", () => {
    const size = 12;
    const m = pseudoRandomBytes(size * size, 7);
    m.fill(0, 0, size); // a zero first pivot forces a swap
    m[size] = 5;
    const inverse = invertMatrix(m, size);
    if (inverse !== undefined) expect(multiplyMatrices(m, inverse, size, size, size)).toEqual(identity(size));
    const singular = m.slice();
    singular.copyWithin(size * 3, size * 2, size * 3); // row 3 = row 2
    expect(invertMatrix(singular, size)).toBeUndefined();
  });
});
