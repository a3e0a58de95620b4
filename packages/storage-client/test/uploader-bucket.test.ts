import { describe, expect, it } from "vitest";
import type { CallOptions, StorageClient, WriteResult } from "../src/index.js";
import { createBucketWriter } from "../src/uploader-bucket.js";

/** A stand-in for the one StorageClient method a bucket uses, recording each PATCH. */
function recordingClient(options: { total: number; delayMs?: number; failAt?: number }) {
  const patches: { offset: number; length: number; startedWhileBusy: boolean }[] = [];
  let busy = false;
  const client = {
    async write(
      _si: unknown,
      _sn: number,
      offset: number,
      pieces: Uint8Array | readonly Uint8Array[],
    ): Promise<WriteResult> {
      const data = pieces instanceof Uint8Array ? pieces : Buffer.concat(pieces);
      patches.push({ offset, length: data.length, startedWhileBusy: busy });
      busy = true;
      await new Promise((r) => setTimeout(r, options.delayMs ?? 1));
      busy = false;
      if (options.failAt !== undefined && patches.length === options.failAt)
        throw new Error("connection reset");
      const end = offset + data.length;
      return end >= options.total
        ? { complete: true, required: [] }
        : { complete: false, required: [{ begin: end, end: options.total }] };
    },
  } as unknown as StorageClient;
  return { client, patches };
}

function bucket(client: StorageClient, batchSize: number) {
  const events = { sent: 0, failures: [] as unknown[] };
  const writer = createBucketWriter({
    client,
    storageIndex: new Uint8Array(16),
    shareNumber: 3,
    uploadSecret: new Uint8Array(20),
    batchSize,
    signal: undefined,
    onFailure: (e) => events.failures.push(e),
    onSent: (n) => {
      events.sent += n;
    },
  });
  return { writer, events };
}

describe("createBucketWriter", () => {
  it("sends contiguous batches of at least batchSize bytes, one PATCH at a time, in ascending order", async () => {
    const { client, patches } = recordingClient({ total: 10_000 });
    const { writer, events } = bucket(client, 3000);
    for (let at = 0; at < 10_000; at += 700) writer.write(at, new Uint8Array(Math.min(700, 10_000 - at)));
    writer.flush();
    await writer.settled();
    expect(patches.map((p) => p.offset)).toEqual([0, 3500, 7000]);
    expect(patches.map((p) => p.length)).toEqual([3500, 3500, 3000]);
    expect(patches.some((p) => p.startedWhileBusy)).toBe(false);
    expect(writer.complete).toBe(true);
    expect(events.sent).toBe(10_000);
    expect(writer.buffered()).toBe(0);
  });

  it("lets the producer wait until the bytes in flight drain", async () => {
    const { client } = recordingClient({ total: 40_000, delayMs: 20 });
    const { writer } = bucket(client, 1000);
    for (let at = 0; at < 10_000; at += 1000) writer.write(at, new Uint8Array(1000));
    expect(writer.buffered()).toBe(10_000);
    await writer.drainTo(2000);
    expect(writer.buffered()).toBeLessThanOrEqual(2000);
    await writer.settled();
    expect(writer.buffered()).toBe(0);
  });

  it("reports the first failure once and drops everything after it", async () => {
    const { client, patches } = recordingClient({ total: 10_000, failAt: 2 });
    const { writer, events } = bucket(client, 1000);
    for (let at = 0; at < 5000; at += 1000) writer.write(at, new Uint8Array(1000));
    await writer.settled();
    expect(writer.failed).toBe(true);
    expect(events.failures).toHaveLength(1);
    expect(patches).toHaveLength(2);
    writer.write(5000, new Uint8Array(10));
    writer.flush();
    await writer.settled();
    expect(patches).toHaveLength(2);
    expect(writer.complete).toBe(false);
  });

  it("sends the bytes unchanged, with at most 1 KiB in a body's first and last pieces", async () => {
    // A small last piece lets undici mark the request sent before the reply can come back;
    // otherwise it drops the connection and the next PATCH needs a new TLS handshake.
    const bodies: Uint8Array[][] = [];
    const client = {
      async write(_si: unknown, _sn: number, _offset: number, pieces: Uint8Array | readonly Uint8Array[]) {
        bodies.push(pieces instanceof Uint8Array ? [pieces] : [...pieces]);
        return { complete: false, required: [] };
      },
    } as unknown as StorageClient;
    const { writer } = bucket(client, 12_000);
    const bytes = Buffer.from(Array.from({ length: 30_000 }, (_, i) => (i * 7) % 251));
    for (let at = 0; at < bytes.length; at += 5000) writer.write(at, bytes.subarray(at, at + 5000));
    writer.flush();
    await writer.settled();
    expect(Buffer.concat(bodies.flat()).equals(bytes)).toBe(true);
    for (const body of bodies) {
      expect(body[0]!.length).toBeLessThanOrEqual(1024);
      expect(body[body.length - 1]!.length).toBeLessThanOrEqual(1024);
      expect(body.every((piece) => piece.length > 0)).toBe(true);
    }
  });

  it("refuses a write that is not where the previous one ended", () => {
    const { client } = recordingClient({ total: 100 });
    const { writer } = bucket(client, 1000);
    writer.write(0, new Uint8Array(10));
    expect(() => writer.write(20, new Uint8Array(10))).toThrow("write at 20, expected 10");
  });

  it("keeps up to maxInFlight PATCHes in flight, and kill() cancels them at once", async () => {
    let active = 0;
    let most = 0;
    const cancelled: number[] = [];
    const client = {
      write: (_si: unknown, _sn: number, offset: number, _d: unknown, _u: unknown, call?: CallOptions) =>
        new Promise<WriteResult>((resolve, reject) => {
          active++;
          most = Math.max(most, active);
          const onAbort = () => {
            clearTimeout(timer);
            active--;
            cancelled.push(offset);
            reject(new Error("cancelled"));
          };
          const timer = setTimeout(() => {
            active--;
            call?.signal?.removeEventListener("abort", onAbort);
            resolve({ complete: false, required: [] });
          }, 30);
          call?.signal?.addEventListener("abort", onAbort, { once: true });
        }),
    } as unknown as StorageClient;
    const writer = createBucketWriter({
      client,
      storageIndex: new Uint8Array(16),
      shareNumber: 1,
      uploadSecret: new Uint8Array(20),
      batchSize: 100,
      maxInFlight: 2,
      signal: undefined,
      onFailure: () => {},
      onSent: () => {},
    });
    for (let at = 0; at < 1000; at += 100) writer.write(at, new Uint8Array(100));
    await writer.drainTo(800);
    expect(most).toBe(2);
    writer.kill();
    await writer.settled();
    expect(cancelled).toHaveLength(2);
    expect(active).toBe(0);
    expect(writer.buffered()).toBe(0);
  });
});
