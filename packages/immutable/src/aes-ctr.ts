import { type Cipher, createCipheriv } from "node:crypto";
import { freeNow } from "./free-buffer.js";

/**
 * AES-128-CTR keystream positioned at byte `offset` of the file: the 128-bit big-endian
 * counter starts at offset/16 and the first offset%16 keystream bytes are skipped. CTR is its
 * own inverse, so this both encrypts and decrypts.
 */
export function createCtrCipher(key: Uint8Array, offset = 0): Cipher {
  const iv = Buffer.alloc(16);
  let block = Math.floor(offset / 16);
  for (let i = 15; i >= 0 && block > 0; i--) {
    iv[i] = block % 256;
    block = Math.floor(block / 256);
  }
  const cipher = createCipheriv("aes-128-ctr", key, iv);
  const skip = offset % 16;
  if (skip > 0) cipher.update(Buffer.alloc(skip));
  return cipher;
}

/**
 * How much one cipher call takes in encryptInto: its output is a fresh buffer, freed as soon as
 * it is copied, so it stays one small block the allocator hands back every time.
 */
const CIPHER_PIECE = 64 * 1024;

/**
 * Encrypts (or decrypts) `input` into `into` (at least as long). Node's Cipher has no output
 * parameter: each update allocates its result, so the input goes through in small pieces that
 * are copied and freed at once rather than one segment-sized buffer per call.
 */
export function encryptInto(cipher: Cipher, input: Uint8Array, into: Uint8Array): void {
  for (let at = 0; at < input.length; at += CIPHER_PIECE) {
    const piece = input.subarray(at, Math.min(input.length, at + CIPHER_PIECE));
    const out = cipher.update(piece);
    // CTR is a stream mode: one output byte per input byte, always.
    if (out.length !== piece.length) throw new Error(`AES-CTR gave ${out.length} bytes for ${piece.length}`);
    into.set(out, at);
    freeNow(out);
  }
}
