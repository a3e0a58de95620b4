import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isTahoeError } from "@lafs/interface";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CoderImplementation, createErasureCoder, ErasureCoderError } from "../src/index.js";
import { isWasmSimdAvailable } from "../src/zfec/wasm-simd-kernel.js";
import {
  coderFactories,
  hex,
  plainCoder,
  primaryBlocks,
  pseudoRandomBytes,
  subsets,
} from "./zfec-helpers.js";

/** Every block of the code: the primaries, then the check blocks. */
function allBlocks(primary: Uint8Array[], checks: Uint8Array[]): Uint8Array[] {
  return [...primary, ...checks];
}

describe.each(coderFactories)("zfec coder ($label)", ({ label, make }) => {
  it("reports k, n and its kernel", () => {
    const coder = make(3, 10);
    expect([coder.k, coder.n]).toEqual([3, 10]);
    if (label === "plain" || label === "table" || label === "wasm-simd")
      expect(coder.implementation).toBe(label);
    else expect(coder.implementation).toBe(isWasmSimdAvailable() ? "wasm-simd" : "table");
  });

  it("decodes from every k-subset, in given and reversed order, for every (k, n) with n <= 6", () => {
    for (let n = 1; n <= 6; n++) {
      for (let k = 1; k <= n; k++) {
        const coder = make(k, n);
        const primary = primaryBlocks(k, 19, k * 10 + n);
        const blocks = allBlocks(primary, coder.encode(primary));
        for (const indices of subsets(n, k)) {
          for (const order of [indices, [...indices].reverse()]) {
            const decoded = coder.decode(
              order.map((i) => blocks[i]!),
              order,
            );
            expect(decoded.map(hex), `k=${k} n=${n} indices=${order}`).toEqual(primary.map(hex));
          }
        }
      }
    }
  });

  it.each([
    [1, 1, 4097],
    [1, 256, 17],
    [3, 10, 4097],
    [3, 10, 1],
    [7, 7, 3],
    [2, 3, 100_003],
    [25, 100, 17],
    [101, 256, 3],
    [200, 256, 1],
    [256, 256, 5],
  ])("round-trips (k=%i, n=%i) with %i-byte blocks, from random subsets", (k, n, length) => {
    const coder = make(k, n);
    const primary = primaryBlocks(k, length, k + n + length);
    const checks = coder.encode(primary);
    expect(checks).toHaveLength(n - k);
    for (const check of checks) expect(check).toHaveLength(length);
    const blocks = allBlocks(primary, checks);
    for (let trial = 0; trial < 3; trial++) {
      // Fisher-Yates over the indices, driven by deterministic bytes.
      const order = Array.from({ length: n }, (_, i) => i);
      const dice = pseudoRandomBytes(n * 2, trial + 1);
      for (let i = n - 1; i > 0; i--) {
        const j = ((dice[2 * i]! << 8) | dice[2 * i + 1]!) % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      // Trial 0 prefers check blocks (the hardest decode); the others are random.
      const chosen = trial === 0 ? order.sort((a, b) => b - a).slice(0, k) : order.slice(0, k);
      const decoded = coder.decode(
        chosen.map((i) => blocks[i]!),
        chosen,
      );
      expect(decoded.map(hex)).toEqual(primary.map(hex));
    }
  });

  it("handles empty blocks", () => {
    const coder = make(3, 10);
    const checks = coder.encode([new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
    expect(checks.map((c) => c.length)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(coder.decode(checks.slice(0, 3), [3, 4, 5]).map((b) => b.length)).toEqual([0, 0, 0]);
  });

  it("k = n has no check blocks and decodes to the blocks as given", () => {
    const coder = make(4, 4);
    const primary = primaryBlocks(4, 9, 1);
    expect(coder.encode(primary)).toEqual([]);
    const decoded = coder.decode([primary[2]!, primary[0]!, primary[3]!, primary[1]!], [2, 0, 3, 1]);
    decoded.forEach((block, i) => {
      expect(block).toBe(primary[i]);
    });
  });

  it("k = 1 makes every check block a copy of the data", () => {
    const data = pseudoRandomBytes(33, 5);
    const checks = make(1, 5).encode([data]);
    for (const check of checks) expect(hex(check)).toBe(hex(data));
  });

  it("accepts unaligned views of a larger buffer and Buffers", () => {
    const backing = pseudoRandomBytes(3 * 1001 + 3, 11);
    const views = [0, 1, 2].map((i) => backing.subarray(1 + i * 1001, 1 + (i + 1) * 1001));
    const copies = views.map((v) => Buffer.from(v));
    const coder = make(3, 10);
    expect(coder.encode(views).map(hex)).toEqual(plainCoder(3, 10).encode(copies).map(hex));
    const checks = coder.encode(copies);
    expect(coder.decode([views[1]!, checks[6]!, checks[0]!], [1, 9, 3]).map(hex)).toEqual(copies.map(hex));
  });

  it("does not change its inputs, and repeated or interleaved calls agree", () => {
    const a = make(3, 10);
    const b = make(5, 9);
    const pa = primaryBlocks(3, 50_001, 3);
    const pb = primaryBlocks(5, 777, 4);
    const before = [...pa, ...pb].map(hex);
    const first = a.encode(pa).map(hex);
    const other = b.encode(pb).map(hex);
    expect(a.encode(pa).map(hex)).toEqual(first);
    expect(b.encode(pb).map(hex)).toEqual(other);
    const checks = a.encode(pa);
    expect(a.decode([checks[0]!, checks[1]!, checks[2]!], [3, 4, 5]).map(hex)).toEqual(pa.map(hex));
    expect(a.encode(pa).map(hex)).toEqual(first);
    expect([...pa, ...pb].map(hex)).toEqual(before);
  });

  it("writes check blocks into the caller's dirty, longer or unaligned buffers, the same bytes", () => {
    const coder = make(3, 7);
    for (const length of [0, 5, 4096, 50_001]) {
      const primary = primaryBlocks(3, length, 8);
      const fresh = coder.encode(primary).map(hex);
      // Left-over bytes of an earlier use, and one view that starts at an odd offset.
      const into = [
        pseudoRandomBytes(length, 13),
        pseudoRandomBytes(length + 100, 14),
        pseudoRandomBytes(length + 9, 12).subarray(1, length + 1),
        pseudoRandomBytes(length + 9, 15).subarray(3),
      ];
      const written = coder.encode(primary, into);
      expect(written.map(hex)).toEqual(fresh);
      written.forEach((block, i) => {
        expect(block.buffer).toBe(into[i]!.buffer);
        expect(block.length).toBe(length);
      });
    }
  });

  describe("rejects bad input", () => {
    it.each([
      [0, 3],
      [4, 3],
      [1, 257],
      [2.5, 3],
      [Number.NaN, 3],
      [-1, 10],
    ])("k=%s, n=%s", (k, n) => {
      expect(() => make(k, n)).toThrow(
        expect.objectContaining({
          code: "TAHOE_ERR_IMMUTABLE_CODER_PARAMS",
          message: expect.stringContaining(`k=${k}, n=${n}`),
          hint: expect.stringContaining("1 <= k <= n <= 256"),
        }),
      );
    });

    const coder = make(3, 5);
    const ok = primaryBlocks(3, 8, 2);

    it("the wrong number of blocks", () => {
      expect(() => coder.encode(ok.slice(0, 2))).toThrow(
        expect.objectContaining({
          code: "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
          message: expect.stringContaining("2 primary blocks, but k=3"),
        }),
      );
      expect(() => coder.decode([...ok, ok[0]!], [0, 1, 2, 3])).toThrow(
        expect.objectContaining({ code: "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS" }),
      );
    });

    it("output buffers too few or too short", () => {
      expect(() => coder.encode(ok, [new Uint8Array(8)])).toThrow(
        expect.objectContaining({
          code: "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
          message: expect.stringContaining("1 output buffers; it needs 2 of at least 8 bytes"),
        }),
      );
      expect(() => coder.encode(ok, [new Uint8Array(8), new Uint8Array(7)])).toThrow(
        expect.objectContaining({ code: "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS" }),
      );
    });

    it("blocks of different lengths", () => {
      const short = [ok[0]!, ok[1]!.subarray(1), ok[2]!];
      expect(() => coder.encode(short)).toThrow(
        expect.objectContaining({
          code: "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
          message: expect.stringContaining("block 1 of the primary blocks is 7 bytes long, but block 0 is 8"),
        }),
      );
      expect(() => coder.decode(short, [0, 1, 2])).toThrow(
        expect.objectContaining({ code: "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS" }),
      );
    });

    it("something that is not a Uint8Array", () => {
      const bad = [ok[0]!, "text", ok[2]!] as unknown as Uint8Array[];
      expect(() => coder.encode(bad)).toThrow(
        expect.objectContaining({
          code: "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS",
          message: expect.stringContaining("block 1"),
        }),
      );
    });

    it.each([
      [[0, 1, 1], "block index 1 appears more than once"],
      [[0, 1, 5], "index 2 is 5, which is not a share number of 3-of-5"],
      [[0, 1, -1], "index 2 is -1"],
      [[0, 1.5, 2], "index 1 is 1.5"],
      [[0, 1], "decode was given 2 block indices for k=3"],
    ])("indices %j", (indices, message) => {
      expect(() => coder.decode(ok, indices)).toThrow(
        expect.objectContaining({
          code: "TAHOE_ERR_IMMUTABLE_CODER_INDICES",
          message: expect.stringContaining(message),
        }),
      );
    });
  });
});

it("createErasureCoder rejects an unknown implementation name", () => {
  const implementation = "turbo" as CoderImplementation;
  expect(() => createErasureCoder(3, 10, { implementation })).toThrow(
    expect.objectContaining({
      code: "TAHOE_ERR_IMMUTABLE_CODER_PARAMS",
      message: expect.stringContaining('"turbo"'),
    }),
  );
});

it("createErasureCoder throws ErasureCoderError, a TahoeError", () => {
  let caught: unknown;
  try {
    createErasureCoder(0, 0);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ErasureCoderError);
  expect(isTahoeError(caught)).toBe(true);
});

describe("all kernels give identical bytes (property)", () => {
  const fastCoders = coderFactories.filter((f) => f.label !== "plain");

  it("for random (k, n), block length and data, encode agrees with plain and decode inverts it", () => {
    const params = fc
      .record({ n: fc.integer({ min: 1, max: 80 }), kPart: fc.double({ min: 0, max: 1, noNaN: true }) })
      .map(({ n, kPart }) => ({ n, k: Math.max(1, Math.round(kPart * n)) }));
    fc.assert(
      fc.property(
        params,
        fc.integer({ min: 0, max: 300 }),
        fc.integer(),
        fc.integer(),
        ({ k, n }, length, seed, pick) => {
          const primary = primaryBlocks(k, length, seed);
          const expected = plainCoder(k, n).encode(primary).map(hex);
          const blocks = [...primary, ...plainCoder(k, n).encode(primary)];
          const order = Array.from({ length: n }, (_, i) => i).sort(
            (a, b) => (((a * 2654435761) ^ pick) % 1009) - (((b * 2654435761) ^ pick) % 1009),
          );
          const chosen = order.slice(0, k);
          for (const { label, make } of fastCoders) {
            const coder = make(k, n);
            expect(coder.encode(primary).map(hex), label).toEqual(expected);
            const decoded = coder.decode(
              chosen.map((i) => blocks[i]!),
              chosen,
            );
            expect(decoded.map(hex), label).toEqual(primary.map(hex));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("on blocks longer than one WASM chunk, with lengths not a multiple of 16", () => {
    fc.assert(
      fc.property(fc.integer({ min: 26_000, max: 70_000 }), fc.integer(), (length, seed) => {
        const primary = primaryBlocks(3, length, seed);
        const expected = plainCoder(3, 10).encode(primary).map(hex);
        for (const { label, make } of fastCoders)
          expect(make(3, 10).encode(primary).map(hex), label).toEqual(expected);
      }),
      { numRuns: 5 },
    );
  });
});

describe("fallback without WebAssembly", () => {
  it('"fast" uses the table kernel and gives the same bytes', () => {
    // A child Node without the WebAssembly global, running this package's source through tsx.
    const entry = fileURLToPath(new URL("../src/zfec/index.ts", import.meta.url));
    const script = `
      const { createErasureCoder } = await import(process.argv[1]);
      const blocks = JSON.parse(process.argv[2]).map((b) => Uint8Array.from(b));
      const coder = createErasureCoder(3, 10);
      console.log(JSON.stringify({ implementation: coder.implementation, checks: coder.encode(blocks).map((c) => Array.from(c)) }));
    `;
    const primary = primaryBlocks(3, 37, 9);
    const run = spawnSync(
      process.execPath,
      [
        "--no-expose-wasm",
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        script,
        entry,
        JSON.stringify(primary.map((b) => Array.from(b))),
      ],
      { encoding: "utf8" },
    );
    expect(run.stderr).toBe("");
    const result = JSON.parse(run.stdout) as { implementation: string; checks: number[][] };
    expect(result.implementation).toBe("table");
    expect(result.checks.map((c) => hex(Uint8Array.from(c)))).toEqual(
      plainCoder(3, 10).encode(primary).map(hex),
    );
  });
});
