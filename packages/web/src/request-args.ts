import { Socket } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";
import { abortOnClose } from "./disconnect.js";
import { WebError } from "./errors.js";
import { type BodyLimits, limitedBody, tooLarge } from "./upload-source.js";
import type { WebMutableFormat, WebUploadOptions } from "./web-node.js";

export type Query = Record<string, string | undefined>;

/** The query's fields; a name given twice counts once, by its first value, as Tahoe-LAFS's get_arg does. */
export function queryOf(request: FastifyRequest): Query {
  const out: Query = {};
  for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    out[name] = Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value);
  }
  return out;
}

export function badRequest(message: string, hint: string): WebError {
  return new WebError("TAHOE_ERR_WEB_BAD_REQUEST", 400, message, { hint });
}

export const isTrue = (value: string | undefined): boolean =>
  value !== undefined && /^(true|t|on|1|yes)$/i.test(value);

export type UploadFormat = "CHK" | WebMutableFormat;

/**
 * Tahoe-LAFS's get_format: `format=` wins (CHK, SDMF or MDMF, any case); without it,
 * `mutable=true` means SDMF; otherwise CHK.
 */
export function uploadFormatOf(fields: Query): UploadFormat {
  const given = fields.format?.trim();
  if (given === undefined || given === "") return isTrue(fields.mutable) ? "SDMF" : "CHK";
  const format = given.toUpperCase();
  if (format === "CHK" || format === "SDMF" || format === "MDMF") return format;
  throw badRequest(
    `Unknown format: ${given}, I know CHK, SDMF, MDMF`,
    "Use format=CHK (immutable, the default), format=SDMF or format=MDMF (mutable), or mutable=true (SDMF).",
  );
}

/**
 * Tahoe-LAFS's `private-key=`: the caller's own RSA key for a new mutable file, the PKCS#8 DER in
 * URL-safe base64 (what `tahoe put --private-key-path` sends). Undefined when absent; the node
 * checks the key itself (2048 bits, RSA).
 */
export function privateKeyOf(fields: Query): Uint8Array | undefined {
  const text = fields["private-key"]?.trim();
  if (text === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(text)) {
    throw badRequest(
      "private-key= is not URL-safe base64",
      "Give the RSA-2048 private key as its PKCS#8 DER in URL-safe base64 (tahoe put --private-key-path does this).",
    );
  }
  return new Uint8Array(Buffer.from(text, "base64url"));
}

/**
 * A PUT's body as the node takes it: streamed through the node's size and idle limits, with the
 * size from Content-Length when there is one (413 at once when that is over the limit), aborted
 * when the client goes away.
 */
export function putBody(
  request: FastifyRequest,
  reply: FastifyReply,
  limits: BodyLimits,
): { body: AsyncIterable<Uint8Array>; options: WebUploadOptions } {
  const header = request.headers["content-length"];
  const size = header === undefined || request.headers["transfer-encoding"] ? undefined : Number(header);
  if (size !== undefined && limits.maxBytes !== undefined && size > limits.maxBytes)
    throw tooLarge(limits.maxBytes);
  const signal = abortOnClose(reply);
  // A real socket's body went through Node's HTTP parser, which copies every chunk.
  const options: WebUploadOptions = { signal, freshChunks: request.raw.socket instanceof Socket };
  if (size !== undefined && Number.isSafeInteger(size)) options.size = size;
  return { body: limitedBody(request.raw, limits, request.raw), options };
}
