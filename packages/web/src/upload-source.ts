import { WebError } from "./errors.js";

/** Passes a request body through, failing once it grows past `max` bytes, so nothing is buffered. */
export async function* limitedBody(
  source: AsyncIterable<Uint8Array>,
  max: number | undefined,
): AsyncIterable<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (max !== undefined && total > max) throw tooLarge(max);
    yield chunk;
  }
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
