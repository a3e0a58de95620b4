import type { IncomingMessage } from "node:http";
import { bodyError } from "./disconnect.js";
import { WebError } from "./errors.js";

/** How much of an upload body the web front takes, and how long it waits for the next bytes. */
export interface BodyLimits {
  /** Bytes; no limit when absent. */
  maxBytes?: number | undefined;
  /** A body that sends nothing for this long fails with 408 (a client that hung, or whose machine died). */
  idleMs: number;
}

/** Five minutes: longer than any pause of a client that still works, short of holding a spool for ever. */
export const BODY_IDLE_MS = 5 * 60_000;

/**
 * Passes a request body through, failing once it grows past `limits.maxBytes`, so nothing is
 * buffered, or once no byte came for `limits.idleMs`. A body that breaks off fails with
 * TAHOE_ERR_WEB_DISCONNECTED when the client went away, or with what `otherwise` makes of the
 * stream's error (a malformed form, say). Every failure ends the node's upload, and so its spool.
 */
export async function* limitedBody(
  source: AsyncIterable<Uint8Array>,
  limits: BodyLimits,
  raw: IncomingMessage,
  otherwise: (error: unknown) => unknown = bodyCutShort,
): AsyncIterable<Uint8Array> {
  const max = limits.maxBytes;
  const iterator = source[Symbol.asyncIterator]();
  let total = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      // Only the wait for the client counts: the consumer's own pace (a slow disk) does not.
      const idle = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(stalled(limits.idleMs)), limits.idleMs);
      });
      const next = await Promise.race([iterator.next(), idle]);
      clearTimeout(timer);
      if (next.done) return;
      total += next.value.length;
      if (max !== undefined && total > max) throw tooLarge(max);
      yield next.value;
    }
  } catch (error) {
    throw bodyError(error, raw, otherwise);
  } finally {
    clearTimeout(timer);
    // A stalled or refused body is not read further; the answer closes the connection.
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function stalled(idleMs: number): WebError {
  return new WebError(
    "TAHOE_ERR_WEB_TIMEOUT",
    408,
    `no bytes of the request body arrived for ${Math.round(idleMs / 1000)} s; the upload was dropped`,
    { hint: "Send the file again from a working connection." },
  );
}

function bodyCutShort(): WebError {
  return new WebError(
    "TAHOE_ERR_WEB_BAD_REQUEST",
    400,
    "the request body ended before it was complete (the connection broke)",
    { hint: "Send the file again." },
  );
}

export function tooLarge(max: number): WebError {
  return new WebError(
    "TAHOE_ERR_WEB_TOO_LARGE",
    413,
    `the upload is larger than this node's limit of ${max} bytes`,
    {
      hint: "Upload a smaller file, or raise the limit the node passes as maxUploadBytes.",
    },
  );
}
