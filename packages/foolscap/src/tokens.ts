/** Banana type bytes (foolscap tokens.py). A token is a b128 header, one of these, then a body. */
export const TOKEN = {
  LIST: 0x80,
  INT: 0x81,
  STRING: 0x82,
  NEG: 0x83,
  FLOAT: 0x84,
  LONGINT: 0x85,
  LONGNEG: 0x86,
  VOCAB: 0x87,
  OPEN: 0x88,
  CLOSE: 0x89,
  ABORT: 0x8a,
  ERROR: 0x8d,
  PING: 0x8e,
  PONG: 0x8f,
} as const;

/** Largest value an INT token carries; larger ints go as LONGINT (banana.py sendToken). */
export const MAX_INT = 2 ** 31 - 1;

/** banana.py refuses a header longer than this. */
export const MAX_HEADER_BYTES = 64;

/** SIZE_LIMIT: an ERROR token's message may be no longer. */
export const MAX_ERROR_BYTES = 1000;

/** Little-endian base-128 header bytes of a non-negative integer (`int2b128`). */
export function b128(value: number | bigint): number[] {
  let n = BigInt(value);
  if (n < 0n) throw new RangeError(`a banana header is never negative, got ${value}`);
  if (n === 0n) return [0];
  const out: number[] = [];
  while (n > 0n) {
    out.push(Number(n & 0x7fn));
    n >>= 7n;
  }
  return out;
}
