import type { StorageClient } from "./client.js";

/**
 * A PATCH goes out once this many bytes are queued: twice Tahoe's `batch_size` (wire-formats
 * §2.10; every GBS server takes any body size up to the allocation). Each request costs the
 * client, the TLS connection and the server more than its bytes: on an idle 2-core machine a
 * 100 MiB upload used 14% less CPU over the client and four servers than with 1,000,000 and ran
 * 10% faster, at the same client peak RSS (docs/performance.md, "Issue 23: request sizes (session 4)").
 */
export const DEFAULT_BATCH_SIZE = 2_000_000;

export interface BucketOptions {
  readonly client: StorageClient;
  readonly storageIndex: Uint8Array;
  readonly shareNumber: number;
  readonly uploadSecret: Uint8Array;
  readonly batchSize: number;
  /**
   * PATCHes of this bucket in flight at once; default 1. Two keep a server busy while the
   * previous reply travels back, which matters when each server holds a single share.
   */
  readonly maxInFlight?: number | undefined;
  readonly signal: AbortSignal | undefined;
  /** Called once, with the first error of any write: the owner decides what it means for the server. */
  readonly onFailure: (error: unknown) => void;
  /** Called after each acknowledged PATCH with its body length. */
  readonly onSent: (bytes: number) => void;
}

/**
 * One share being written to one server: bytes arrive in ascending, contiguous order and go
 * out as PATCHes of about `batchSize` bytes, started in ascending order, at most `maxInFlight`
 * at a time (a GBS server accepts them in any order and the share is complete when every
 * range is written, whichever PATCH finishes last).
 */
export interface BucketWriter {
  readonly shareNumber: number;
  readonly uploadSecret: Uint8Array;
  /**
   * Queues bytes for `offset`, which must be where the previous call ended. `onAcked` runs once
   * the server has acknowledged the PATCH that carried them (never if it fails): from then on
   * nothing here reads `data`, so its owner may free it.
   */
  write(offset: number, data: Uint8Array, onAcked?: () => void): void;
  /** Sends whatever is queued, even if it is less than a batch. */
  flush(): void;
  /** Bytes queued or in flight; the uploader waits for this to shrink before encoding more. */
  buffered(): number;
  /** Resolves when the bytes not yet acknowledged drop to `limit` or less (or the bucket failed). */
  drainTo(limit: number): Promise<void>;
  /** Resolves when every PATCH flushed so far has been answered (or the bucket failed). */
  settled(): Promise<void>;
  /** The server answered 201: every byte of the share is written. */
  readonly complete: boolean;
  readonly failed: boolean;
  /**
   * Stops sending: later writes are dropped and PATCHes in flight are cancelled, so an abort
   * sent next does not wait behind them for a connection.
   */
  kill(): void;
}

interface Batch {
  readonly offset: number;
  /** The encoder's pieces, sent as one body without being joined. */
  readonly body: readonly Uint8Array[];
  readonly length: number;
  readonly acked: readonly (() => void)[];
}

/** How much of a body's first and last pieces go out on their own (see withSmallEnds). */
const END_PIECE = 1024;

/**
 * Splits a small piece off both ends of a body. The head: undici corks the socket for the
 * request head and the first body piece, and a corked TLS socket copies everything it gathered
 * into one new buffer before encrypting it; with a whole block as the first piece that is a
 * third of the share bytes copied and allocated once more. The tail: after a piece the socket
 * cannot take at once, undici waits for 'drain' before it marks the request as sent, and a reply
 * that arrives first (the server has every byte by then) makes it drop the connection, so the
 * next PATCH paid for a new TCP and TLS handshake on both sides. A last piece small enough to
 * be taken at once ends the request in the same tick as its write.
 */
function withSmallEnds(pieces: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const piece of pieces) if (piece.length > 0) out.push(piece);
  const first = out[0];
  if (first !== undefined && first.length > END_PIECE) {
    out.splice(0, 1, first.subarray(0, END_PIECE), first.subarray(END_PIECE));
  }
  const last = out[out.length - 1];
  if (last !== undefined && last.length > END_PIECE) {
    out.splice(
      out.length - 1,
      1,
      last.subarray(0, last.length - END_PIECE),
      last.subarray(last.length - END_PIECE),
    );
  }
  return out;
}

export function createBucketWriter(options: BucketOptions): BucketWriter {
  const { client, storageIndex, shareNumber, uploadSecret } = options;
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  const cancel = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  let queued: Uint8Array[] = [];
  let queuedAcks: (() => void)[] = [];
  let queuedBytes = 0;
  let queuedOffset = 0;
  let nextOffset = 0;
  /** Flushed bodies waiting for a free slot, oldest first. */
  let waiting: Batch[] = [];
  /** Bytes flushed and not yet answered: waiting plus in flight. */
  let unanswered = 0;
  let active = 0;
  /** Woken whenever a PATCH is answered or the bucket fails. */
  let wake: (() => void) | undefined;
  let complete = false;
  let failed = false;

  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const changed = () =>
    new Promise<void>((resolve) => {
      const previous = wake;
      wake = () => {
        previous?.();
        resolve();
      };
    });

  const drop = () => {
    queued = [];
    queuedAcks = [];
    queuedBytes = 0;
    for (const b of waiting) unanswered -= b.length;
    waiting = [];
  };

  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    drop();
    options.onFailure(error);
    notify();
  };

  const send = async ({ offset, body, length, acked }: Batch) => {
    try {
      const result = await client.write(storageIndex, shareNumber, offset, body, uploadSecret, { signal });
      options.onSent(length);
      if (result.complete) complete = true;
      // The reply came after the server read the whole body, so the socket is done with it.
      for (const onAcked of acked) onAcked();
    } catch (error) {
      fail(error);
    } finally {
      active--;
      unanswered -= length;
      pump();
      notify();
    }
  };

  const pump = () => {
    while (!failed && active < maxInFlight && waiting.length > 0) {
      active++;
      void send(waiting.shift()!);
    }
  };

  const flush = () => {
    if (failed || queuedBytes === 0) return;
    waiting.push({
      offset: queuedOffset,
      body: withSmallEnds(queued),
      length: queuedBytes,
      acked: queuedAcks,
    });
    unanswered += queuedBytes;
    queued = [];
    queuedAcks = [];
    queuedBytes = 0;
    queuedOffset = nextOffset;
    pump();
  };

  return {
    shareNumber,
    uploadSecret,
    write(offset, data, onAcked) {
      if (failed) return;
      if (data.length === 0) {
        onAcked?.();
        return;
      }
      if (offset !== nextOffset) {
        // The encoder writes every share contiguously; anything else is a bug upstream.
        throw new Error(`share ${shareNumber}: write at ${offset}, expected ${nextOffset}`);
      }
      queued.push(data);
      if (onAcked !== undefined) queuedAcks.push(onAcked);
      queuedBytes += data.length;
      nextOffset += data.length;
      if (queuedBytes >= options.batchSize) flush();
    },
    flush,
    buffered: () => queuedBytes + unanswered,
    async drainTo(limit) {
      while (!failed && unanswered > limit && active > 0) await changed();
    },
    async settled() {
      while (active > 0) await changed();
    },
    get complete() {
      return complete;
    },
    get failed() {
      return failed;
    },
    kill() {
      failed = true;
      drop();
      if (active > 0) cancel.abort(new Error(`share ${shareNumber}: upload stopped`));
      notify();
    },
  };
}
