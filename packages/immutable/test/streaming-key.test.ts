import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bytesSource, startChkEncode, streamingConvergentKey } from "../src/index.js";

const secret = new Uint8Array(16).fill(7);

describe("streamingConvergentKey", () => {
  it.each([
    [1_048_576, 3, 10, undefined],
    [3_000_001, 3, 5, undefined],
    [300_000, 2, 4, 131_072],
  ])("gives the key startChkEncode derives, for %i bytes %i-of-%i", async (size, k, n, maxSegmentSize) => {
    const data = randomBytes(size);
    const streaming = streamingConvergentKey(secret, { k, n, maxSegmentSize });
    for (let at = 0; at < size; at += 65_536) streaming.update(data.subarray(at, at + 65_536));
    const encoding = await startChkEncode(bytesSource(data), {
      k,
      n,
      maxSegmentSize,
      convergenceSecret: secret,
    });
    expect(streaming.keyFor(size)).toEqual(encoding.key);
  });

  it("answers undefined for a file smaller than one segment, whose segment size differs", () => {
    const streaming = streamingConvergentKey(secret, { k: 3, n: 10 });
    streaming.update(new Uint8Array(1000));
    expect(streaming.keyFor(1000)).toBeUndefined();
  });
});
