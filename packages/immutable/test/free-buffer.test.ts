import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bufferShareReader,
  bytesSource,
  canFreeNow,
  createChkDecoder,
  encodeChkToBuffers,
  FREE_NOW_MIN_BYTES,
  freeNow,
  type ShareReader,
  spoolToTempFile,
  startChkEncode,
} from "../src/index.js";
import { pattern, SECRET } from "./helpers.js";

describe("freeNow", () => {
  it("is available on every Node this project supports (native from 21, by flag in 20)", () => {
    expect(canFreeNow()).toBe(true);
  });

  it("frees a buffer it owns whole: every view of it is empty afterwards", () => {
    const whole = Buffer.alloc(FREE_NOW_MIN_BYTES, 7);
    const view = whole.subarray(10, 20);
    freeNow(whole);
    expect(whole.buffer.byteLength).toBe(0);
    expect(whole.length).toBe(0);
    expect(view.length).toBe(0);
  });

  it("leaves alone views of part of a buffer, small buffers and Node's Buffer pool", () => {
    const big = new Uint8Array(4 * FREE_NOW_MIN_BYTES);
    freeNow(big.subarray(0, FREE_NOW_MIN_BYTES));
    expect(big.length).toBe(4 * FREE_NOW_MIN_BYTES);

    const small = new Uint8Array(FREE_NOW_MIN_BYTES - 1);
    freeNow(small);
    expect(small.length).toBe(FREE_NOW_MIN_BYTES - 1);

    const pooled = Buffer.from("a string from the shared pool");
    const neighbour = Buffer.from("another one");
    freeNow(pooled);
    expect(pooled.toString()).toBe("a string from the shared pool");
    expect(neighbour.toString()).toBe("another one");
  });

  it("leaves WebAssembly memory alone (it cannot be detached)", () => {
    // Typed here: the project compiles without the WebAssembly declarations.
    const wasm = (
      globalThis as unknown as {
        WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
      }
    ).WebAssembly;
    const memory = new wasm.Memory({ initial: 1 });
    const view = new Uint8Array(memory.buffer);
    expect(() => freeNow(view)).not.toThrow();
    expect(memory.buffer.byteLength).toBe(65536);
  });
});

describe("the encoder frees a segment's buffers once every share has released it", () => {
  const data = pattern(3 * 262_144 + 5, 3);
  const options = { k: 3, n: 5, maxSegmentSize: 262_144, convergenceSecret: SECRET };

  it("parity blocks one by one, the primary blocks' buffer after all k", async () => {
    const encoding = await startChkEncode(bytesSource(data), options);
    let checked = 0;
    for await (const write of encoding.writes()) {
      if (write.data[0]!.length < FREE_NOW_MIN_BYTES) continue; // header and trailer
      const [p0, p1, p2, q3, q4] = write.data as Uint8Array[];
      write.release(3);
      expect(q3!.length).toBe(0);
      expect(q4!.length).toBeGreaterThan(0);
      write.release(0);
      write.release(1);
      write.release(1); // twice is once
      expect(p0!.length).toBeGreaterThan(0);
      expect(p2!.length).toBeGreaterThan(0);
      write.release(2);
      expect([p0!.length, p1!.length, p2!.length]).toEqual([0, 0, 0]);
      expect(q4!.length).toBeGreaterThan(0);
      write.release(4);
      expect(q4!.length).toBe(0);
      checked++;
    }
    expect(checked).toBe(3);
  });

  it("releasing does not change what is encoded", async () => {
    const released = await encodeChkToBuffers(bytesSource(data), options);
    const kept: Uint8Array[] = Array.from({ length: 5 }, () => new Uint8Array(released.shares[0]!.length));
    const encoding = await startChkEncode(bytesSource(data), options);
    for await (const write of encoding.writes()) {
      write.data.forEach((bytes, i) => {
        kept[i]!.set(bytes, write.offset);
      });
    }
    expect(encoding.result().readCap).toBe(released.result.readCap);
    kept.forEach((share, i) => {
      expect(Buffer.from(share).equals(released.shares[i]!)).toBe(true);
    });
  });
});

describe("the decoder frees what it read when the reader says reads are fresh", () => {
  const data = pattern(2 * 262_144 + 77, 5);

  async function shares() {
    const { result, shares } = await encodeChkToBuffers(bytesSource(data), {
      k: 3,
      n: 5,
      maxSegmentSize: 262_144,
      convergenceSecret: SECRET,
    });
    return { cap: result.readCap, shares };
  }

  /** Copies every read, as a network reply would be, and remembers them. */
  function freshReaders(images: readonly Uint8Array[], numbers: readonly number[], seen: Uint8Array[]) {
    return numbers.map(
      (sn): ShareReader => ({
        shareNumber: sn,
        freshReads: true,
        read: async (offset, length) => {
          const copy = new Uint8Array(images[sn]!.subarray(offset, offset + length));
          seen.push(copy);
          return copy;
        },
      }),
    );
  }

  it("from primary shares and with parity blocks to decode: the right bytes, and the blocks freed", async () => {
    const { cap, shares: images } = await shares();
    for (const numbers of [
      [0, 1, 2],
      [1, 3, 4],
    ]) {
      const seen: Uint8Array[] = [];
      const decoder = createChkDecoder(cap, freshReaders(images, numbers, seen));
      const out = await decoder.readAll();
      expect(out.equals(data)).toBe(true);
      // Each share's three blocks came in one read (a run, see RUN_BYTES), freed once used; the
      // header and hash-tree reads are under FREE_NOW_MIN_BYTES and stay.
      expect(seen.filter((b) => b.byteLength === 0)).toHaveLength(3);
      expect(seen.every((b) => b.byteLength < FREE_NOW_MIN_BYTES)).toBe(true);
    }
  });

  it("leaves a reader's shared memory alone when reads are not fresh", async () => {
    const { cap, shares: images } = await shares();
    const decoder = createChkDecoder(
      cap,
      [0, 1, 2].map((sn) => bufferShareReader(sn, images[sn]!)),
    );
    expect((await decoder.readAll()).equals(data)).toBe(true);
    expect(images.every((image) => image.length > 0)).toBe(true);
    expect((await decoder.readAll()).equals(data)).toBe(true);
  });
});

describe("the spool frees chunks it was told are its own, once they are in the file", () => {
  it("every byte lands in order and every chunk is freed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lafs-free-spool-"));
    try {
      const data = pattern(3 * 1024 * 1024 + 11, 8);
      const given: Uint8Array[] = [];
      async function* chunks() {
        for (let at = 0; at < data.length; at += 65_536) {
          const copy = new Uint8Array(data.subarray(at, at + 65_536));
          given.push(copy);
          yield copy;
        }
      }
      let hashed = 0;
      const spool = await spoolToTempFile(chunks(), {
        directory: dir,
        freeChunks: true,
        onChunk: (chunk) => {
          hashed += chunk.length;
        },
      });
      try {
        expect(hashed).toBe(data.length);
        expect(Buffer.from(await spool.read(0, data.length)).equals(data)).toBe(true);
        expect(given.filter((c) => c.byteLength >= FREE_NOW_MIN_BYTES)).toEqual([]);
      } finally {
        await spool.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
