import type { FileHandle } from "node:fs/promises";
import { StorageServerError } from "./errors.js";

/** What a pool keeps per key: an open handle and whatever was learnt when it was opened. */
export interface Pooled {
  fh: FileHandle;
}

export interface HandlePoolOptions {
  /** Open handles kept at most; the least recently used idle one is closed beyond that. */
  max: number;
  /** An idle handle is closed after this many ms without use. */
  idleMs: number;
  /**
   * A handle this old is not handed out again (and is closed once its users let go), so a
   * file removed or replaced behind the server's back stops being served within that time.
   */
  maxAgeMs?: number;
  /** ms clock; real time by default (handles are a resource, not protocol state). */
  now?: () => number;
}

interface Entry<T extends Pooled> {
  value: Promise<T>;
  users: number;
  openedAt: number;
  lastUsed: number;
  /** Closed as soon as the last user lets go, and never handed out again. */
  doomed: boolean;
}

export interface Borrowed<T> {
  value: T;
  release(): void;
}

export type HandlePool<T extends Pooled> = ReturnType<typeof createHandlePool<T>>;

/**
 * A small LRU of open file handles, shared by concurrent users and closed when idle.
 * Opening a file costs two to three thread-pool round trips (open, fstat, header read);
 * a 1 MiB PATCH or read costs one, so reopening per request is most of the file work.
 */
export function createHandlePool<T extends Pooled>(o: HandlePoolOptions) {
  const now = o.now ?? (() => performance.now());
  const maxAge = o.maxAgeMs ?? Number.POSITIVE_INFINITY;
  // Map order is recency order: a use moves the entry to the end.
  const entries = new Map<string, Entry<T>>();
  let closed = false;

  async function closeEntry(entry: Entry<T>): Promise<void> {
    const value = await entry.value.catch(() => undefined);
    await value?.fh.close().catch(() => undefined);
  }

  function retire(key: string, entry: Entry<T>): Promise<void> {
    entry.doomed = true;
    if (entries.get(key) === entry) entries.delete(key);
    return entry.users === 0 ? closeEntry(entry) : Promise.resolve();
  }

  function trim(): void {
    if (entries.size <= o.max) return;
    for (const [key, entry] of entries) {
      if (entries.size <= o.max) break;
      if (entry.users === 0) void retire(key, entry);
    }
  }

  /** `acquire` without the validity check; says whether this call opened the file. */
  async function borrow(
    key: string,
    open: () => Promise<T>,
  ): Promise<Borrowed<T> & { opened: boolean; retire(): void }> {
    if (closed) {
      throw new StorageServerError(
        "TAHOE_ERR_STORAGE_SERVER_STOPPED",
        503,
        `the storage server is stopping; ${key} was not opened`,
        { hint: "try again once the server has restarted, or use another server" },
      );
    }
    const t = now();
    let entry = entries.get(key);
    if (entry && t - entry.openedAt >= maxAge) {
      void retire(key, entry);
      entry = undefined;
    }
    const opened = entry === undefined;
    if (entry) {
      entries.delete(key);
    } else {
      entry = { value: open(), users: 0, openedAt: t, lastUsed: t, doomed: false };
    }
    entries.set(key, entry);
    entry.users++;
    entry.lastUsed = t;
    const mine = entry;
    let value: T;
    try {
      value = await mine.value;
    } catch (error) {
      // A failed open is not cached: the next caller tries again.
      mine.users--;
      if (entries.get(key) === mine) entries.delete(key);
      throw error;
    }
    trim();
    let released = false;
    return {
      value,
      opened,
      retire: () => void retire(key, mine),
      release() {
        if (released) return;
        released = true;
        mine.users--;
        mine.lastUsed = now();
        if (mine.users === 0 && mine.doomed) void closeEntry(mine);
      },
    };
  }

  const timer = setInterval(() => void pool.sweep(), Math.max(50, Math.floor(o.idleMs / 2)));
  timer.unref();

  const pool = {
    /**
     * Borrows the handle for `key`, opening it with `open` on a miss (concurrent misses
     * share one open). On a hit, `stillValid` (if given) checks the handle still matches
     * its file; if not, the file is opened afresh. The caller must `release()` it exactly once.
     */
    async acquire(
      key: string,
      open: () => Promise<T>,
      stillValid?: (value: T) => Promise<boolean>,
    ): Promise<Borrowed<T>> {
      const borrowed = await borrow(key, open);
      if (stillValid === undefined || borrowed.opened) return borrowed;
      if (await stillValid(borrowed.value).catch(() => false)) return borrowed;
      // The file behind the handle changed (replaced, removed, resized): never serve it again.
      borrowed.retire();
      borrowed.release();
      return borrow(key, open);
    },

    /** Closes the handle of `key` (once its users let go) so the next acquire reopens the file. */
    drop(key: string): Promise<void> {
      const entry = entries.get(key);
      return entry ? retire(key, entry) : Promise.resolve();
    },

    /** Closes handles idle for `idleMs` or older than `maxAgeMs`. */
    async sweep(): Promise<void> {
      const t = now();
      const done: Promise<void>[] = [];
      for (const [key, entry] of entries) {
        if (entry.users === 0 && (t - entry.lastUsed >= o.idleMs || t - entry.openedAt >= maxAge)) {
          done.push(retire(key, entry));
        }
      }
      await Promise.all(done);
    },

    /** How many handles are open or opening; for tests. */
    size(): number {
      return entries.size;
    },

    /** Closes every handle now; borrowed ones close when released. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      await Promise.all([...entries].map(([key, entry]) => retire(key, entry)));
    },
  };
  return pool;
}
