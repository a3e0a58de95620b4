import type { Readable } from "node:stream";
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
): Promise<Buffer> {
  if (contentLength !== undefined && /^[0-9]+$/.test(contentLength) && Number(contentLength) > limit) {
    return Promise.reject(tooLong(Number(contentLength)));
  }
  if (stream === undefined || stream === null) return Promise.resolve(Buffer.alloc(0));
  const input = stream as Readable;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        input.pause();
        reject(tooLong(undefined));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
  });
}
