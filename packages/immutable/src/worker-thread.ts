import { parentPort } from "node:worker_threads";
import type { WorkerReply, WorkerRequest, WorkerTaskResult } from "./worker-pool.js";

/**
 * The script every pool worker runs: imports a task's module once, calls the named export,
 * and posts the value back (moving the ArrayBuffers the task lists). Errors go back as data,
 * so the pool can raise them as typed errors in the main thread.
 */

type TaskFunction = (input: unknown) => WorkerTaskResult<unknown> | Promise<WorkerTaskResult<unknown>>;

const modules = new Map<string, Promise<Record<string, unknown>>>();

async function runTask(request: WorkerRequest): Promise<WorkerTaskResult<unknown>> {
  let loading = modules.get(request.module);
  if (loading === undefined) {
    loading = import(request.module) as Promise<Record<string, unknown>>;
    modules.set(request.module, loading);
  }
  const task = (await loading)[request.exportName];
  if (typeof task !== "function") {
    throw new Error(`${request.module} has no exported function ${request.exportName}`);
  }
  return (task as TaskFunction)(request.input);
}

const port = parentPort;
port?.on("message", (request: WorkerRequest) => {
  runTask(request).then(
    (result) => {
      const reply: WorkerReply = { id: request.id, ok: true, value: result.value };
      port.postMessage(reply, [...(result.transfer ?? [])]);
    },
    (error: unknown) => {
      const e = error as { message?: unknown; code?: unknown; hint?: unknown };
      const reply: WorkerReply = {
        id: request.id,
        ok: false,
        error: {
          message: typeof e?.message === "string" ? e.message : String(error),
          code: typeof e?.code === "string" ? e.code : undefined,
          hint: typeof e?.hint === "string" ? e.hint : undefined,
        },
      };
      port.postMessage(reply);
    },
  );
});
