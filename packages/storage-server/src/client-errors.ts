import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "@lafs/interface";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import {
  frameworkRefusal,
  internalError,
  rawRefusal,
  sendRefusal,
  settleUnreadBody,
} from "./error-answers.js";
import type { StorageServerError } from "./errors.js";

/** What Node's HTTP parser refuses before there is a request, in our words. */
function clientErrorRefusal(error: NodeJS.ErrnoException & { rawPacket?: Buffer }): StorageServerError {
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW": {
      // The parser counts the request line with the headers. When the bytes it choked on are
      // still the request line (no line end yet, or a line ending in the HTTP version), the URL is what is too long.
      const raw = error.rawPacket?.toString("latin1") ?? "";
      const end = raw.indexOf("\r\n");
      if (raw !== "" && (end < 0 || / HTTP\/\d\.\d$/.test(raw.slice(0, end)))) {
        return frameworkRefusal(414, "the request's URL is longer than the 16 KiB this server reads");
      }
      return frameworkRefusal(431, "the request's headers are over the 16 KiB this server reads");
    }
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return frameworkRefusal(408, "the request did not arrive in time");
    default:
      return frameworkRefusal(
        400,
        `malformed HTTP request (${error.code ?? "parse error"}): ${error.message}`,
      );
  }
}

/**
 * Node's `clientError` handler: answers a request its parser refused (headers too large,
 * a bad request line or header) in the storage server's error format instead of Node's bare
 * 400/431, then closes the connection.
 */
export function answerClientError(error: Error, socket: Duplex, logger: Logger): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ECONNRESET" || socket.destroyed) return;
  const refusal = clientErrorRefusal(error as NodeJS.ErrnoException);
  logger.debug({ code: refusal.code, parserCode: code }, refusal.message);
  if (socket.writable) socket.end(rawRefusal(refusal, STATUS_CODES[refusal.status] ?? "Error"));
  // A peer that never reads its answer does not keep the socket.
  setTimeout(() => socket.destroy(), 2000).unref();
}

/**
 * fastify's `frameworkErrors`: a URL whose %-escapes do not decode, or a path segment longer
 * than fastify's route parameter limit, refused before routing.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
): void {
  const url = request.raw.url?.slice(0, 120) ?? "";
  let refusal: StorageServerError;
  if (error.code === "FST_ERR_BAD_URL") {
    refusal = frameworkRefusal(400, `the URL '${url}' has a %-escape that does not decode`);
  } else if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
    refusal = frameworkRefusal(
      414,
      `a path segment of '${url}' is too long (storage indexes are 26 characters, share numbers at most 3)`,
    );
  } else {
    logger.error({ err: error, url }, "storage request failed before routing");
    refusal = internalError();
  }
  logger.debug({ code: refusal.code, url }, refusal.message);
  settleUnreadBody(request, reply);
  sendRefusal(reply, refusal);
}
