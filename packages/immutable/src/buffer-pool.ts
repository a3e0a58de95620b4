import { freeNow } from "./free-buffer.js";

/**
 * Buffers of one size that an encode pass hands out and gets back, so a large file does not
 * allocate (and free) MiB-sized buffers for every segment. Allocating and freeing them is what
 * fragments glibc's heap: once its dynamic mmap threshold has risen past a MiB, each such buffer
 * comes from the main heap, and buffers freed in a different order than they were made leave
 * holes the process keeps as RSS. Reused buffers keep the heap as it was after the first few
 * segments.
 *
 * A buffer must come back (`give`) only when nothing reads it any more: the next `take` hands
 * it out again and it is overwritten. A buffer never given back is simply left to the GC.
 */
export interface BufferPool {
  readonly size: number;
  /** An idle buffer of `size` bytes (contents left over from its last use), or a new one. */
  take(): Uint8Array;
  /** Takes `buffer` (one that take() gave) back for reuse; after close(), frees it instead. */
  give(buffer: Uint8Array): void;
  /** Frees the idle buffers; buffers given back later are freed at once. */
  close(): void;
}

/**
 * `maxIdleBytes` bounds what the pool keeps unused; the buffers in use are bounded by whoever
 * holds them (the uploader's per-share window), so the pool grows to that and no further.
 */
export function createBufferPool(size: number, maxIdleBytes: number): BufferPool {
  const idle: Uint8Array[] = [];
  const maxIdle = Math.max(1, Math.floor(maxIdleBytes / Math.max(1, size)));
  let closed = false;
  return {
    size,
    take: () => idle.pop() ?? new Uint8Array(size),
    give(buffer) {
      // A buffer the pool cannot hand out whole again (freed already, or not one of ours).
      if (buffer.byteLength !== size || buffer.buffer.byteLength !== size) return;
      // Given back twice, it would be handed out twice and written by two segments at once.
      if (idle.includes(buffer)) throw new Error("BufferPool: a buffer was given back twice");
      if (closed || idle.length >= maxIdle) freeNow(buffer);
      else idle.push(buffer);
    },
    close() {
      closed = true;
      for (const buffer of idle.splice(0)) freeNow(buffer);
    },
  };
}
