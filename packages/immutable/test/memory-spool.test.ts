import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ClosableByteSource, createSpoolBudget, spoolStream } from "../src/index.js";
import { bodyPieces, expectSpoolCapOf, pattern } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "lafs-immutable-memory-spool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MIB = 1 << 20;

async function readAll(source: ClosableByteSource): Promise<Buffer> {
  const out = Buffer.alloc(source.size);
  const target = new Uint8Array(MIB);
  for (let at = 0; at < source.size; at += target.length) {
    const n = await source.readInto!(at, target);
    out.set(target.subarray(0, n), at);
  }
  return out;
}

function hashing(): { onChunk: (chunk: Uint8Array) => void; digest: () => string } {
  const hash = createHash("sha256");
  return { onChunk: (chunk) => hash.update(chunk), digest: () => hash.digest("hex") };
}

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("spoolStream: small bodies in memory, large ones in a file", () => {
  const data = pattern(3_500_001, 5);

  for (const freeChunks of [true, false]) {
    it(`keeps a body under the limit in memory, every byte readable (freeChunks ${freeChunks})`, async () => {
      const budget = createSpoolBudget(8 * MIB);
      const seen = hashing();
      const spool = await spoolStream(bodyPieces(data), {
        directory: dir,
        onChunk: seen.onChunk,
        freeChunks,
        memory: { maxBytes: 4 * MIB, budget },
      });
      try {
        expect(readdirSync(dir)).toEqual([]);
        expect(budget.used).toBe(data.length);
        expect(spool.size).toBe(data.length);
        expect((await readAll(spool)).equals(data)).toBe(true);
        expect(Buffer.from(await spool.read(1_000_000, 2_600_000)).equals(data.subarray(1_000_000))).toBe(
          true,
        );
        expect(seen.digest()).toBe(sha(data));
      } finally {
        await spool.close();
      }
      expect(budget.used).toBe(0);
    });
  }

  it("moves a body that outgrows the limit to a file, with every byte once", async () => {
    const budget = createSpoolBudget(8 * MIB);
    const seen = hashing();
    const spool = await spoolStream(bodyPieces(data), {
      directory: dir,
      onChunk: seen.onChunk,
      freeChunks: true,
      memory: { maxBytes: 2 * MIB, budget },
    });
    try {
      expect(readdirSync(dir)).toHaveLength(1);
      expect(budget.used).toBe(0);
      expect(spool.size).toBe(data.length);
      expect((await readAll(spool)).equals(data)).toBe(true);
      expect(seen.digest()).toBe(sha(data));
    } finally {
      await spool.close();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("moves a body to a file when other spools hold the budget", async () => {
    const budget = createSpoolBudget(4 * MIB);
    expect(budget.take(3 * MIB)).toBe(true);
    const spool = await spoolStream(bodyPieces(data), {
      directory: dir,
      memory: { maxBytes: 4 * MIB, budget },
    });
    try {
      expect(readdirSync(dir)).toHaveLength(1);
      expect((await readAll(spool)).equals(data)).toBe(true);
    } finally {
      await spool.close();
    }
    expect(budget.used).toBe(3 * MIB);
  });

  it("sends a body announced over the limit straight to a file", async () => {
    const budget = createSpoolBudget(8 * MIB);
    const spool = await spoolStream(bodyPieces(data), {
      directory: dir,
      memory: { maxBytes: MIB, budget },
      expectedSize: data.length,
    });
    try {
      expect(readdirSync(dir)).toHaveLength(1);
      expect((await readAll(spool)).equals(data)).toBe(true);
    } finally {
      await spool.close();
    }
  });

  it("gives the memory back when the body breaks off, in memory or after moving to a file", async () => {
    const budget = createSpoolBudget(8 * MIB);
    for (const maxBytes of [4 * MIB, MIB]) {
      await expect(
        spoolStream(bodyPieces(data, new Error("connection reset")), {
          directory: dir,
          memory: { maxBytes, budget },
        }),
      ).rejects.toThrow("connection reset");
      expect(budget.used).toBe(0);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it("an upload from memory gets the cap of the same bytes from a buffer", async () => {
    const spool = await spoolStream(bodyPieces(data), {
      freeChunks: true,
      memory: { maxBytes: 4 * MIB, budget: createSpoolBudget(4 * MIB) },
    });
    await expectSpoolCapOf(spool, data);
  });
});
