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

describe("the encoder reuses a segment's buffers once every share has released it", () => {
  const data = pattern(3 * 262_144 + 5, 3);
  const options = { k: 3, n: 5, maxSegmentSize: 262_144, convergenceSecret: SECRET };
  const isSegment = (write: { data: readonly Uint8Array[] }) => write.data[0]!.length >= FREE_NOW_MIN_BYTES;

  it("a released segment's buffers carry the next segment; nothing held is reused", async () => {
    const encoding = await startChkEncode(bytesSource(data), options);
    const expected = await encodeChkToBuffers(bytesSource(data), options);
    let previous: ArrayBufferLike[] | undefined;
    let held: { offset: number; blocks: Uint8Array[]; copies: Buffer[] } | undefined;
    let segment = 0;
    for await (const write of encoding.writes()) {
      if (!isSegment(write)) continue;
      const buffers = write.data.map((b) => b.buffer);
      // The k primary blocks share one buffer; every check block has its own.
      expect(new Set(buffers).size).toBe(3);
      if (segment === 1) {
        // Segment 0 released every share: the same buffers again.
        expect(new Set(buffers)).toEqual(new Set(previous));
      }
      if (segment === 2) {
        // Segment 1 kept primary 2 and check block 4: neither buffer may come back.
        expect(buffers).not.toContain(held!.blocks[0]!.buffer);
        expect(buffers).not.toContain(held!.blocks[4]!.buffer);
        expect(buffers).toContain(held!.blocks[3]!.buffer);
      }
      if (segment === 1) {
        held = {
          offset: write.offset,
          blocks: [...write.data],
          copies: write.data.map((b) => Buffer.from(b)),
        };
        for (const sn of [0, 1, 3]) write.release(sn);
        write.release(1); // twice is once
      } else {
        for (let sn = 0; sn < 5; sn++) write.release(sn);
      }
      previous = buffers;
      segment++;
    }
    expect(segment).toBe(3); // the 5-byte tail segment is too small for the filter above
    // The blocks never released still hold segment 1's bytes, as the shares have them.
    for (const sn of [2, 4]) {
      expect(Buffer.from(held!.blocks[sn]!).equals(held!.copies[sn]!)).toBe(true);
      const share = expected.shares[sn]!;
      const at = held!.offset;
      expect(share.subarray(at, at + held!.copies[sn]!.length).equals(held!.copies[sn]!)).toBe(true);
    }
    expect(encoding.result().readCap).toBe(expected.result.readCap);
  });

  it("blocks released after the pass has ended are freed", async () => {
    const encoding = await startChkEncode(bytesSource(data), options);
    const kept: { release(share: number): void; data: readonly Uint8Array[] }[] = [];
    for await (const write of encoding.writes()) if (isSegment(write)) kept.push(write);
    for (const write of kept) for (let sn = 0; sn < 5; sn++) write.release(sn);
    for (const write of kept) expect(write.data.map((b) => b.length)).toEqual([0, 0, 0, 0, 0]);
  });

  it("releasing (and so reusing dirty buffers, the short tail too) does not change what is encoded", async () => {
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
      // Shares this small would come whole, header to UEB, and stay until the decoder is dropped.
      const decoder = createChkDecoder(cap, freshReaders(images, numbers, seen), { wholeShareBytes: 0 });
      const out = await decoder.readAll();
      expect(out.equals(data)).toBe(true);
      // Each share's three blocks came in one read (a run, see RUN_BYTES), freed once used; the
      // header and hash-tree reads are under FREE_NOW_MIN_BYTES and stay.
      expect(seen.filter((b) => b.byteLength === 0)).toHaveLength(3);
      expect(seen.every((b) => b.byteLength < FREE_NOW_MIN_BYTES)).toBe(true);
    }
  });

  it("frees a share read whole once no read is left, and reads its blocks again when asked", async () => {
    const { cap, shares: images } = await shares();
    const seen: Uint8Array[] = [];
    const decoder = createChkDecoder(cap, freshReaders(images, [1, 3, 4], seen));
    expect((await decoder.readAll()).equals(data)).toBe(true);
    // One read per share, header to UEB, freed at the end.
    expect(seen).toHaveLength(3);
    expect(seen.every((b) => b.byteLength === 0)).toBe(true);
    expect((await decoder.readAll()).equals(data)).toBe(true);
    expect(seen.length).toBeGreaterThan(3);
  });

  it("keeps a share read whole while a run fetched ahead still needs it, after the read stopped", async () => {
    const { cap, shares: images } = await shares();
    const seen: Uint8Array[] = [];
    const failures: number[] = [];
    const [zero, one, two] = freshReaders(images, [0, 1, 2], seen);
    // Share 1's server clips every answer, so its later blocks come over the "network", slowly,
    // while share 0's come from its whole read at once: a run waits on share 1 holding a view of
    // share 0's read.
    let zeroWhole: Uint8Array | undefined;
    /** Whether share 0's whole read was still there each time share 1 answered. */
    const held: boolean[] = [];
    const clipped: ShareReader = {
      ...one!,
      read: async (offset, length) => {
        await new Promise((r) => setTimeout(r, 20));
        held.push(zeroWhole !== undefined && zeroWhole.byteLength > 0);
        return one!.read(offset, Math.min(length, 100_000));
      },
    };
    const first: ShareReader = {
      ...zero!,
      read: async (offset, length) => {
        const bytes = await zero!.read(offset, length);
        zeroWhole ??= bytes;
        return bytes;
      },
    };
    const decoder = createChkDecoder(cap, [first, clipped, two!], {
      runBytes: 1,
      onShareFailure: (sn) => failures.push(sn),
    });
    for await (const _ of decoder.read()) break;
    await new Promise((r) => setTimeout(r, 100));
    expect(held.length).toBeGreaterThan(1);
    expect(held.every(Boolean)).toBe(true);
    expect(zeroWhole!.byteLength).toBe(0);
    expect(failures).toEqual([]);
    expect((await decoder.readAll()).equals(data)).toBe(true);
    expect(failures).toEqual([]);
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
