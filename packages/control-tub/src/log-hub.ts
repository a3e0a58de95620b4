import type { LogFn, Logger } from "@lafs/interface";
import { redactFields, redactText } from "./redact.js";

/** pino's numeric levels, so a pino tool can read the stream. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

export function isLogLevelName(text: string): text is LogLevelName {
  return Object.hasOwn(LOG_LEVELS, text);
}

/** One structured log event in pino's shape, plus a sequence number for followers. */
export interface LogEvent {
  /** 1, 2, 3 ... in the order the hub saw them. */
  seq: number;
  level: number;
  /** Milliseconds since the epoch. */
  time: number;
  msg: string;
  [field: string]: unknown;
}

export interface LogBatch {
  events: LogEvent[];
  /** Events this follower lost since its last batch because its queue was full. */
  dropped: number;
  /** The follower was closed; no more batches come. */
  closed: boolean;
}

/** A live reader of the hub: a bounded queue that counts what it had to drop. */
export interface LogFollower {
  /** Waits for at least one event (or a drop count, or closing) and takes everything queued. */
  take(): Promise<LogBatch>;
  close(): void;
  /** Total events dropped so far. */
  readonly droppedTotal: number;
}

export interface LogHub {
  /** The node's logger: every call becomes an event in the ring buffer and in each follower. */
  readonly logger: Logger;
  /** The buffered events at or above `level`, newest first, at most `limit`. */
  recent(options?: { level?: LogLevelName; limit?: number }): LogEvent[];
  follow(options?: { level?: LogLevelName; queueLimit?: number }): LogFollower;
}

export interface LogHubOptions {
  /** How many events the ring buffer keeps; default 10,000. */
  capacity?: number;
  /** Lowest level recorded at all; default debug. */
  level?: LogLevelName;
  now?: () => number;
}

export const DEFAULT_LOG_CAPACITY = 10_000;
export const DEFAULT_FOLLOWER_QUEUE = 20_000;

interface FollowerState {
  minLevel: number;
  limit: number;
  queue: LogEvent[];
  dropped: number;
  droppedTotal: number;
  closed: boolean;
  wake: (() => void) | undefined;
}

/**
 * A hand-written pino-shaped logger (pino's async destinations would hide drops from us) that
 * keeps the newest events in a ring buffer and fans each one out to followers. A follower that
 * falls behind loses events, never memory: its queue is bounded and the loss is counted and
 * reported with its next batch.
 */
export function createLogHub(options: LogHubOptions = {}): LogHub {
  const capacity = options.capacity ?? DEFAULT_LOG_CAPACITY;
  const floor = LOG_LEVELS[options.level ?? "debug"];
  const now = options.now ?? Date.now;
  const ring: (LogEvent | undefined)[] = new Array(capacity);
  let seq = 0;
  const followers = new Set<FollowerState>();

  function record(level: number, bindings: Record<string, unknown>, args: unknown[]): void {
    if (level < floor) return;
    const [first, second] = args;
    let fields: Record<string, unknown> = {};
    let msg = "";
    if (typeof first === "string") msg = first;
    else if (first !== null && typeof first === "object") {
      fields = first as Record<string, unknown>;
      if (typeof second === "string") msg = second;
    }
    seq += 1;
    const event: LogEvent = {
      ...redactFields({ ...bindings, ...fields }),
      seq,
      level,
      time: now(),
      msg: redactText(msg),
    };
    ring[(seq - 1) % capacity] = event;
    for (const f of followers) {
      if (f.closed || level < f.minLevel) continue;
      if (f.queue.length >= f.limit) {
        f.dropped += 1;
        f.droppedTotal += 1;
      } else f.queue.push(event);
      f.wake?.();
    }
  }

  function makeLogger(bindings: Record<string, unknown>): Logger {
    const at =
      (level: number): LogFn =>
      (...args: unknown[]) =>
        record(level, bindings, args);
    return {
      trace: at(LOG_LEVELS.trace),
      debug: at(LOG_LEVELS.debug),
      info: at(LOG_LEVELS.info),
      warn: at(LOG_LEVELS.warn),
      error: at(LOG_LEVELS.error),
      fatal: at(LOG_LEVELS.fatal),
      child: (more) => makeLogger({ ...bindings, ...more }),
    };
  }

  return {
    logger: makeLogger({}),

    recent({ level = "trace", limit = capacity } = {}) {
      const min = LOG_LEVELS[level];
      const out: LogEvent[] = [];
      for (let s = seq; s > Math.max(0, seq - capacity) && out.length < limit; s--) {
        const event = ring[(s - 1) % capacity]!;
        if (event.level >= min) out.push(event);
      }
      return out;
    },

    follow({ level = "trace", queueLimit = DEFAULT_FOLLOWER_QUEUE } = {}) {
      const state: FollowerState = {
        minLevel: LOG_LEVELS[level],
        limit: queueLimit,
        queue: [],
        dropped: 0,
        droppedTotal: 0,
        closed: false,
        wake: undefined,
      };
      followers.add(state);
      const drain = (): LogBatch => {
        const batch = { events: state.queue, dropped: state.dropped, closed: state.closed };
        state.queue = [];
        state.dropped = 0;
        return batch;
      };
      return {
        async take() {
          if (state.queue.length === 0 && state.dropped === 0 && !state.closed) {
            await new Promise<void>((resolve) => {
              state.wake = resolve;
            });
            state.wake = undefined;
          }
          return drain();
        },
        close() {
          state.closed = true;
          followers.delete(state);
          state.wake?.();
        },
        get droppedTotal() {
          return state.droppedTotal;
        },
      };
    },
  };
}

/** One logger that writes to both: the node's own log hub and a logger the caller passed in. */
export function teeLogger(a: Logger, b: Logger): Logger {
  const both =
    (name: Exclude<keyof Logger, "child">): LogFn =>
    (...args: unknown[]) => {
      (a[name] as (...x: unknown[]) => void)(...args);
      (b[name] as (...x: unknown[]) => void)(...args);
    };
  return {
    trace: both("trace"),
    debug: both("debug"),
    info: both("info"),
    warn: both("warn"),
    error: both("error"),
    fatal: both("fatal"),
    child: (bindings) => teeLogger(a.child(bindings), b.child(bindings)),
  };
}
