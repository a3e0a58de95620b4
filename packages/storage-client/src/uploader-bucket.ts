import type { StorageClient } from "./client.js";

/** Tahoe's `batch_size`: a PATCH goes out once this many bytes are queued (wire-formats §2.10). */
export const DEFAULT_BATCH_SIZE = 1_000_000;

export interface BucketOptions {
  readonly client: StorageClient;
  readonly storageIndex: Uint8Array;
  readonly shareNumber: number;
  readonly uploadSecret: Uint8Array;
  readonly batchSize: number;
  readonly signal: AbortSignal | undefined;
  /** Called once, with the first error of any write: the owner decides what it means for the server. */
  readonly onFailure: (error: unknown) => void;
  /** Called after each acknowledged PATCH with its body length. */
  readonly onSent: (bytes: number) => void;
}

/**
 * One share being written to one server: bytes arrive in ascending, contiguous order and go
 * out as PATCHes of about `batchSize` bytes, one at a time per bucket (a GBS server accepts
 * them in any order, but ascending order is what Tahoe sends and what the spec describes).
 */
export interface BucketWriter {
  readonly shareNumber: number;
  readonly uploadSecret: Uint8Array;
  /** Queues bytes for `offset`, which must be where the previous call ended. */
  write(offset: number, data: Uint8Array): void;
  /** Sends whatever is queued, even if it is less than a batch. */
  flush(): void;
  /** Bytes queued or in flight; the uploader waits for this to shrink before encoding more. */
  buffered(): number;
  /** Resolves when the bytes in flight drop to `limit` or less (or the bucket failed). */
  drainTo(limit: number): Promise<void>;
  /** Resolves when every PATCH sent so far has been answered (or the bucket failed). */
  settled(): Promise<void>;
  /** The server answered 201: every byte of the share is written. */
  readonly complete: boolean;
  readonly failed: boolean;
  /** Stops sending; later writes are dropped. */
  kill(): void;
}

export function createBucketWriter(options: BucketOptions): BucketWriter {
  const { client, storageIndex, shareNumber, uploadSecret } = options;
  let queued: Uint8Array[] = [];
  let queuedBytes = 0;
  let queuedOffset = 0;
  let nextOffset = 0;
  let inFlightBytes = 0;
  /** One promise per PATCH not yet answered, oldest first; each resolves, never rejects. */
  const sends: Promise<void>[] = [];
  let tail: Promise<void> = Promise.resolve();
  let complete = false;
  let failed = false;

  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    queued = [];
    queuedBytes = 0;
    options.onFailure(error);
  };

  const send = async (offset: number, body: Uint8Array) => {
    if (failed) return;
    try {
      const result = await client.write(
        storageIndex,
        shareNumber,
        offset,
        body,
        uploadSecret,
        options.signal ? { signal: options.signal } : {},
      );
      options.onSent(body.length);
      if (result.complete) complete = true;
    } catch (error) {
      fail(error);
    }
  };

  const flush = () => {
    if (failed || queuedBytes === 0) return;
    const body = queued.length === 1 ? queued[0]! : Buffer.concat(queued, queuedBytes);
    const offset = queuedOffset;
    const bytes = queuedBytes;
    queued = [];
    queuedBytes = 0;
    queuedOffset = nextOffset;
    inFlightBytes += bytes;
    const entry: Promise<void> = tail
      .then(() => send(offset, body))
      .then(() => {
        inFlightBytes -= bytes;
        sends.splice(sends.indexOf(entry), 1);
      });
    sends.push(entry);
    tail = entry;
  };

  return {
    shareNumber,
    uploadSecret,
    write(offset, data) {
      if (failed || data.length === 0) return;
      if (offset !== nextOffset) {
        // The encoder writes every share contiguously; anything else is a bug upstream.
        throw new Error(`share ${shareNumber}: write at ${offset}, expected ${nextOffset}`);
      }
      queued.push(data);
      queuedBytes += data.length;
      nextOffset += data.length;
      if (queuedBytes >= options.batchSize) flush();
    },
    flush,
    buffered: () => queuedBytes + inFlightBytes,
    async drainTo(limit) {
      while (!failed && inFlightBytes > limit && sends.length > 0) await sends[0];
    },
    settled: () => tail,
    get complete() {
      return complete;
    },
    get failed() {
      return failed;
    },
    kill() {
      failed = true;
      queued = [];
      queuedBytes = 0;
    },
  };
}
