import { canFreeNow, closeSharedWorkerPool } from "@lafs/immutable";
import { createNode, type NodeOptions, type TahoeNode } from "./node.js";

export interface RunNodeOptions extends NodeOptions {
  /** Called once the node runs (the CLI prints its ready line here). */
  onReady?: (node: TahoeNode) => void | Promise<void>;
  /** Stops the node when aborted, as a stop signal does. */
  signal?: AbortSignal;
  /** Process signals that stop the node; default SIGINT and SIGTERM. */
  stopSignals?: readonly NodeJS.Signals[];
}

/**
 * `tahoe run`: starts the node, reports it ready, runs until a stop signal (or `signal` is
 * aborted), then stops every service and releases BASEDIR. Resolves once stopped; rejects when
 * start fails (nothing is left running then).
 */
export async function runNode(basedir: string, options: RunNodeOptions = {}): Promise<TahoeNode> {
  let requestStop = () => {};
  // `tahoe stop` through the control tub stops the node the way a signal does.
  const node = createNode(basedir, { ...options, requestStop: () => requestStop() });
  const signals = options.stopSignals ?? ["SIGINT", "SIGTERM"];
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  // Listening before start() means a signal during start is not lost: the node stops right after.
  const onSignal = () => requestStop();
  for (const s of signals) process.on(s, onSignal);
  const onAbort = () => requestStop();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) requestStop();
  try {
    await node.start();
    // On Node 20 the first freeNow makes a vm context (about 20 ms of CPU): do that while the
    // node is idle just after start, not inside its first transfer.
    const warmFreeNow = setTimeout(canFreeNow, 200);
    warmFreeNow.unref();
    try {
      await options.onReady?.(node);
      await stopRequested;
    } finally {
      clearTimeout(warmFreeNow);
      await node.stop();
      // The hashing and decoding threads (started by the first large download) go with the node.
      await closeSharedWorkerPool();
    }
    return node;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
