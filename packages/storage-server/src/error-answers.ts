import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { checkAuthorization } from "./auth.js";
import { isStorageServerError, notFound, StorageServerError, type StorageServerErrorCode } from "./errors.js";

/** Every error answer names its code here; the body stays the plain-text message (Tahoe's words where it has them). */
export const ERROR_CODE_HEADER = "x-lafs-error-code";

/** Errno codes that mean the file system has no room (or the user no quota) for the write. */
const FULL_ERRNOS = new Set(["ENOSPC", "EDQUOT"]);

/** The ENOSPC/EDQUOT error in `error` or its cause chain, if any. */
export function noSpaceCause(error: unknown): NodeJS.ErrnoException | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && FULL_ERRNOS.has(code)) return e as NodeJS.ErrnoException;
  }
  return undefined;
}

export function storageFull(what: string, cause?: unknown): StorageServerError {
  const errno = noSpaceCause(cause)?.code;
  return new StorageServerError(
    "TAHOE_ERR_STORAGE_SERVER_FULL",
    507,
    `storage server is full: could not write ${what}${errno === undefined ? "" : ` (${errno})`}`,
    {
      hint: "the server's disk has no room left above [storage]reserved_space; place the share on another server",
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

export function internalError(): StorageServerError {
  return new StorageServerError("TAHOE_ERR_STORAGE_SERVER_INTERNAL", 500, "internal storage server error", {
    hint: "this is a bug in lafs-ts or a fault of the server's disk; the server's log has the details",
  });
}

/** Codes for the 4xx errors fastify or Node raise themselves, by status. */
const FRAMEWORK_CODES: Record<number, StorageServerErrorCode> = {
  400: "TAHOE_ERR_STORAGE_SERVER_BAD_REQUEST",
  404: "TAHOE_ERR_STORAGE_SERVER_NOT_FOUND",
  408: "TAHOE_ERR_STORAGE_SERVER_REQUEST_TIMEOUT",
  413: "TAHOE_ERR_STORAGE_SERVER_TOO_LARGE",
  414: "TAHOE_ERR_STORAGE_SERVER_URL_TOO_LONG",
  415: "TAHOE_ERR_STORAGE_SERVER_MEDIA_TYPE",
  431: "TAHOE_ERR_STORAGE_SERVER_HEADERS_TOO_LARGE",
};

/** A 4xx raised by fastify (FST_ERR_*) in our words and with our code; other statuses become 400. */
export function frameworkRefusal(status: number, what: string): StorageServerError {
  const known = FRAMEWORK_CODES[status];
  const code = known ?? "TAHOE_ERR_STORAGE_SERVER_BAD_REQUEST";
  return new StorageServerError(code, known === undefined ? 400 : status, what, {
    hint: "send a request as Tahoe-LAFS's storage client does (wire-formats §5)",
  });
}

/**
 * What any error means for the peer: our own refusals as they are, a full disk as 507, a
 * fastify 4xx in our format; undefined for anything else (an internal error: 500).
 */
export function asRefusal(error: unknown, writing: () => string): StorageServerError | undefined {
  if (isStorageServerError(error)) return error;
  if (noSpaceCause(error) !== undefined) return storageFull(writing(), error);
  const { statusCode: status, message } = error as { statusCode?: number; message?: string };
  if (status !== undefined && status >= 400 && status < 500) {
    return frameworkRefusal(status, `bad request: ${message ?? `status ${status}`}`);
  }
  return undefined;
}

/**
 * Sends a refusal: status, code header and plain-text message. 401 and 406 go out exactly as
 * Tahoe-LAFS sends them (its body, no Content-Type): a stream payload keeps fastify from adding one.
 */
export function sendRefusal(reply: FastifyReply, error: StorageServerError): FastifyReply {
  reply.code(error.status).header(ERROR_CODE_HEADER, error.code);
  // Tahoe sends 406 with an empty body.
  if (error.status === 406) return reply.send();
  if (error.status === 401) return reply.send(Readable.from([Buffer.from(error.message, "utf8")]));
  return reply.type("text/plain; charset=utf-8").send(error.message);
}

/** A whole HTTP/1.1 error response for a socket that never became a request (Node's clientError). */
export function rawRefusal(error: StorageServerError, reason: string): Buffer {
  const body = Buffer.from(error.message, "utf8");
  const head =
    `HTTP/1.1 ${error.status} ${reason}\r\n` +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    `${ERROR_CODE_HEADER}: ${error.code}\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** Unread request bodies up to this size are read and dropped after an error answer. */
export const DRAIN_LIMIT = 4 * 1024 * 1024;

/**
 * An error answered before the request body was read: a body of known, modest length is read
 * and dropped, so the answer reaches the client (closing a socket with unread bytes makes the
 * kernel reset it, and the client may lose the answer) and the connection stays usable; any
 * other body closes the connection after the answer.
 */
export function settleUnreadBody(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.complete) return;
  const length = Number(request.headers["content-length"]);
  if (Number.isSafeInteger(length) && length >= 0 && length <= DRAIN_LIMIT && !request.raw.destroyed) {
    request.raw.resume();
  } else {
    reply.header("connection", "close");
  }
}

/**
 * A request no route serves: 401 without the swissnum (as Tahoe answers), else a plain-text
 * 404; its body is never parsed.
 */
export function answerNoEndpoint(
  request: FastifyRequest,
  reply: FastifyReply,
  expectedAuthorization: Buffer,
): void {
  checkAuthorization(request.raw, expectedAuthorization);
  settleUnreadBody(request, reply);
  sendRefusal(reply, notFound(`no storage endpoint ${request.method} ${request.url.slice(0, 200)}`));
}
