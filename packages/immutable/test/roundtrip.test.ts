import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bufferShareReader,
  bytesSource,
  computeImmutableCap,
  createChkDecoder,
  parseImmutableCap,
  planChk,
  startChkEncode,
} from "../src/index.js";
import { encode, pattern, readersFor, SECRET, subsets } from "./helpers.js";

describe("LIT files", () => {
  for (const size of [0, 1, 55]) {
    it(`${size} bytes become a URI:LIT: cap holding the data`, async () => {
      const data = pattern(size);
      const result = await computeImmutableCap(bytesSource(data), { k: 3, n: 10, convergenceSecret: SECRET });
      expect(result.readCap.startsWith("URI:LIT:")).toBe(true);
      const cap = parseImmutableCap(result.readCap);
      expect(cap.kind === "lit" && Buffer.from(cap.data).equals(data)).toBe(true);
    });
  }

  it("56 bytes are CHK", async () => {
    const result = await computeImmutableCap(bytesSource(pattern(56)), {
      k: 3,
      n: 10,
      convergenceSecret: SECRET,
    });
    expect(result.readCap.startsWith("URI:CHK:")).toBe(true);
  });
});

describe("round trips", () => {
  const params: [number, number][] = [
    [1, 1],
    [1, 3],
    [2, 3],
    [3, 10],
    [4, 4],
    [5, 9],
    [7, 16],
    [13, 17],
  ];
  for (const [k, n] of params) {
    const seg = planChk(10_000, { k, n, maxSegmentSize: 128 }).segmentSize;
    const sizes = [1, 55, 56, seg - 1, seg, seg + 1, 2 * seg, 5 * seg + 7].filter((s) => s >= 1);
    it(`k=${k} n=${n} (segment ${seg}): sizes ${sizes.join(", ")} from the highest k shares`, async () => {
      for (const size of sizes) {
        const plaintext = pattern(size, size);
        const { result, shares } = await encode(plaintext, { k, n });
        expect(shares.every((s) => s.length === result.plan.shareSize)).toBe(true);
        const numbers = Array.from({ length: k }, (_, i) => n - k + i);
        const out = await createChkDecoder(result.readCap, readersFor(shares, numbers)).readAll();
        expect(out.equals(plaintext)).toBe(true);
      }
    });
  }

  it("decodes from every k-subset for n <= 5", async () => {
    for (const [k, n] of [
      [1, 2],
      [2, 4],
      [3, 5],
      [2, 5],
      [4, 5],
    ] as [number, number][]) {
      const plaintext = pattern(700, k * n);
      const { result, shares } = await encode(plaintext, { k, n });
      for (const subset of subsets(n, k)) {
        const out = await createChkDecoder(result.cap, readersFor(shares, subset)).readAll();
        expect(out.equals(plaintext), `k=${k} n=${n} shares ${subset}`).toBe(true);
      }
    }
  });

  it("random-key encoding gives a new key each time and still decodes", async () => {
    const plaintext = pattern(1000);
    const a = await encode(plaintext, { k: 2, n: 4, randomKey: true });
    const b = await encode(plaintext, { k: 2, n: 4, randomKey: true });
    expect(a.result.readCap).not.toBe(b.result.readCap);
    const out = await createChkDecoder(a.result.readCap, readersFor(a.shares, [1, 3])).readAll();
    expect(out.equals(plaintext)).toBe(true);
  });

  it("convergent encoding is repeatable and depends on secret, k, n and segment size", async () => {
    const plaintext = pattern(1000);
    const cap = async (o: Parameters<typeof encode>[1]) => (await encode(plaintext, o)).result.readCap;
    const base = await cap({ k: 2, n: 4 });
    expect(await cap({ k: 2, n: 4 })).toBe(base);
    const others = [
      await cap({ k: 2, n: 4, convergenceSecret: Buffer.from("another secret!!") }),
      await cap({ k: 2, n: 5 }),
      await cap({ k: 2, n: 4, maxSegmentSize: 256 }),
    ];
    for (const other of others) expect(other.split(":")[2]).not.toBe(base.split(":")[2]);
  });

  it("switches to a spare share when one is corrupt, and reports it", async () => {
    const plaintext = pattern(2000);
    const { result, shares } = await encode(plaintext, { k: 3, n: 6 });
    const bad = Buffer.from(shares[0]!);
    bad[result.plan.layout.data + 5 * result.plan.blockSize + 3]! ^= 0x40;
    const failed: number[] = [];
    const decoder = createChkDecoder(
      result.readCap,
      [bufferShareReader(0, bad), ...readersFor(shares, [1, 2, 5])],
      {
        onShareFailure: (sn) => failed.push(sn),
      },
    );
    expect((await decoder.readAll()).equals(plaintext)).toBe(true);
    expect(failed).toEqual([0]);
    expect(decoder.activeShares()).toEqual([1, 2, 5]);
  });

  it("switches to the same share number on another server", async () => {
    const plaintext = pattern(900);
    const { result, shares } = await encode(plaintext, { k: 2, n: 3 });
    const bad = Buffer.from(shares[1]!);
    bad[bad.length - 1]! ^= 1;
    const readers = [
      bufferShareReader(1, bad),
      bufferShareReader(1, shares[1]!),
      bufferShareReader(0, shares[0]!),
    ];
    expect((await createChkDecoder(result.readCap, readers).readAll()).equals(plaintext)).toBe(true);
  });

  it("fails with TAHOE_ERR_IMMUTABLE_NOT_ENOUGH_SHARES given fewer than k shares", async () => {
    const { result, shares } = await encode(pattern(500), { k: 3, n: 5 });
    await expect(
      createChkDecoder(result.readCap, readersFor(shares, [0, 4])).readAll(),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_IMMUTABLE_NOT_ENOUGH_SHARES",
    });
  });

  it("emits every share byte once, in ascending offset order", async () => {
    const encoding = await startChkEncode(bytesSource(pattern(3000)), {
      k: 3,
      n: 7,
      maxSegmentSize: 256,
      convergenceSecret: SECRET,
    });
    let next = 0;
    for await (const write of encoding.writes()) {
      expect(write.offset).toBe(next);
      expect(write.data).toHaveLength(7);
      const length = write.data[0]!.length;
      expect(write.data.every((d) => d.length === length)).toBe(true);
      next += length;
    }
    expect(next).toBe(encoding.shareSize);
    expect(() => encoding.result()).not.toThrow();
  });
});

