import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/**
 * A fixed, small set of worker threads that run CPU-heavy functions (hashing, AES, erasure
 * coding) off the main thread, so the main thread only does I/O. Generic: a task names an ES
 * module (by URL) and one of its exports; the worker imports the module once and calls the
 * export with the input. A task module's export takes the input and returns (or resolves to)
 * a WorkerTaskResult; ArrayBuffers listed in `transfer` move instead of being copied.
 *
 * Workers start on the first task, one more whenever every running one is busy, up to `size`.
 * An idle pool keeps no process alive (its workers are unref'd while no task is pending). A
 * task that throws in the worker rejects with TAHOE_ERR_WORKER_TASK; a worker that dies (or
 * fails to load) rejects every task it held with TAHOE_ERR_WORKER_EXITED and is replaced on the
 * next task; close() rejects what is pending with TAHOE_ERR_WORKER_CLOSED. No task waits forever
 * on a worker that is gone.
 */
export interface WorkerPool {
  /** Workers at most. */
  readonly size: number;
  /** Workers running now. */
  running(): number;
  /**
   * Runs `exportName` of the module at `module` on a worker. Buffers listed in `transfer` are
   * detached here (moved to the worker): the caller must own them whole and not read them after.
   */
  run<T>(module: URL, exportName: string, input: unknown, transfer?: readonly ArrayBuffer[]): Promise<T>;
  /** Stops every worker; pending tasks reject with TAHOE_ERR_WORKER_CLOSED. Later tasks start new workers. */
  close(): Promise<void>;
}

/** A task as posted to a worker thread (worker-thread.ts). */
export interface WorkerRequest {
  readonly id: number;
  readonly module: string;
  readonly exportName: string;
  readonly input: unknown;
}

/** A worker thread's answer: the task's value, or its error as data. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { message: string; code?: string | undefined; hint?: string | undefined };
    };

/** What a task function returns: its value, and which of the value's ArrayBuffers to move back. */
export interface WorkerTaskResult<T> {
  readonly value: T;
  readonly transfer?: readonly ArrayBuffer[] | undefined;
}

export type WorkerPoolErrorCode =
  | "TAHOE_ERR_WORKER_TASK"
  | "TAHOE_ERR_WORKER_EXITED"
  | "TAHOE_ERR_WORKER_CLOSED";

/** A task failed in, or with, its worker thread. `taskCode` is the code the task threw, if any. */
export class WorkerPoolError extends TahoeError {
  declare readonly code: WorkerPoolErrorCode;
  readonly taskCode: string | undefined;

  constructor(
    code: WorkerPoolErrorCode,
    message: string,
    options: TahoeErrorOptions & { taskCode?: string } = {},
  ) {
    super(code, message, options);
    this.taskCode = options.taskCode;
  }
}

export interface WorkerPoolOptions {
  /** Workers at most; default one less than the cores, at least 1 and at most 4. */
  readonly size?: number | undefined;
  /** Names the threads (seen in a debugger or a CPU profile). */
  readonly name?: string | undefined;
}

/** One less than the cores, so the main thread keeps one: 1 on a 2-core machine, at most 4. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly what: string;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  gone: boolean;
}

/**
 * The compiled module `fileName` next to the module at `importMetaUrl`. A worker thread runs
 * JavaScript only: where the caller is TypeScript source (vitest), the package's built dist/
 * copy is used, so build the package before such tests. In the CLI bundle, import.meta.url
 * names the original dist file (apps/cli/scripts/bundle.mjs), so this finds the file there.
 */
export function siblingModule(fileName: string, importMetaUrl: string): URL {
  return importMetaUrl.endsWith(".ts")
    ? new URL(`../dist/${fileName}`, importMetaUrl)
    : new URL(`./${fileName}`, importMetaUrl);
}

const THREAD_SCRIPT = siblingModule("worker-thread.js", import.meta.url);

const startHooks = new Set<() => void>();

/**
 * Runs `hook` on this thread each time a pool worker has started (any pool's); returns a function
 * that removes it. Why it exists: V8 clamps the process-wide --semi-space-growth-factor to at
 * least 2 whenever it configures a new isolate's heap, so a worker starting undoes a factor of 1
 * set at run time (`tahoe run` does, apps/cli node-runtime.ts), and this thread's young
 * generation then grew to 2 x 16 MB during downloads: the 35 to 40 MB of client RSS the decoder's
 * worker seemed to cost (docs/performance.md, "Issue 23: download (session 3)").
 */
