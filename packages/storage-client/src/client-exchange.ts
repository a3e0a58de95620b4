import { type ConnectionHint, formatNurl, type Nurl, parseNurl, redactUrlSecret } from "@lafs/config";
import { type Logger, silentLogger } from "@lafs/interface";
import type { Pool } from "undici";
import type { CallOptions, StorageClientOptions } from "./client-api.js";
import { type CallErrors, createCallErrors, type StatusMeaning } from "./client-call-errors.js";
import { type CallLimits, startCallLimits } from "./client-call-limits.js";
import { CBOR, cborReply, collect, headerValue, type Reply, settleOnAbort } from "./client-reply.js";
import { StorageClientError } from "./errors.js";
import { type CborValue, encodeBody } from "./messages.js";
import { ConnectFailure, type ConnectFunction, openPinnedConnection, tcpConnect } from "./pinned-connect.js";
import { loadPool } from "./undici-pool.js";

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_REPLY = 30 * 1024 * 1024;

export interface Exchange {
  method: "GET" | "POST" | "PUT" | "PATCH";
  path: string;
  /** Flat header list; X-Tahoe-Authorization repeats, so an object will not do. */
  headers: string[];
  body?: Uint8Array | readonly Uint8Array[];
}

/** What every GBS call of one client shares: the server's names, its connections, its errors. */
export interface CallContext {
  /** The NURL with its swissnum hidden. */
  readonly server: string;
  /** How a person knows the server, e.g. `s1 (v0-abc…)`. */
  readonly label: string;
  /** A call's time limit unless it gives its own (StorageClientOptions.timeoutMs). */
  readonly defaultTimeout: number;
  readonly logger: Logger;
  readonly errors: CallErrors;
  /** Authorization, the given X-Tahoe-Authorization secrets, and Accept: CBOR. */
  secretHeaders(secrets: [kind: string, value: Uint8Array][]): string[];
  /** Sends one request and reads its whole reply, up to `maxBody` bytes. */
  exchange(
    operation: string,
    request: Exchange,
    call: CallOptions | undefined,
    maxBody: number,
  ): Promise<Reply>;
  /** A call whose `ok` statuses carry a CBOR reply, read by `parse`. */
  cborCall<T>(
    operation: string,
    request: Exchange,
    call: CallOptions | undefined,
    ok: readonly number[],
    parse: (value: CborValue, status: number) => T,
    meaning?: StatusMeaning,
  ): Promise<T>;
  /** A call whose `ok` statuses carry nothing the caller needs. */
  emptyCall(
    operation: string,
    request: Exchange,
    call: CallOptions | undefined,
    ok: readonly number[],
    meaning?: StatusMeaning,
  ): Promise<void>;
  close(): Promise<void>;
}

function b64(bytes: Uint8Array | string): string {
  return (typeof bytes === "string" ? Buffer.from(bytes, "utf8") : Buffer.from(bytes)).toString("base64");
}

export function cborBody(value: CborValue): { body: Uint8Array; type: string[] } {
  return { body: encodeBody(value), type: ["content-type", CBOR] };
}

/**
 * undici's Pool loads on the first request, not when the node starts: a node creates a client
 * per announced server long before it talks to most of them (see loadPool for which parts).
 */
function lazyPool(
  nurl: Nurl,
  connect: ConnectFunction,
  timeoutMs: number,
  maxConnections: number,
  logger: Logger,
): { open(): Promise<Pool>; opened(): Promise<Pool> | undefined } {
  const first: ConnectionHint | undefined = nurl.hints[0];
  // undici needs an origin for the Host header; the socket itself comes from our connector.
  const origin = first
    ? `https://${first.host.includes(":") ? `[${first.host}]` : first.host}:${first.port ?? 443}`
    : "https://invalid:443";
  let pool: Promise<Pool> | undefined;
  const open = () =>
    (pool ??= loadPool().then(
      (Pool) =>
        new Pool(origin, {
          connections: maxConnections,
          pipelining: 1,
          connect: (_opts, callback) => {
            openPinnedConnection({
              hints: nurl.hints,
              spkiHash: nurl.spkiHash,
              connect,
              timeoutMs,
              logger,
            }).then(
              (socket) => callback(null, socket),
              (err: Error) => callback(err, null),
            );
          },
        }),
    ));
  return { open, opened: () => pool };
}

/** The caller's cancellation, or the liveness probe's verdict, if either ended the call. */
function cancelled(errors: CallErrors, operation: string, err: unknown, limits: CallLimits): unknown {
  if (limits.userSignal?.aborted) {
    return errors.error(
      "TAHOE_ERR_STORAGE_CLIENT_ABORTED",
      operation,
      "cancelled by the caller",
      "the operation was cancelled on purpose; start it again if it is still wanted",
      { cause: limits.userSignal.reason },
    );
  }
  if (limits.lostSignal?.aborted) {
    return errors.error(
      "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE",
      operation,
      "the server stopped answering (its liveness probe failed), so this call was cancelled",
      "the server is hung or gone; the transfer goes on with other servers where it can",
      { cause: err },
    );
  }
  return undefined;
}