describe("ranged reads", () => {
  it("equal slices of the plaintext (property)", async () => {
    const plaintext = pattern(3001, 7);
    const { result, shares } = await encode(plaintext, { k: 3, n: 5, maxSegmentSize: 200 });
    await fc.assert(
      fc.asyncProperty(
        fc.nat(3100),
        fc.nat(3100),
        fc.subarray([0, 1, 2, 3, 4], { minLength: 3, maxLength: 3 }),
        async (a, b, numbers) => {
          const start = Math.min(a, b, plaintext.length);
          const end = Math.max(a, b);
          const decoder = createChkDecoder(result.readCap, readersFor(shares, numbers));
          const out = await decoder.readAll({ start, end });
          expect(out.equals(plaintext.subarray(start, end))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("fetch only the blocks of the segments they touch", async () => {
    const plaintext = pattern(4000, 9);
    const { result, shares } = await encode(plaintext, { k: 2, n: 3, maxSegmentSize: 400 });
    const plan = result.plan;
    const touched = new Set<number>();
    const readers = [0, 1].map((sn) => ({
      shareNumber: sn,
      read: async (offset: number, length: number) => {
        // A read may bring a run of blocks: count every block it covers.
        for (let at = offset; at < offset + length; at += plan.blockSize) {
          if (at >= plan.layout.data && at < plan.layout.plaintextHashTree) {
            touched.add(Math.floor((at - plan.layout.data) / plan.blockSize));
          }
        }
        return shares[sn]!.subarray(offset, offset + length);
      },
    }));
    // (A share this small is read whole unless told otherwise: see "small shares" below.)
    const out = await createChkDecoder(result.readCap, readers, { wholeShareBytes: 0 }).readAll({
      start: 1000,
      end: 1300,
    });
    expect(out.equals(plaintext.subarray(1000, 1300))).toBe(true);
    expect([...touched].sort()).toEqual([2, 3]);
  });

  it("reject a start beyond the end", async () => {
    const { result, shares } = await encode(pattern(100), { k: 1, n: 1 });
    const decoder = createChkDecoder(result.readCap, readersFor(shares, [0]));
    await expect(decoder.readAll({ start: 50, end: 10 })).rejects.toMatchObject({
      code: "TAHOE_ERR_IMMUTABLE_RANGE",
    });
  });
});

describe("runs of blocks: one read brings several segments' blocks of a share", () => {
  // 100 segments of 400 bytes, blocks of 200 at 2-of-4, five blocks per read.
  const plaintext = pattern(40_000, 3);
  const runBytes = 1000;

  async function setUp(numbers: number[], corrupt?: { share: number; block: number }) {
    const { result, shares } = await encode(plaintext, { k: 2, n: 4, maxSegmentSize: 400 });
    const { plan } = result;
    if (corrupt !== undefined)
      shares[corrupt.share]![plan.layout.data + corrupt.block * plan.blockSize + 7]! ^= 1;
    const dataReads: { share: number; first: number; last: number; length: number }[] = [];
    const readers = numbers.map((sn) => ({
      shareNumber: sn,
      read: async (offset: number, length: number) => {
        if (offset >= plan.layout.data && offset < plan.layout.plaintextHashTree) {
          const first = (offset - plan.layout.data) / plan.blockSize;
          dataReads.push({ share: sn, first, last: first + length / plan.blockSize - 1, length });
        }
        return shares[sn]!.subarray(offset, offset + length);
      },
    }));
    return { result, readers, dataReads };
  }

  it("a whole read asks each share for runs of whole blocks, none longer than runBytes", async () => {
    const { result, readers, dataReads } = await setUp([0, 1]);
    const out = await createChkDecoder(result.readCap, readers, { runBytes, wholeShareBytes: 0 }).readAll();
    expect(out.equals(plaintext)).toBe(true);
    expect(dataReads.every((r) => r.length <= runBytes && Number.isInteger(r.first))).toBe(true);
    for (const share of [0, 1]) {
      const runs = dataReads.filter((r) => r.share === share).sort((a, b) => a.first - b.first);
      expect(runs).toHaveLength(20);
      expect(runs.map((r) => r.first)).toEqual(Array.from({ length: 20 }, (_, i) => i * 5));
    }
  });

  it("ranges across run boundaries come back exact, fetching only the segments they touch", async () => {
    for (const [start, end] of [
      [1_900, 4_100],
      [1_999, 2_001],
      [0, 1],
      [39_999, 40_000],
      [12_345, 38_000],
    ] as const) {
      const { result, readers, dataReads } = await setUp([2, 3]);
      const out = await createChkDecoder(result.readCap, readers, { runBytes, wholeShareBytes: 0 }).readAll({
        start,
        end,
      });
      expect(out.equals(plaintext.subarray(start, end))).toBe(true);
      const blocks = new Set(
        dataReads.flatMap((r) => Array.from({ length: r.last - r.first + 1 }, (_, i) => r.first + i)),
      );
      const segments = Array.from(
        { length: Math.floor((end - 1) / 400) - Math.floor(start / 400) + 1 },
        (_, i) => Math.floor(start / 400) + i,
      );
      expect([...blocks].sort((a, b) => a - b)).toEqual(segments);
    }
  });

  it("a corrupt block inside a run drops that share for another, and the bytes stay right", async () => {
    const { result, readers } = await setUp([0, 1, 3], { share: 1, block: 47 });
    const failures: { shareNumber: number; code: unknown }[] = [];
    const decoder = createChkDecoder(result.readCap, readers, {
      runBytes,
      onShareFailure: (shareNumber, error) =>
        failures.push({ shareNumber, code: (error as { code?: unknown }).code }),
    });
    expect((await decoder.readAll()).equals(plaintext)).toBe(true);
    expect(failures).toEqual([{ shareNumber: 1, code: "TAHOE_ERR_IMMUTABLE_BLOCK_HASH" }]);
    expect(decoder.activeShares()).toEqual([0, 3]);
  });
});

describe("property: any size, k, n, segment size round-trips", () => {
  it("holds", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 700 }),
        async (size, k, extra, maxSegmentSize) => {
          const n = k + extra;
          const plaintext = pattern(size, size + k);
          const { result, shares } = await encode(plaintext, { k, n, maxSegmentSize });
          const numbers = Array.from({ length: k }, (_, i) => n - k + i);
          const out = await createChkDecoder(result.readCap, readersFor(shares, numbers)).readAll();
          expect(out.equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
