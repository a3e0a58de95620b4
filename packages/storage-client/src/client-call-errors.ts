import type { Logger } from "@lafs/interface";
import { StorageClientError, type StorageClientErrorCode } from "./errors.js";
import type { ConnectFailure } from "./pinned-connect.js";

/** Enough of a reply to explain an unexpected status. */
export interface StatusReply {
  status: number;
  body: Buffer;
}

/** What 401, 404 and 409 mean for one operation, in words for its caller. */
export interface StatusMeaning {
  unauthorized?: string;
  notFound?: string;
  conflict?: string;
}

/** The typed errors of one storage client: every message names the server and the operation. */
export interface CallErrors {
  error(
    code: StorageClientErrorCode,
    operation: string,
    message: string,
    hint: string,
    extra?: { status?: number; cause?: unknown },
  ): StorageClientError;
  /** A bad argument from our own caller; curried so it can be handed to storageIndexSegment. */
  argument(operation: string): (why: string) => StorageClientError;
  protocol(operation: string, why: string, status?: number, cause?: unknown): StorageClientError;
  /** Maps a status the operation does not expect to a typed error; `meaning` explains 401/404/409. */
  status(operation: string, reply: StatusReply, meaning?: StatusMeaning): StorageClientError;
  connect(operation: string, err: ConnectFailure): StorageClientError;
}

/** Keeps a server's text from breaking a log line or terminal: control characters become spaces. */
function printable(text: string): string {
  let out = "";
  for (const ch of text) out += ch.charCodeAt(0) < 0x20 || ch === "\u007f" ? " " : ch;
  return out;
}

/** The server's plain-text error body, cut short and stripped of control characters. */
function serverSays(body: Buffer): string {
  const raw = body.subarray(0, 300).toString("utf8");
  const text = printable(raw).trim();
  return text === "" ? "" : `: "${text}${body.length > 300 ? "…" : ""}"`;
}

export function createCallErrors(server: string, label: string, logger: Logger): CallErrors {
  const error: CallErrors["error"] = (code, operation, message, hint, extra = {}) =>
    new StorageClientError(code, `storage server ${server}: ${operation}: ${message}`, {
      server,
      operation,
      hint,
      ...extra,
    });
  return {
    error,
    argument: (operation) => (why) =>
      error(
        "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT",
        operation,
        why,
        "this is a bug in the caller of the storage client",
      ),
    protocol: (operation, why, status, cause) =>
      error(
        "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL",
        operation,
        why,
        "the server does not follow the GBS protocol (wire-formats §5); report it to its operator",
        { ...(status === undefined ? {} : { status }), cause },
      ),
    status: (operation, reply, meaning) => statusError(error, label, logger, operation, reply, meaning),
    connect: (operation, err) => connectError(error, operation, err),
  };
}

function statusError(
  error: CallErrors["error"],
  label: string,
  logger: Logger,
  operation: string,
  reply: StatusReply,
  meaning: StatusMeaning = {},
): StorageClientError {
  const says = serverSays(reply.body);
  const status = reply.status;
  if (status === 401) {
    return error(
      "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED",
      operation,
      `HTTP 401${says}`,
      meaning.unauthorized ?? "the swissnum in the NURL is not this server's; get its current NURL",
      { status },
    );
  }
  if (status === 404) {
    return error(
      "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND",
      operation,
      `HTTP 404${says}`,
      meaning.notFound ?? "the server has no such share",
      { status },
    );
  }
  if (status === 507) {
    // A full storage server answers 507 with a body starting "storage server is full".
    logger.warn({ operation, status }, `server ${label} is full`);
    return error(
      "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL",
      operation,
      `server ${label} is full (HTTP 507${says})`,
      "the server has no room for more shares; they go to other servers, or its operator frees space",
      { status },
    );
  }
  if (status === 409 && meaning.conflict) {
    return error("TAHOE_ERR_STORAGE_CLIENT_CONFLICT", operation, `HTTP 409${says}`, meaning.conflict, {
      status,
    });
  }
  return error(
    "TAHOE_ERR_STORAGE_CLIENT_HTTP",
    operation,
    `unexpected HTTP ${status}${says}`,
    status >= 500
      ? "the server failed; its operator can find the cause in its log"
      : "the server refused the request; if it runs Tahoe-LAFS 1.20 or lafs-ts, report this as a bug",
    { status },
  );
}

function connectError(
  error: CallErrors["error"],
  operation: string,
  err: ConnectFailure,
): StorageClientError {
  switch (err.kind) {
    case "wrong-pin":
      return error(
        "TAHOE_ERR_STORAGE_CLIENT_WRONG_PIN",
        operation,
        `refused the server's TLS key: ${err.message}`,
        "the server is not the one the NURL names (or it changed its key); get its current NURL from " +
          "the introducer or the server's operator; nothing was sent to it",
        { cause: err },
      );
    case "timeout":
      return error(
        "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
        operation,
        err.message,
        "the server or the path to it is slow or down; try again later",
        { cause: err },
      );
    default:
      return error(
        "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE",
        operation,
        `cannot connect: ${err.message}`,
        "check that the server runs and that its NURL's host and port are reachable from this node",
        { cause: err.cause ?? err },
      );
  }
}

export function checkUint(errors: CallErrors, operation: string, name: string, value: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw errors.argument(operation)(`${name} ${value} is not an integer >= ${min}`);
  }
}

export function checkSecret(
  errors: CallErrors,
  operation: string,
  name: string,
  value: Uint8Array,
  length?: number,
): void {
  if (
    !(value instanceof Uint8Array) ||
    value.length === 0 ||
    (length !== undefined && value.length !== length)
  ) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw errors.argument(operation)(`${name} is ${got}; it must be ${length ?? "1 or more"} bytes`);
  }
}