/** The error a failed exchange ends with: which limit fired, or what broke. */
function exchangeFailure(
  errors: CallErrors,
  operation: string,
  err: unknown,
  limits: CallLimits,
  closed: boolean,
): unknown {
  const { error } = errors;
  if (err instanceof StorageClientError) return err;
  const cancel = cancelled(errors, operation, err, limits);
  if (cancel !== undefined) return cancel;
  if (err instanceof ConnectFailure) return errors.connect(operation, err);
  const undiciCode = (err as { code?: unknown } | null)?.code;
  if (limits.idled || undiciCode === "UND_ERR_BODY_TIMEOUT") {
    return error(
      "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
      operation,
      `the server sent nothing for ${limits.idleMs} ms`,
      "the server is hung or overloaded; the transfer goes on with other servers where it can",
      { cause: err },
    );
  }
  if (limits.timedOut) {
    return error(
      "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
      operation,
      `no complete reply within ${limits.timeoutMs} ms`,
      "the server or the path to it is slow or down; try again later, or raise the timeout",
      { cause: err },
    );
  }
  if (closed) {
    return error(
      "TAHOE_ERR_STORAGE_CLIENT_CLOSED",
      operation,
      "the client was closed during the call",
      "create a new storage client; close() ends this one for good",
      { cause: err },
    );
  }
  const why = err instanceof Error ? err.message : String(err);
  return error(
    "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE",
    operation,
    `the connection failed: ${why}`,
    "the server closed or reset the connection; check that it runs, then try again",
    { cause: err },
  );
}

/** What one exchange needs of its client. */
interface Connection {
  readonly pool: { open(): Promise<Pool> };
  readonly errors: CallErrors;
  readonly logger: Logger;
  readonly defaultTimeout: number;
  readonly onAnswer: StorageClientOptions["onAnswer"];
  isClosed(): boolean;
}

/** Sends one request and reads its whole reply, up to `maxBody` bytes. */
async function exchangeOnce(
  c: Connection,
  operation: string,
  request: Exchange,
  call: CallOptions | undefined,
  maxBody: number,
): Promise<Reply> {
  if (c.isClosed()) {
    throw c.errors.error(
      "TAHOE_ERR_STORAGE_CLIENT_CLOSED",
      operation,
      "the client is closed",
      "create a new storage client; close() ends this one for good",
    );
  }
  const limits = startCallLimits(call, c.defaultTimeout);
  const started = Date.now();
  try {
    const pending = (await c.pool.open()).request({
      method: request.method,
      path: request.path,
      headers: request.headers,
      // undici sends an iterable body too (its documented body types); its typings omit it.
      body: request.body as Uint8Array | undefined,
      signal: limits.signal,
      ...(limits.idleMs === undefined ? {} : { bodyTimeout: limits.idleMs }),
    });
    const res = await settleOnAbort(pending, limits.signal);
    limits.headArrived();
    c.onAnswer?.({ operation, status: res.statusCode });
    const body = await collect(
      res.body,
      maxBody,
      () =>
        c.errors.error(
          "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL",
          operation,
          `the reply (HTTP ${res.statusCode}) is longer than ${maxBody} bytes`,
          "the server does not follow the GBS protocol; report it to its operator",
          { status: res.statusCode },
        ),
      contentLength(res.headers),
    );
    c.logger.debug({ operation, status: res.statusCode, ms: Date.now() - started }, "GBS call");
    return { status: res.statusCode, headers: res.headers, body };
  } catch (err) {
    throw exchangeFailure(c.errors, operation, err, limits, c.isClosed());
  } finally {
    limits.release();
  }
}

/** The reply's Content-Length when it is one plain number; undici checks the body against it. */
function contentLength(headers: Reply["headers"]): number | undefined {
  const value = headerValue(headers, "content-length");
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** Creates what a client's calls share. Nothing is dialed until the first call. */
export function createCallContext(options: StorageClientOptions): CallContext {
  const nurl = typeof options.nurl === "string" ? parseNurl(options.nurl) : options.nurl;
  const server = redactUrlSecret(typeof options.nurl === "string" ? options.nurl.trim() : formatNurl(nurl));
  const label = options.label ?? server;
  const logger = (options.logger ?? silentLogger).child({ server });
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxReply = options.maxReplyBytes ?? DEFAULT_MAX_REPLY;
  const authorization = `Tahoe-LAFS ${b64(nurl.swissnum)}`;
  const errors = createCallErrors(server, label, logger);
  const pool = lazyPool(
    nurl,
    options.connect ?? tcpConnect,
    defaultTimeout,
    options.maxConnections ?? 10,
    logger,
  );
  let closed = false;

  const { onAnswer } = options;
  const connection: Connection = { pool, errors, logger, defaultTimeout, onAnswer, isClosed: () => closed };
  const exchange: CallContext["exchange"] = (operation, request, call, maxBody) =>
    exchangeOnce(connection, operation, request, call, maxBody);

  return {
    server,
    label,
    defaultTimeout,
    logger,
    errors,
    exchange,
    secretHeaders(secrets) {
      const out = ["authorization", authorization];
      for (const [kind, value] of secrets) out.push("x-tahoe-authorization", `${kind} ${b64(value)}`);
      out.push("accept", CBOR);
      return out;
    },
    async cborCall(operation, request, call, ok, parse, meaning) {
      const reply = await exchange(operation, request, call, maxReply);
      if (!ok.includes(reply.status)) throw errors.status(operation, reply, meaning);
      return cborReply(errors, operation, reply, (v) => parse(v, reply.status));
    },
    async emptyCall(operation, request, call, ok, meaning) {
      const reply = await exchange(operation, request, call, maxReply);
      if (!ok.includes(reply.status)) throw errors.status(operation, reply, meaning);
    },
    async close() {
      if (closed) return;
      closed = true;
      const opened = pool.opened();
      if (opened !== undefined) await (await opened).close();
    },
  };
}
