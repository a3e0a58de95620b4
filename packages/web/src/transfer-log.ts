/** One upload or download, running or finished, as the transfers page (/status) shows it. */
export interface WebTransfer {
  id: number;
  kind: "upload" | "download";
  /** A file name when the user gave one, else a shortened cap or "upload N". */
  name: string;
  /** Undefined while the size is not known (an upload without Content-Length). */
  totalBytes: number | undefined;
  doneBytes: number;
  /** ms since the epoch. */
  startedAt: number;
  finishedAt?: number;
  state: "active" | "done" | "failed" | "cancelled";
  /** The cap an upload produced. */
  cap?: string;
  /** Why it failed: the error's code and message. */
  error?: string;
  /** The storage servers that got shares (upload) or served blocks (download): nicknames or short ids. */
  servers?: string[];
}

/** What the node's control tub also counts (@lafs/control-tub's ActivityTracker has this shape). */
export interface ActivitySink {
  track(
    kind: "upload" | "download",
    name: string,
    totalBytes?: number,
  ): { progress(bytes: number): void; done(): void };
}

export interface TransferHandle {
  progress(bytes: number): void;
  /** Servers the transfer used so far (added to those already named). */
  usedServers(names: Iterable<string>): void;
  succeeded(result?: { cap?: string; servers?: Iterable<string> }): void;
  failed(error: unknown, cancelled?: boolean): void;
}

export interface TransferLog {
  track(kind: WebTransfer["kind"], name: string, totalBytes?: number): TransferHandle;
  /** Running ones first (oldest first), then finished ones (newest first). */
  list(): WebTransfer[];
}

/** How many servers one transfer names at most. */
const MAX_SERVERS_SHOWN = 64;

/** How many finished transfers the page keeps: a bounded history, the oldest dropped first. */
export const RECENT_TRANSFERS = 50;

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : String(error);
  return typeof e?.code === "string" ? `${e.code}: ${message}` : message;
}

/**
 * Records transfers for /status, passing each on to `activity` (the control tub's tracker) while
 * it runs. Memory is bounded: running transfers plus RECENT_TRANSFERS finished ones.
 */
export function createTransferLog(
  options: { activity?: ActivitySink | undefined; now?: () => number; recent?: number } = {},
): TransferLog {
  const now = options.now ?? Date.now;
  const keep = options.recent ?? RECENT_TRANSFERS;
  const active = new Map<number, WebTransfer>();
  const recent: WebTransfer[] = [];
  let next = 1;
  const finish = (t: WebTransfer) => {
    if (!active.delete(t.id)) return false;
    t.finishedAt = now();
    recent.unshift(t);
    if (recent.length > keep) recent.length = keep;
    return true;
  };
  return {
    track(kind, name, totalBytes) {
      const t: WebTransfer = {
        id: next++,
        kind,
        name,
        totalBytes,
        doneBytes: 0,
        startedAt: now(),
        state: "active",
      };
      active.set(t.id, t);
      const sink = options.activity?.track(kind, name, totalBytes);
      const used = new Set<string>();
      // Bounded: a grid has few servers, but a peer's nickname is not to be trusted with memory.
      const addServers = (names: Iterable<string>) => {
        for (const n of names) if (used.size < MAX_SERVERS_SHOWN) used.add(n.slice(0, 64));
        if (used.size > 0) t.servers = [...used];
      };
      return {
        progress(bytes) {
          t.doneBytes = Math.max(t.doneBytes, bytes);
          sink?.progress(bytes);
        },
        usedServers: addServers,
        succeeded(result) {
          if (!finish(t)) return;
          t.state = "done";
          if (t.totalBytes === undefined) t.totalBytes = t.doneBytes;
          if (result?.cap !== undefined) t.cap = result.cap;
          if (result?.servers !== undefined) addServers(result.servers);
          sink?.done();
        },
        failed(error, cancelled = false) {
          if (!finish(t)) return;
          t.state = cancelled ? "cancelled" : "failed";
          t.error = describe(error);
          sink?.done();
        },
      };
    },
    list: () =>
      [...active.values(), ...recent].map((t) =>
        t.servers === undefined ? { ...t } : { ...t, servers: [...t.servers] },
      ),
  };
}
