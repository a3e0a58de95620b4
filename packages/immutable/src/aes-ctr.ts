import { type Cipher, createCipheriv } from "node:crypto";

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
