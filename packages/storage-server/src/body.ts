import type { Readable } from "node:stream";
import { freeNow } from "@lafs/immutable";
import type { StorageServerError } from "./errors.js";

/**
 * Reads a request body of at most `limit` bytes. A Content-Length over the limit fails
 * before a byte is read; a body that grows past it fails as soon as it does. The stream
 * is left paused, not destroyed, so the error response can still go out (with
 * Connection: close, set by the error handler).
 */
export function readBody(
  stream: unknown,
  contentLength: string | undefined,
  limit: number,
  tooLong: (size: number | undefined) => StorageServerError,
  idle?: IdleLimit,
  /** Each chunk is a buffer of its own (see PatchBody.freshPieces): free it once copied. */
  freshChunks = false,
): Promise<Buffer> {
  const declared =
    contentLength !== undefined && /^[0-9]+$/.test(contentLength) ? Number(contentLength) : undefined;
  if (declared !== undefined && declared > limit) return Promise.reject(tooLong(declared));
  if (stream === undefined || stream === null) return Promise.resolve(Buffer.alloc(0));
  const input = stream as Readable;
  return new Promise((resolve, reject) => {
    // With a Content-Length (always, from Tahoe's client) the chunks land in one buffer of
    // that size: no list of chunks and no second copy to join them.
    let whole: Buffer | undefined = declared === undefined ? undefined : Buffer.allocUnsafe(declared);
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = idleTimer(idle, () => {
      cleanup();
      input.pause();
      reject(idle!.error());
    });
    const cleanup = () => {
      timer.stop();
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
      input.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      timer.restart();
      const at = size;
      size += chunk.length;
      if (size > limit) {
        cleanup();
        input.pause();
        reject(tooLong(undefined));
        return;
      }
      if (whole !== undefined && size <= whole.length) {
        chunk.copy(whole, at);
        if (freshChunks) freeNow(chunk);
        return;
      }
      if (whole !== undefined) {
        chunks.push(whole.subarray(0, at));
        whole = undefined;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(whole !== undefined ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(endedEarly());
    };
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
    input.on("close", onClose);
    timer.restart();
    if (closedBeforeListening(input)) onClose();
  });
}

/** How long a body may send nothing, and the error it then fails with. */
export interface IdleLimit {
  ms: number;
  error: () => StorageServerError;
}

/** A restartable timer that fires `onIdle` after `idle.ms` without a restart; inert without a limit. */
function idleTimer(idle: IdleLimit | undefined, onIdle: () => void) {
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return {
    stop,
    restart() {
      if (idle === undefined) return;
      // refresh() re-arms the same timer: cheaper than a new one per received chunk.
      if (timer !== undefined) timer.refresh();
      else timer = setTimeout(onIdle, idle.ms);
    },
  };
}

function endedEarly(): Error {
  return Object.assign(new Error("the request body ended early"), { code: "ECONNRESET" });
}

/**
 * A request can be cancelled while its handler waits (for the share's lock, say): its stream
 * was destroyed before these listeners existed and will emit nothing more, so waiting for
 * 'end' or 'close' would hold the lock, and every later request for the share, forever.
 */
function closedBeforeListening(input: Readable): boolean {
  return input.destroyed && !input.readableEnded;
}

/** Receives a body's pieces in order; `offset` is where the first piece starts in the body. */
export type BodySink = (pieces: Buffer[], offset: number) => Promise<void>;

/**
 * Like `readBody`, but hands the body to `sink` in batches of about `batchBytes` as it
 * arrives, so writing to disk overlaps receiving; no batch is copied. At most
 * `maxInFlight` batches wait on the sink before the stream is paused. Resolves to the
 * body's length once every batch has been written; on any failure, first waits until
 * no sink call is running, so nothing lands on disk after the promise settles.
 */
export function streamBody(
  stream: unknown,
  contentLength: string | undefined,
  limit: number,
  tooLong: (size: number | undefined) => StorageServerError,
  sink: BodySink,
  batchBytes: number,
  maxInFlight = 2,
  idle?: IdleLimit,
): Promise<number> {
  const declared =
    contentLength !== undefined && /^[0-9]+$/.test(contentLength) ? Number(contentLength) : undefined;
  if (declared !== undefined && declared > limit) return Promise.reject(tooLong(declared));
  if (stream === undefined || stream === null) return Promise.resolve(0);
  const input = stream as Readable;
  return new Promise((resolve, reject) => {
    let batch: Buffer[] = [];
    let batchSize = 0;
    let size = 0;
    let sent = 0;
    let inFlight = 0;
    let failure: unknown;
    let ended = false;
    let settled = false;
    const running = new Set<Promise<void>>();
    // Counts only while the body is ours to wait for: not while the disk holds it paused.
    const timer = idleTimer(idle, () => fail(idle!.error()));

    const cleanup = () => {
      timer.stop();
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
      input.off("close", onClose);
    };
    const settle = () => {
      if (settled || running.size > 0) return;
      if (failure === undefined && !ended) return;
      settled = true;
      if (failure !== undefined) reject(failure);
      else resolve(size);
    };
    const fail = (error: unknown) => {
      if (failure !== undefined) return;
      failure = error;
      cleanup();
      input.pause();
      settle();
    };
    const send = () => {
      if (batchSize === 0) return;
      const pieces = batch;
      const offset = sent;
      sent += batchSize;
      batch = [];
      batchSize = 0;
      inFlight++;
      if (inFlight >= maxInFlight) {
        input.pause();
        timer.stop();
      }
      const done: Promise<void> = sink(pieces, offset).then(
        () => {
          running.delete(done);
          inFlight--;
          if (failure === undefined && !ended && inFlight < maxInFlight && input.isPaused()) {
            input.resume();
            timer.restart();
          }
          settle();
        },
        (error: unknown) => {
          running.delete(done);
          inFlight--;
          fail(error);
          settle();
        },
      );
      running.add(done);
    };
    const onData = (chunk: Buffer) => {
      if (!input.isPaused()) timer.restart();
      size += chunk.length;
      if (size > limit) {
        fail(tooLong(undefined));
        return;
      }
      batch.push(chunk);
      batchSize += chunk.length;
      if (batchSize >= batchBytes) send();
    };
    const onEnd = () => {
      cleanup();
      send();
      ended = true;
      settle();
    };
    const onError = (error: Error) => fail(error);
    // A client that goes away mid-body ends the stream with "close" and no "end".
    const onClose = () => fail(endedEarly());
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
    input.on("close", onClose);
    timer.restart();
    if (closedBeforeListening(input)) onClose();
  });
}
