import type { FastifyRequest } from "fastify";
import { WebError } from "../errors.js";

/** The panel's forms are a few kilobytes; a bigger urlencoded body is not one of them. */
const MAX_FORM_BYTES = 1024 * 1024;

/**
 * The fields of an application/x-www-form-urlencoded POST. The app passes bodies through as streams
 * (nothing is parsed for the upload paths), so the panel reads its small forms itself.
 */
export async function readForm(request: FastifyRequest): Promise<URLSearchParams> {
  const type = request.headers["content-type"] ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new WebError("TAHOE_ERR_WEB_BAD_REQUEST", 400, `the form was sent as '${type || "(no type)"}'`, {
      hint: "Send the control panel's form as application/x-www-form-urlencoded (what a browser does).",
    });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_FORM_BYTES) {
      throw new WebError("TAHOE_ERR_WEB_TOO_LARGE", 413, `the form is larger than ${MAX_FORM_BYTES} bytes`, {
        hint: "The control panel's forms are small; this request did not come from them.",
      });
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}
