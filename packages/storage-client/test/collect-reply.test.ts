import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { collect } from "../src/client-reply.js";

/** Feeds `records` into a real stream one tick apart, as socket reads arrive, then ends it. */
function bodyOf(records: Buffer[]): PassThrough {
  const body = new PassThrough();
  void (async () => {
    for (const r of records) {
      body.write(r);
      await new Promise((resolve) => setImmediate(resolve));
    }
    body.end();
  })();
  return body;
}

const tooLong = () => new Error("too long");

describe("collect: a reply body read into one buffer", () => {
  it("copies records into one buffer of the Content-Length that owns its memory, and frees the records", async () => {
    const data = randomBytes(65 * 16384 + 100);
    // Each record its own memory, as undici's socket reads are.
    const records: Buffer[] = [];
    for (let at = 0; at < data.length; at += 16384) records.push(Buffer.from(data.subarray(at, at + 16384)));
    const body = await collect(bodyOf(records), data.length, tooLong, data.length);
    expect(body.equals(data)).toBe(true);
    expect(body.byteOffset).toBe(0);
    expect(body.buffer.byteLength).toBe(data.length);
    // Every full record was copied and freed by the end (the 100-byte tail is the GC's).
    expect(records.slice(0, -1).every((r) => r.buffer.byteLength === 0)).toBe(true);
  });

  it("joins the records of a body longer than its Content-Length said, within the limit", async () => {
    const data = randomBytes(3000);
    const records = [data.subarray(0, 1000), data.subarray(1000, 2000), data.subarray(2000)].map((r) =>
      Buffer.from(r),
    );
    expect((await collect(bodyOf(records), 4000, tooLong, 1500)).equals(data)).toBe(true);
    // Shorter than it said: exactly what came.
    expect((await collect(bodyOf([Buffer.from(data)]), 4000, tooLong, 5000)).equals(data)).toBe(true);
    await expect(collect(bodyOf(records), 2500, tooLong, 1500)).rejects.toThrow("too long");
  });

  it("does not allocate a Content-Length beyond the limit before the body comes", async () => {
    const data = randomBytes(100);
    // A header saying 1 GiB on a 64 KiB call: read as a list, ends with what came.
    expect((await collect(bodyOf([Buffer.from(data)]), 65536, tooLong, 1 << 30)).equals(data)).toBe(true);
  });
});
