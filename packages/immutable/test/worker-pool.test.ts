import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  bufferShareReader,
  type CorruptShareError,
  createChkDecoder,
  createWorkerPool,
  isCorruptShareError,
  onWorkerStart,
  WorkerPoolError,
} from "../src/index.js";
import { encode, pattern, readersFor } from "./helpers.js";

const TASKS = new URL("./fixtures/worker-tasks.mjs", import.meta.url);

describe("worker pool", () => {
  const pool = createWorkerPool({ size: 2, name: "test-pool" });
  afterAll(() => pool.close());

  it("starts no thread until the first task, runs tasks, and moves listed buffers both ways", async () => {
    expect(pool.running()).toBe(0);
    const bytes = new Uint8Array(100_000).fill(3);
    const result = await pool.run<{ sum: number; echo: Uint8Array; threadId: number }>(
      TASKS,
      "sumAndEcho",
      { bytes },
      [bytes.buffer],
    );
    expect(result.sum).toBe(300_000);
    expect(result.echo.length).toBe(100_000);
    expect(result.threadId).toBeGreaterThan(0);
    // Moved, not copied: the sender's view is detached.
    expect(bytes.length).toBe(0);
    expect(pool.running()).toBe(1);
  });

  it("uses a second worker while the first is busy, and no more than its size", async () => {
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() =>
        pool.run<{ threadId: number }>(TASKS, "sumAndEcho", { bytes: new Uint8Array(8) }),
      ),
    );
    expect(new Set(runs.map((r) => r.threadId)).size).toBe(2);
    expect(pool.running()).toBe(2);
  });

  it("raises a task's own error as TAHOE_ERR_WORKER_TASK with its code and hint", async () => {
    const error = await pool.run(TASKS, "throwCoded", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerPoolError);
    expect((error as WorkerPoolError).code).toBe("TAHOE_ERR_WORKER_TASK");
    expect((error as WorkerPoolError).taskCode).toBe("TAHOE_ERR_TEST_BAD");
    expect((error as WorkerPoolError).message).toContain("the input was bad on purpose");
    expect((error as WorkerPoolError).hint).toBe("give it a good input");
  });

  it("names a missing export", async () => {
    const error = await pool.run(TASKS, "noSuchTask", {}).catch((e: unknown) => e);
    expect((error as WorkerPoolError).code).toBe("TAHOE_ERR_WORKER_TASK");
    expect((error as Error).message).toContain("noSuchTask");
  });

  it("rejects the tasks of a worker that exits, and starts a new one for the next task", async () => {
    const small = createWorkerPool({ size: 1 });
    try {
      const pending = small.run(TASKS, "slow", { ms: 5_000 }).catch((e: unknown) => e);
      const exit = small.run(TASKS, "exitThread", {}).catch((e: unknown) => e);
      for (const p of [pending, exit]) {
        const error = await p;
        expect((error as WorkerPoolError).code).toBe("TAHOE_ERR_WORKER_EXITED");
      }
      expect(await small.run(TASKS, "slow", { ms: 1 })).toBe("done");
    } finally {
      await small.close();
    }
  });

  it("rejects pending tasks with TAHOE_ERR_WORKER_CLOSED when closed", async () => {
    const small = createWorkerPool({ size: 1 });
    const pending = small.run(TASKS, "slow", { ms: 10_000 });
    const caught = pending.catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await small.close();
    const error = await caught;
    expect((error as WorkerPoolError).code).toBe("TAHOE_ERR_WORKER_CLOSED");
    expect(small.running()).toBe(0);
  });

  it("refuses a buffer that cannot be moved as a typed error, not a throw from run", async () => {
    const bytes = new Uint8Array(16);
    const error = await pool
      .run(TASKS, "sumAndEcho", { bytes }, [bytes.buffer, bytes.buffer])
      .catch((e: unknown) => e);
    expect((error as WorkerPoolError).code).toBe("TAHOE_ERR_WORKER_TASK");
  });
});

