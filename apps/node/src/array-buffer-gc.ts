import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Dead ArrayBuffer bytes tolerated before a collection. */
export const ARRAY_BUFFER_SLACK = 16 * 1024 * 1024;
/** A fast transfer can make 20 to 40 MB of dead Buffers in 100 ms. */
const CHECK_INTERVAL_MS = 50;
/** Bounds the collections' CPU however fast Buffers die; V8's own collections still happen. */
const MIN_GAP_MS = 250;

export interface ArrayBufferGcOptions {
  /** Growth of ArrayBuffer bytes since the last collection that triggers the next; default 16 MiB. */
  readonly slackBytes?: number;
  readonly intervalMs?: number;
  /** Shortest time between two collections; default 250 ms. */
  readonly minGapMs?: number;
  /** Test seams: what is measured, and the collection itself. */
  readonly arrayBufferBytes?: () => number;
  readonly collect?: () => void;
}

/** V8's full collection, made callable without `node --expose-gc` (the flag only reaches new contexts). */
function fullCollection(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString("--expose-gc");
  try {
    return runInNewContext("gc") as () => void;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
}

/**
 * Collects garbage once the process's ArrayBuffers have grown by `slackBytes` since the last
 * collection. A transfer allocates MiB-sized Buffers (share blocks, TLS records, decrypted
 * segments) but few JS objects: the Buffers outlive the rare scavenges and wait for V8's
 * incremental full collections, which finish late, so during a 1 GiB transfer 50 to 90 MB of
 * the client's RSS was dead Buffers. This keeps it near 16 MiB, for some CPU (measured in
 * docs/performance.md, "Memory (issue 8)"). Returns the stop function; the timer never keeps
 * the process alive.
 */
export function startArrayBufferGc(options: ArrayBufferGcOptions = {}): () => void {
  const slack = options.slackBytes ?? ARRAY_BUFFER_SLACK;
  const measure = options.arrayBufferBytes ?? (() => process.memoryUsage().arrayBuffers);
  let collect = options.collect;
  const minGap = options.minGapMs ?? MIN_GAP_MS;
  let floor = measure();
  let last = Number.NEGATIVE_INFINITY;
  const timer = setInterval(() => {
    const now = measure();
    // Live buffers (many uploads at once) raise the floor, so they never cause a collection loop.
    if (now < floor) floor = now;
    if (now - floor < slack || performance.now() - last < minGap) return;
    collect ??= fullCollection();
    collect();
    last = performance.now();
    floor = measure();
  }, options.intervalMs ?? CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
