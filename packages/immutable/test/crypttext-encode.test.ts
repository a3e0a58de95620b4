import { describe, expect, it } from "vitest";
import {
  bytesSource,
  createChkDecoder,
  createCtrCipher,
  encodeChkToBuffers,
  startChkEncodeOfCrypttext,
  verifyCapOf,
} from "../src/index.js";
import { pattern, readersFor, SECRET } from "./helpers.js";

/** Shares as startChkEncodeOfCrypttext writes them, each in a buffer of its own. */
async function sharesOfCrypttext(crypttext: Buffer, k: number, n: number, storageIndex: Uint8Array) {
  const encoding = startChkEncodeOfCrypttext(bytesSource(crypttext), {
    k,
    n,
    maxSegmentSize: 4096,
    storageIndex,
  });
  const shares = Array.from({ length: n }, () => Buffer.alloc(encoding.shareSize));
  for await (const write of encoding.writes()) {
    for (const [i, bytes] of write.data.entries()) {
      shares[i]!.set(bytes, write.offset);
      write.release(i);
    }
  }
  return { shares, result: encoding.result() };
}

describe("encoding a file's crypttext with no key (repair from a verify cap)", () => {
  for (const [size, k, n] of [
    [10_000, 3, 10],
    [4096 * 3, 2, 5],
    [57, 1, 3],
  ] as const) {
    it(`${size} bytes, ${k}-of-${n}: the same shares, byte for byte, as the keyed encode`, async () => {
      const plaintext = pattern(size, 7);
      const original = await encodeChkToBuffers(bytesSource(plaintext), {
        k,
        n,
        maxSegmentSize: 4096,
        convergenceSecret: SECRET,
      });
      const crypttext = createCtrCipher(original.result.cap.key).update(plaintext);
      const again = await sharesOfCrypttext(crypttext, k, n, original.result.storageIndex);
      expect(Buffer.from(again.result.uebHash).equals(original.result.uebHash)).toBe(true);
      expect(again.result.verifyCap).toBe(original.result.verifyCap);
      for (let i = 0; i < n; i++)
        expect(again.shares[i]!.equals(original.shares[i]!), `share ${i}`).toBe(true);
    });
  }

  it("a decoder given the verify cap yields the checked crypttext, not the plaintext", async () => {
    const plaintext = pattern(20_000, 3);
    const { result, shares } = await encodeChkToBuffers(bytesSource(plaintext), {
      k: 3,
      n: 6,
      maxSegmentSize: 4096,
      convergenceSecret: SECRET,
    });
    const verifyCap = verifyCapOf(result.cap);
    const decoder = createChkDecoder(verifyCap, readersFor(shares, [5, 1, 4]));
    const crypttext = createCtrCipher(result.cap.key).update(plaintext);
    expect((await decoder.readAll()).equals(crypttext)).toBe(true);
    expect((await decoder.readAll({ start: 4000, end: 9000 })).equals(crypttext.subarray(4000, 9000))).toBe(
      true,
    );
  });

  it("refuses a storage index that is not 16 bytes", () => {
    expect(() =>
      startChkEncodeOfCrypttext(bytesSource(pattern(100)), { k: 1, n: 2, storageIndex: new Uint8Array(8) }),
    ).toThrow(/storageIndex is 8 bytes, not 16/);
  });
});