describe("onWorkerStart", () => {
  it("runs its hook on this thread once per worker started, until removed", async () => {
    const pool = createWorkerPool({ size: 2, name: "hook-pool" });
    let calls = 0;
    const remove = onWorkerStart(() => {
      calls++;
    });
    try {
      await Promise.all([1, 2, 3].map(() => pool.run(TASKS, "sumAndEcho", { bytes: new Uint8Array(8) })));
      // "online" may come just after the first answers.
      for (let i = 0; i < 50 && calls < pool.running(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(pool.running()).toBe(2);
      expect(calls).toBe(2);
      remove();
      await pool.close();
      await pool.run(TASKS, "sumAndEcho", { bytes: new Uint8Array(8) });
      await new Promise((r) => setTimeout(r, 100));
      expect(calls).toBe(2);
    } finally {
      remove();
      await pool.close();
    }
  });

  it("lets a process keep its young generation capped once a worker has started", () => {
    // In a fresh node: a growth factor of 1 set at run time (as `tahoe run` does), a pool worker
    // started (V8 raises the process-wide factor back to 2 as it makes the worker's heap), then
    // JS garbage on the main thread. Without the hook the young generation grew 4x here.
    const script = `
      import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
      import { createWorkerPool, onWorkerStart } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const cap = () => setFlagsFromString("--semi-space-growth-factor=1");
      cap();
      if (process.argv[2] === "hook") onWorkerStart(cap);
      const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
      const churn = () => { let a = []; for (let i = 0; i < 4e6; i++) { a.push({ i }); if (a.length > 20000) a = []; } };
      churn();
      const before = newSpace();
      const pool = createWorkerPool({ size: 1 });
      await pool.run(new URL(${JSON.stringify(TASKS.href)}), "sumAndEcho", { bytes: new Uint8Array(8) });
      await new Promise((r) => setTimeout(r, 50));
      churn(); churn();
      console.log(JSON.stringify({ before, after: newSpace() }));
      await pool.close();
    `;
    const dir = mkdtempSync(join(tmpdir(), "young-gen-"));
    try {
      const file = join(dir, "young-gen.mjs");
      writeFileSync(file, script);
      const run = (mode: string) => {
        const child = spawnSync(process.execPath, [file, mode], { encoding: "utf8", timeout: 60_000 });
        expect(child.status, child.stderr).toBe(0);
        return JSON.parse(child.stdout) as { before: number; after: number };
      };
      const hooked = run("hook");
      expect(hooked.after).toBe(hooked.before);
      const bare = run("none");
      expect(bare.after).toBeGreaterThan(bare.before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("decoding on a worker pool", () => {
  const pool = createWorkerPool({ size: 1 });
  afterAll(() => pool.close());
  // 300 KiB in 64 KiB segments at 2-of-4: 32 KiB blocks, runs of several segments on the worker.
  const plaintext = pattern(300 * 1024, 7);
  const params = { k: 2, n: 4, maxSegmentSize: 64 * 1024 };

  it("yields the same bytes as decoding in the calling thread, for the whole file and a range", async () => {
    const { result, shares } = await encode(plaintext, params);
    const { cap } = result;
    for (const range of [{}, { start: 70_000, end: 200_001 }]) {
      const there = await createChkDecoder(cap, readersFor(shares, [2, 3]), { workers: pool }).readAll(range);
      const here = await createChkDecoder(cap, readersFor(shares, [2, 3]), { workers: false }).readAll(range);
      expect(there.equals(here)).toBe(true);
      expect(there.equals(plaintext.subarray(range.start ?? 0, range.end ?? plaintext.length))).toBe(true);
    }
  });

  it("finds a corrupt block on the worker, drops that share and reads the file from the others", async () => {
    const { result, shares } = await encode(plaintext, params);
    const { cap } = result;
    const damaged = Buffer.from(shares[0]!);
    // A byte inside block 2 of share 0 (the data starts after the header; any data byte will do).
    const middle = damaged.length >> 1;
    damaged[middle] = damaged[middle]! ^ 0x40;
    const failures: { shareNumber: number; error: unknown }[] = [];
    const decoder = createChkDecoder(
      cap,
      [bufferShareReader(0, damaged), ...[1, 2, 3].map((sn) => bufferShareReader(sn, shares[sn]!))],
      { workers: pool, onShareFailure: (shareNumber, error) => failures.push({ shareNumber, error }) },
    );
    expect((await decoder.readAll()).equals(plaintext)).toBe(true);
    expect(failures.map((f) => f.shareNumber)).toEqual([0]);
    expect(isCorruptShareError(failures[0]!.error)).toBe(true);
    expect((failures[0]!.error as CorruptShareError).code).toMatch(
      /^TAHOE_ERR_IMMUTABLE_(BLOCK_HASH|SHARE_HASH)$/,
    );
    expect(decoder.activeShares()).not.toContain(0);
  });
});
