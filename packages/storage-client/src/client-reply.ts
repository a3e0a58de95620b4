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

/**
 * Reads a whole reply body, stopping at `max` bytes. Plain 'data' events, not async iteration:
 * share reads are MiB-sized and this path is the client's hot loop.
 */
export function collect(body: Readable, max: number, tooLong: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.destroy();
        reject(tooLong());
        return;
      }
      chunks.push(chunk);
    });
    body.once("end", () => {
      if (chunks.length === 1) {
        resolve(chunks[0]!);
        return;
      }
      const whole = Buffer.concat(chunks, size);
      // Each chunk is one socket read, nothing else holds it: give its memory back now.
      for (const chunk of chunks) freeNow(chunk);
      resolve(whole);
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
