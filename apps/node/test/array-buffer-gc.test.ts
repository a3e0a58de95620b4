import { describe, expect, it } from "vitest";
import { startArrayBufferGc } from "../src/array-buffer-gc.js";

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("startArrayBufferGc", () => {
  it("collects once ArrayBuffers grew by the slack, and measures the floor again after", async () => {
    let bytes = 10 * MB;
    const collections: number[] = [];
    const stop = startArrayBufferGc({
      slackBytes: 32 * MB,
      intervalMs: 5,
      minGapMs: 0,
      arrayBufferBytes: () => bytes,
      collect: () => {
        collections.push(bytes);
        bytes = 12 * MB;
      },
    });
    try {
      bytes = 40 * MB;
      await sleep(40);
      expect(collections).toEqual([]);
      bytes = 43 * MB;
      await sleep(40);
      expect(collections).toEqual([43 * MB]);
      // Grown by less than the slack over the new floor (12 MB): nothing more.
      bytes = 40 * MB;
      await sleep(40);
      expect(collections).toEqual([43 * MB]);
    } finally {
      stop();
    }
  });

  it("leaves at least minGapMs between two collections", async () => {
    let bytes = 0;
    let collections = 0;
    const stop = startArrayBufferGc({
      slackBytes: MB,
      intervalMs: 5,
      minGapMs: 10_000,
      arrayBufferBytes: () => bytes,
      collect: () => {
        collections++;
      },
    });
    try {
      bytes = 10 * MB;
      await sleep(60);
      expect(collections).toBe(1);
    } finally {
      stop();
    }
  });

  it("frees dead Buffers with V8's own collector, started without --expose-gc", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const stop = startArrayBufferGc({ slackBytes: 8 * MB, intervalMs: 5, minGapMs: 0 });
    try {
      for (let i = 0; i < 24; i++) Buffer.alloc(MB).fill(i);
      await sleep(100);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * MB);
      expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    } finally {
      stop();
    }
  });
});
