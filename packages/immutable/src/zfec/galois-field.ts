/**
 * GF(2^8) exactly as zfec builds it: reducing polynomial x^8+x^4+x^3+x^2+1 (0x11D) and
 * generator 2. This is not AES's 0x11B field, so no AES table may be reused here.
 */
const POLYNOMIAL = 0x11d;

/** exp[i] = 2^i, doubled in length so exp[log a + log b] needs no "mod 255". */
export const GF_EXP: Uint8Array = new Uint8Array(510);
/** log[a] for a != 0; log[0] is unused (0 has no logarithm). */
export const GF_LOG: Uint8Array = new Uint8Array(256);

{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x;
    GF_EXP[i + 255] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= POLYNOMIAL;
  }
}

export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return GF_EXP[GF_LOG[a]! + GF_LOG[b]!]!;
}

export function gfInverse(a: number): number {
  if (a === 0) throw new RangeError("0 has no inverse in GF(2^8)");
  return GF_EXP[255 - GF_LOG[a]!]!;
}

/** a^e for e >= 0, with 0^0 = 1 as the Vandermonde construction needs. */
export function gfPow(a: number, e: number): number {
  if (e === 0) return 1;
  if (a === 0) return 0;
  return GF_EXP[(GF_LOG[a]! * e) % 255]!;
}

let mulTable: Uint8Array | undefined;

/** The full 256x256 product table (64 KiB): row c, column x holds c*x. Built on first use. */
export function gfMulTable(): Uint8Array {
  if (mulTable === undefined) {
    mulTable = new Uint8Array(65536);
    for (let c = 1; c < 256; c++) {
      for (let x = 1; x < 256; x++) mulTable[(c << 8) | x] = GF_EXP[GF_LOG[c]! + GF_LOG[x]!]!;
    }
  }
  return mulTable;
}
