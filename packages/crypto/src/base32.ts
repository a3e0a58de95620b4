import { CryptoError } from "./errors.js";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** Character code -> 5-bit value, or -1 for a character outside Tahoe's alphabet. */
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** Characters that a whole number of bytes can produce, modulo 8: 0, 2, 4, 5 or 7. */
const VALID_REMAINDER = [true, false, true, false, true, true, false, true];

/** How many characters `byteLength` bytes encode to: ceil(8 * byteLength / 5). */
export function base32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

/**
 * Tahoe's base32: RFC 4648 with the lower-case alphabet, no `=` padding, and the unused
 * bits of the last character zero. 16 bytes give 26 characters, 32 bytes 52.
 */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Why `text` is not Tahoe base32, or undefined when it is. */
function problem(text: string, what: string): string | undefined {
  let position = 0;
  for (const ch of text) {
    position++;
    const c = ch.codePointAt(0)!;
    if (c >= 128 || VALUES[c] === -1) {
      const lower = c >= 65 && c <= 90 ? " (Tahoe base32 is lower-case)" : "";
      return `${what}: invalid base32 character ${JSON.stringify(ch)} at position ${position}${lower}`;
    }
  }
  if (!VALID_REMAINDER[text.length % 8]) {
    return `${what}: ${text.length} base32 characters cannot encode a whole number of bytes`;
  }
  const spare = (text.length * 5) % 8;
  if (spare > 0) {
    const last = VALUES[text.charCodeAt(text.length - 1)]!;
    if ((last & ((1 << spare) - 1)) !== 0) {
      return `${what}: the last base32 character ${JSON.stringify(text.at(-1))} has non-zero unused bits`;
    }
  }
  return undefined;
}

/**
 * Decodes Tahoe base32 strictly: only lower-case `a-z2-7`, no padding, no whitespace, a
 * possible length and zero unused bits, as Tahoe's own decoder demands. Throws a
 * CryptoError (TAHOE_ERR_CRYPTO_BASE32) whose message starts with `what`.
 */
export function base32Decode(text: string, what = "base32 text"): Uint8Array {
  const bad = problem(text, what);
  if (bad !== undefined) {
    throw new CryptoError("TAHOE_ERR_CRYPTO_BASE32", bad, {
      hint: "Tahoe base32 uses only the characters a-z and 2-7, without '=' padding.",
    });
  }
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    buffer = ((buffer << 5) | VALUES[text.charCodeAt(i)]!) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}

/** True when `text` is valid Tahoe base32 (of exactly `byteLength` bytes, if given). */
export function isBase32(text: string, byteLength?: number): boolean {
  if (byteLength !== undefined && text.length !== base32Length(byteLength)) return false;
  return problem(text, "") === undefined;
}
