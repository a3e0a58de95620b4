import { type ByteSource, bytesSource, type ShareWrite, startChkEncode } from "@lafs/immutable";
import { describe, expect, it } from "vitest";
import { encodeAhead } from "../src/uploader-encode-ahead.js";

const KEY = new Uint8Array(16).fill(7);
const SEGMENT = 131_072;
const params = { k: 2, n: 4, maxSegmentSize: SEGMENT, encryptionKey: KEY };

function bytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + (i >> 9)) & 0xff;
  return out;
}

/** A source that counts the segments read from it. */
function counted(data: Uint8Array): ByteSource & { reads: number } {
  const inner = bytesSource(data);
  const source = {
    size: inner.size,
    name: inner.name,
    reads: 0,
    read: (offset: number, length: number) => {
      source.reads++;
      return inner.read(offset, length);
    },
  };
  return source;
}

async function drain(writes: AsyncGenerator<ShareWrite, unknown, undefined>) {
  const out: { offset: number; data: Buffer[] }[] = [];
  for await (const w of writes) out.push({ offset: w.offset, data: w.data.map((d) => Buffer.from(d)) });
  return out;
}

const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
};

describe("encodeAhead: the first PATCH's worth encoded while servers are asked", () => {
  const data = bytes(10 * SEGMENT + 5);

  it("encodes about one batch per share before anyone pulls, then gives the same writes and caps", async () => {
    const source = counted(data);
    const batch = SEGMENT; // two blocks of SEGMENT / k per share
    const ahead = encodeAhead(await startChkEncode(source, params), batch);
    await settle();
    // The header, two segments' blocks, and the read-ahead of the third: nothing past that.
    expect(source.reads).toBeGreaterThanOrEqual(2);
    expect(source.reads).toBeLessThanOrEqual(3);
    const primed = await drain(ahead.encoding.writes());
    const plain = await startChkEncode(bytesSource(data), params);
    const expected = await drain(plain.writes());
    expect(primed.map((w) => w.offset)).toEqual(expected.map((w) => w.offset));
    for (const [i, w] of primed.entries()) {
      for (const [sn, block] of w.data.entries()) expect(block.equals(expected[i]!.data[sn]!)).toBe(true);
    }
    expect(ahead.encoding.result().verifyCap).toBe(plain.result().verifyCap);
    await ahead.stop(); // after the pass was taken: nothing to do
  });

  it("a file smaller than the batch is encoded whole ahead, trailer and caps included", async () => {
    const small = bytes(1000);
    const ahead = encodeAhead(await startChkEncode(bytesSource(small), params), 1_000_000);
    await settle();
    const primed = await drain(ahead.encoding.writes());
    expect(primed.at(-1)!.offset).toBeGreaterThan(0);
    const plain = await startChkEncode(bytesSource(small), params);
    await drain(plain.writes());
    expect(ahead.encoding.result().verifyCap).toBe(plain.result().verifyCap);
  });

  it("stop, for an upload that failed before sending, ends the pass: nothing more is read", async () => {
    const source = counted(data);
    const ahead = encodeAhead(await startChkEncode(source, params), SEGMENT);
    await ahead.stop();
    const reads = source.reads;
    await settle();
    expect(source.reads).toBe(reads);
    expect(() => ahead.encoding.result()).toThrow();
  });
});
