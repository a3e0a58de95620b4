import { StorageServerError } from "./errors.js";

export interface ByteBudget {
  /**
   * Waits (first come, first served) until `bytes` fit in the budget, then holds them until
   * the returned release is called. Fails with 503 after `waitMs`.
   */
  acquire(bytes: number, what: string): Promise<() => void>;
  /** Bytes held now; for tests. */
  held(): number;
}

/**
 * A server-wide allowance of bytes that requests may hold in memory at once, so many
 * concurrent large bodies cost the budget, not their number times the body limit.
 */
export function createByteBudget(total: number, waitMs: number): ByteBudget {
  let used = 0;
  const waiting: { bytes: number; grant: () => void }[] = [];

  function pump(): void {
    while (waiting.length > 0 && used + waiting[0]!.bytes <= total) {
      const next = waiting.shift()!;
      used += next.bytes;
      next.grant();
    }
  }

  function releaser(bytes: number): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      used -= bytes;
      pump();
    };
  }

  return {
    acquire(wanted, what) {
      const bytes = Math.min(wanted, total);
      if (waiting.length === 0 && used + bytes <= total) {
        used += bytes;
        return Promise.resolve(releaser(bytes));
      }
      return new Promise((resolve, reject) => {
        const entry = { bytes, grant: () => {} };
        const timer = setTimeout(() => {
          const at = waiting.indexOf(entry);
          if (at >= 0) waiting.splice(at, 1);
          pump();
          reject(
            new StorageServerError(
              "TAHOE_ERR_STORAGE_SERVER_BUSY",
              503,
              `${what}: waited ${waitMs} ms for room to hold its ${bytes}-byte body; ${total} bytes of request bodies are held at once`,
              { hint: "try again shortly, or use another server" },
            ),
          );
        }, waitMs);
        timer.unref();
        entry.grant = () => {
          clearTimeout(timer);
          resolve(releaser(bytes));
        };
        waiting.push(entry);
      });
    },
    held: () => used,
  };
}
