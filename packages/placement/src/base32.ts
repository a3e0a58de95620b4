const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
// Lengths (mod 8) a whole number of bytes can produce; 1, 3 and 6 leave a partial byte.
const VALID_TAIL = new Set([0, 2, 4, 5, 7]);

/**
 * Tahoe's base32 (lower-case RFC 4648, no padding), strict like Tahoe's cap regexes:
 * unused trailing bits must be zero. Returns undefined for text that is not base32, so
 * the caller can name what the text was in its own error.
 */
export function base32Decode(text: string): Uint8Array | undefined {
  if (!VALID_TAIL.has(text.length % 8)) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (const ch of text) {
    const value = ALPHABET.indexOf(ch);
    if (value < 0) return undefined;
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >>> bits) & 0xff;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/** Tahoe's base32 of `bytes`: how storage indexes and server ids are written (the simulator shows them). */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}
