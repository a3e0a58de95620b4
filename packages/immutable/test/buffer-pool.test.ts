import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCtrCipher, encryptInto } from "../src/aes-ctr.js";
import { createBufferPool } from "../src/buffer-pool.js";
import { pattern } from "./helpers.js";

describe("createBufferPool", () => {
  it("hands a buffer given back out again, and a new one when none is idle", () => {
    const pool = createBufferPool(8192, 1 << 20);
    const a = pool.take();
    const b = pool.take();
    expect(a.length).toBe(8192);
    expect(b).not.toBe(a);
    pool.give(a);
    expect(pool.take()).toBe(a);
    expect(pool.take()).not.toBe(b);
  });

  it("refuses a buffer given back twice, which would be handed out to two users", () => {
    const pool = createBufferPool(8192, 1 << 20);
    const a = pool.take();
    pool.give(a);
    expect(() => pool.give(a)).toThrow(/given back twice/);
  });

  it("keeps at most maxIdleBytes idle and frees the rest; after close it frees everything", () => {
    const pool = createBufferPool(8192, 2 * 8192);
    const taken = [pool.take(), pool.take(), pool.take()];
    for (const b of taken) pool.give(b);
    // Two kept, the third freed at once (freeNow: every view of it is empty).
    expect(taken.map((b) => b.length)).toEqual([8192, 8192, 0]);
    const later = pool.take();
    expect(later).toBe(taken[1]); // the last one given back
    pool.close();
    expect(taken.map((b) => b.length)).toEqual([0, 8192, 0]);
    pool.give(later);
    expect(later.length).toBe(0);
  });

  it("ignores a view that is not a whole buffer of its size (nothing is reused from it)", () => {
    const pool = createBufferPool(8192, 1 << 20);
    const other = new Uint8Array(16384).subarray(0, 8192);
    pool.give(other);
    expect(pool.take()).not.toBe(other);
  });
});

describe("encryptInto", () => {
  it("gives the bytes one update of the whole input gives, at any offset and length", () => {
    const key = pattern(16, 1);
    for (const [offset, length] of [
      [0, 0],
      [0, 100],
      [5, 65_536],
      [17, 65_537],
      [1_000_003, 300_001],
    ] as const) {
      const input = pattern(length, 2);
      const expected = createCtrCipher(key, offset).update(input);
      const into = new Uint8Array(length + 3).fill(0xaa);
      encryptInto(createCtrCipher(key, offset), input, into);
      expect(Buffer.from(into.subarray(0, length)).equals(expected)).toBe(true);
      expect([...into.subarray(length)]).toEqual([0xaa, 0xaa, 0xaa]);
    }
  });

  it("continues the keystream across calls, as cipher.update does", () => {
    const key = pattern(16, 3);
    const input = pattern(200_000, 4);
    const iv = Buffer.alloc(16);
    const expected = createCipheriv("aes-128-ctr", key, iv).update(input);
    const cipher = createCtrCipher(key);
    const into = new Uint8Array(input.length);
    encryptInto(cipher, input.subarray(0, 70_001), into.subarray(0, 70_001));
    encryptInto(cipher, input.subarray(70_001), into.subarray(70_001));
    expect(Buffer.from(into).equals(expected)).toBe(true);
  });
});
