import type { Readable } from "node:stream";
import { freeNow } from "@lafs/immutable";
import type { CallErrors } from "./client-call-errors.js";
import { type CborValue, decodeBody, ShapeError } from "./messages.js";

export const CBOR = "application/cbor";
export const OCTETS = "application/octet-stream";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function headerValue(headers: Reply["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function mediaType(headers: Reply["headers"]): string | undefined {
  return headerValue(headers, "content-type")?.split(";")[0]?.trim().toLowerCase();
}

/** Largest Content-Length `collect` allocates up front; share reads ask for runs of up to 2 MiB (RUN_BYTES). */
const PREALLOCATE_MAX = 8 * 1024 * 1024;

/**
 * Reads a whole reply body, stopping at `max` bytes. Plain 'data' events, not async iteration:
 * share reads are MiB-sized and this path is the client's hot loop. With the reply's
 * Content-Length (`expected`) the body is copied into one buffer of that size as it arrives
 * (a 1 MiB share read comes as 65 TLS records); without it, or if the body outgrows it, the
 * records are kept and joined at the end. Either way the result is a buffer of its own, exactly
 * the body's length, which nothing else holds.
 */
export function collect(
  body: Readable,
  max: number,
  tooLong: () => Error,
  expected?: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Allocated before a byte arrives, so bounded below `max` too: a header alone buys no more.
    const preallocate = expected !== undefined && expected > 0 && expected <= Math.min(max, PREALLOCATE_MAX);
    let whole = preallocate ? Buffer.allocUnsafeSlow(expected) : undefined;
    const chunks: Buffer[] = [];
    const copied: Buffer[] = [];
    let size = 0;
    body.on("data", (chunk: Buffer) => {
      if (size + chunk.length > max) {
        body.destroy();
        reject(tooLong());
        return;
      }
      if (whole !== undefined && size + chunk.length <= whole.length) {
        chunk.copy(whole, size);
        // Earlier socket reads are parsed to the end once a record from a later one arrives
        // (undici parses them in order); the current one may still hold unparsed bytes.
        freeSpent(copied, chunk);
      } else {
        if (whole !== undefined) {
          // Longer than its Content-Length said: keep what came so far as the first piece.
          chunks.push(whole.subarray(0, size));
          whole = undefined;
        }
        chunks.push(chunk);
      }
      size += chunk.length;
    });
    body.once("end", () => {
      // Each chunk is one socket read, nothing else holds it now: give its memory back.
      for (const chunk of copied) freeNow(chunk);
      if (whole !== undefined) {
        resolve(size === whole.length ? whole : Buffer.from(whole.subarray(0, size)));
        return;
      }
      if (chunks.length === 1) {
        resolve(chunks[0]!);
        return;
      }
      const joined = Buffer.concat(chunks, size);
      for (const chunk of chunks) freeNow(chunk);
      resolve(joined);
    });
    body.once("error", reject);
  });
}

/**
 * The request's outcome, or the abort's reason as soon as `signal` fires: undici only cancels a
 * request once it has a connection, and a hung server's TLS handshake holds that back for the
 * whole connect timeout. A reply that still comes later has its body thrown away.
 */
export function settleOnAbort<T extends { body: Readable }>(
  pending: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  const dropLateReply = () =>
    pending.then(
      (late) => late.body.destroy(),
      () => {},
    );
  if (signal.aborted) {
    dropLateReply();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      dropLateReply();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (res) => {
        signal.removeEventListener("abort", onAbort);
        resolve(res);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** A CBOR reply's value as `parse` reads it; a wrong type or shape is the server's protocol error. */
export function cborReply<T>(
  errors: CallErrors,
  operation: string,
  reply: Reply,
  parse: (value: CborValue) => T,
): T {
  const type = mediaType(reply.headers);
  if (type !== CBOR) {
    throw errors.protocol(
      operation,
      `the HTTP ${reply.status} reply has Content-Type '${type ?? "(none)"}' instead of ${CBOR}`,
      reply.status,
    );
  }
  try {
    return parse(decodeBody(reply.body));
  } catch (err) {
    if (err instanceof ShapeError) {
      throw errors.protocol(operation, `malformed reply: ${err.message}`, reply.status, err);
    }
    throw err;
  }
}

/**
 * Frees the copied records whose memory is not `current`'s: undici makes each record a view of
 * the socket read it parses, and parses those in order, so an earlier read is finished with.
 * (Freeing the current one cut bodies short: a parser paused by backpressure unshifts the rest
 * of that read, a view of the same memory, back into the socket.)
 */
function freeSpent(copied: Buffer[], current: Buffer): void {
  let kept = 0;
  for (const chunk of copied) {
    if (chunk.buffer === current.buffer) copied[kept++] = chunk;
    else freeNow(chunk);
  }
  copied.length = kept;
  copied.push(current);
}