export function onWorkerStart(hook: () => void): () => void {
  startHooks.add(hook);
  return () => {
    startHooks.delete(hook);
  };
}

export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const size = options.size ?? defaultWorkerCount();
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`a worker pool needs a whole number of workers >= 1, not ${size}`);
  }
  const name = options.name ?? "lafs-worker";
  const threads: Thread[] = [];
  let nextId = 1;

  const drop = (thread: Thread, error: WorkerPoolError) => {
    if (thread.gone) return;
    thread.gone = true;
    threads.splice(threads.indexOf(thread), 1);
    for (const task of thread.pending.values()) task.reject(error);
    thread.pending.clear();
  };

  const start = (): Thread => {
    const worker = new Worker(THREAD_SCRIPT, { name: `${name}-${threads.length + 1}` });
    const thread: Thread = { worker, pending: new Map(), gone: false };
    worker.unref();
    worker.once("online", () => {
      for (const hook of startHooks) hook();
    });
    worker.on("message", (reply: WorkerReply) => {
      const task = thread.pending.get(reply.id);
      if (task === undefined) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      if (reply.ok) task.resolve(reply.value);
      else {
        const { error } = reply;
        task.reject(
          new WorkerPoolError(
            "TAHOE_ERR_WORKER_TASK",
            `${task.what} failed in a worker thread: ${error.message}`,
            {
              hint: error.hint ?? "This is a bug in the task, not in your input; report it with the message.",
              ...(error.code === undefined ? {} : { taskCode: error.code }),
            },
          ),
        );
      }
    });
    worker.on("error", (error) => {
      drop(
        thread,
        new WorkerPoolError("TAHOE_ERR_WORKER_EXITED", `worker thread ${name} failed: ${error.message}`, {
          hint: "The tasks it held were lost; a new worker starts for the next task. Report this if it repeats.",
          cause: error,
        }),
      );
    });
    worker.on("exit", (exitCode) => {
      drop(
        thread,
        new WorkerPoolError(
          "TAHOE_ERR_WORKER_EXITED",
          `worker thread ${name} exited (code ${exitCode}) with tasks pending`,
          {
            hint: "The tasks it held were lost; a new worker starts for the next task. Report this if it repeats.",
          },
        ),
      );
    });
    threads.push(thread);
    return thread;
  };

  /** The least busy worker, or a new one while every worker has work and there is room. */
  const pick = (): Thread => {
    let best: Thread | undefined;
    for (const t of threads) if (best === undefined || t.pending.size < best.pending.size) best = t;
    if (best === undefined || (best.pending.size > 0 && threads.length < size)) return start();
    return best;
  };

  return {
    size,
    running: () => threads.length,
    run<T>(module: URL, exportName: string, input: unknown, transfer: readonly ArrayBuffer[] = []) {
      const thread = pick();
      const id = nextId++;
      const what = `${exportName} (${module.pathname.split("/").at(-1)})`;
      return new Promise<T>((resolve, reject) => {
        thread.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, what });
        thread.worker.ref();
        const request: WorkerRequest = { id, module: module.href, exportName, input };
        try {
          thread.worker.postMessage(request, [...transfer]);
        } catch (error) {
          thread.pending.delete(id);
          if (thread.pending.size === 0) thread.worker.unref();
          reject(
            new WorkerPoolError(
              "TAHOE_ERR_WORKER_TASK",
              `${what} could not be sent to a worker thread: ${(error as Error).message}`,
              {
                hint: "The input must be structured-cloneable and every transferred ArrayBuffer attached and listed once.",
                cause: error,
              },
            ),
          );
        }
      });
    },
    async close() {
      const closing = threads.splice(0);
      for (const thread of closing) {
        drop(
          thread,
          new WorkerPoolError("TAHOE_ERR_WORKER_CLOSED", `worker pool ${name} closed with tasks pending`, {
            hint: "The node is stopping; the work was cancelled.",
          }),
        );
      }
      await Promise.all(closing.map((t) => t.worker.terminate()));
    },
  };
}

let shared: WorkerPool | undefined;

/**
 * The process's one pool, started lazily (no thread until the first task): downloads and
 * uploads share it so the workers never outnumber the cores.
 */
export function sharedWorkerPool(): WorkerPool {
  shared ??= createWorkerPool({ name: "lafs-shared-worker" });
  return shared;
}

/** Stops the shared pool's workers (a node calls this as it stops); a later task restarts them. */
export async function closeSharedWorkerPool(): Promise<void> {
  await shared?.close();
}
