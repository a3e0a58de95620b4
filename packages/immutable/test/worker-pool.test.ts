import { afterAll, describe, expect, it } from "vitest";
import { createWorkerPool, WorkerPoolError } from "../src/index.js";

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
