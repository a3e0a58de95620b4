import type { IncomingMessage } from "node:http";
import { bodyError } from "./disconnect.js";
import { WebError } from "./errors.js";

/**
 * Passes a request body through, failing once it grows past `max` bytes, so nothing is buffered.
 * A body that breaks off fails with TAHOE_ERR_WEB_DISCONNECTED when the client went away, or with
 * what `otherwise` makes of the stream's error (a malformed form, say).
 */
export async function* limitedBody(
  source: AsyncIterable<Uint8Array>,
  max: number | undefined,
  raw: IncomingMessage,
  otherwise: (error: unknown) => unknown = bodyCutShort,
): AsyncIterable<Uint8Array> {
  let total = 0;
  try {
    for await (const chunk of source) {
      total += chunk.length;
      if (max !== undefined && total > max) throw tooLarge(max);
      yield chunk;
    }
  } catch (error) {
    throw bodyError(error, raw, otherwise);
  }
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
