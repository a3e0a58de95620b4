import type { Readable } from "node:stream";
import { type ConnectionHint, formatNurl, type Nurl, parseNurl, redactUrlSecret } from "@lafs/config";
import { freeNow } from "@lafs/immutable";
import { type Logger, silentLogger } from "@lafs/interface";
import type { Pool } from "undici";
import { StorageClientError, type StorageClientErrorCode } from "./errors.js";
import {
  type AllocateResult,
  type CborValue,
  decodeBody,
  encodeAllocate,
  encodeBody,
  encodeReadTestWrite,
  parseAllocate,
  parseReadTestWrite,
  parseRequired,
  parseShareSet,
  parseVersion,
  type ReadTestWriteRequest,
  type ReadTestWriteResult,
  ShapeError,
  type StorageVersion,
  type WriteResult,
} from "./messages.js";
import { ConnectFailure, type ConnectFunction, openPinnedConnection, tcpConnect } from "./pinned-connect.js";
import { type StorageIndex, storageIndexSegment } from "./storage-index.js";

export interface StorageClientOptions {
  /** The server's NURL (`pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1`): where to go, which key to trust. */
  nurl: string | Nurl;
  /** Opens the raw stream for a hint; default: plain TCP for tcp hints only. */
  connect?: ConnectFunction;
  /** Per-request limit, connection set-up included; default 60 s like Tahoe-LAFS. */
  timeoutMs?: number;
  /** Persistent HTTP/1.1 connections to the server; default 10 like Tahoe-LAFS. */
  maxConnections?: number;
  /** Largest CBOR reply accepted; default 30 MiB like Tahoe-LAFS. */
  maxReplyBytes?: number;
  /**
   * How errors and logs name the server to a person, e.g. `s1 (v0-abc…)`; default the NURL with
   * its swissnum hidden.
   */
  label?: string;
  logger?: Logger;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
  /**
   * Fails the call (TAHOE_ERR_STORAGE_CLIENT_TIMEOUT) when the server sends nothing for this
   * long: no reply head after the request went out, or a pause inside the reply body. A slow
   * but moving reply is not cut; a hung server is, long before timeoutMs.
   */
  idleTimeoutMs?: number;
  /**
   * Aborted when the node's liveness probe finds the server not answering: the call is cancelled
   * at once and fails with TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE (the caller's `signal` stays for
   * cancellation on purpose).
   */
  serverLost?: AbortSignal;
}

export interface LeaseSecrets {
  /** 32 bytes (wire-formats §2.13 bucket renew secret). */
  renewSecret: Uint8Array;
  /** 32 bytes. */
  cancelSecret: Uint8Array;
}

export interface AllocateRequest extends LeaseSecrets {
  shareNumbers: readonly number[];
  /** Bytes each share will hold. */
  allocatedSize: number;
  /** Fresh random bytes per upload (Tahoe-LAFS uses 20); every write and abort must repeat it. */
  uploadSecret: Uint8Array;
}

export interface MutableSecrets extends LeaseSecrets {
  writeEnabler: Uint8Array;
}

export type ShareKind = "immutable" | "mutable";

/** A GBS client for one storage server. Every call takes an optional AbortSignal and timeout. */
export interface StorageClient {
  /** The NURL with its swissnum hidden, as error messages and logs show it. */
  readonly server: string;
  version(options?: CallOptions): Promise<StorageVersion>;
  listImmutableShares(si: StorageIndex, options?: CallOptions): Promise<number[]>;
  /**
   * Reserves space for new immutable shares and adds or renews leases on existing ones. Throws
   * TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL when it gained none of the requested shares and the server
   * reports less space than `allocatedSize`.
   */
  allocate(si: StorageIndex, request: AllocateRequest, options?: CallOptions): Promise<AllocateResult>;
  /** `data` may be several pieces, sent back to back as one body without joining them. */
  write(
    si: StorageIndex,
    shnum: number,
    offset: number,
    data: Uint8Array | readonly Uint8Array[],
    uploadSecret: Uint8Array,
    options?: CallOptions,
  ): Promise<WriteResult>;
  abort(si: StorageIndex, shnum: number, uploadSecret: Uint8Array, options?: CallOptions): Promise<void>;
  /**
   * Up to `length` bytes from `offset`; shorter (or empty) where the share ends. The bytes are
   * the reply's own buffer: nothing else holds it, so the caller may free it (freeNow).
   */
  read(
    si: StorageIndex,
    shnum: number,
    offset: number,
    length: number,
    options?: CallOptions,
  ): Promise<Uint8Array>;
  adviseCorrupt(
    kind: ShareKind,
    si: StorageIndex,
    shnum: number,
    reason: string,
    options?: CallOptions,
  ): Promise<void>;
  addOrRenewLease(si: StorageIndex, secrets: LeaseSecrets, options?: CallOptions): Promise<void>;
  readTestWrite(
    si: StorageIndex,
    secrets: MutableSecrets,
    request: ReadTestWriteRequest,
    options?: CallOptions,
  ): Promise<ReadTestWriteResult>;
  listMutableShares(si: StorageIndex, options?: CallOptions): Promise<number[]>;
  readMutable(
    si: StorageIndex,
    shnum: number,
    offset: number,
    length: number,
    options?: CallOptions,
  ): Promise<Uint8Array>;
  /** Waits for calls in flight, then closes every connection; later calls fail with _CLOSED. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_REPLY = 30 * 1024 * 1024;
const CBOR = "application/cbor";
const OCTETS = "application/octet-stream";
const LEASE_SECRET_BYTES = 32;
const MAX_REASON_BYTES = 32757;

interface Exchange {
  method: "GET" | "POST" | "PUT" | "PATCH";
  path: string;
  /** Flat header list; X-Tahoe-Authorization repeats, so an object will not do. */
  headers: string[];
  body?: Uint8Array | readonly Uint8Array[];
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function b64(bytes: Uint8Array | string): string {
  return (typeof bytes === "string" ? Buffer.from(bytes, "utf8") : Buffer.from(bytes)).toString("base64");
}

function headerValue(headers: Reply["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mediaType(headers: Reply["headers"]): string | undefined {
  return headerValue(headers, "content-type")?.split(";")[0]?.trim().toLowerCase();
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

/**
 * Reads a whole reply body, stopping at `max` bytes. Plain 'data' events, not async iteration:
 * share reads are MiB-sized and this path is the client's hot loop.
 */
function collect(body: Readable, max: number, tooLong: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.destroy();
        reject(tooLong());
        return;
      }
      chunks.push(chunk);
    });
    body.once("end", () => {
      if (chunks.length === 1) {
        resolve(chunks[0]!);
        return;
      }
      const whole = Buffer.concat(chunks, size);
      // Each chunk is one socket read, nothing else holds it: give its memory back now.
      for (const chunk of chunks) freeNow(chunk);
      resolve(whole);
    });
    body.once("error", reject);
  });
}

/**
 * The request's outcome, or the abort's reason as soon as `signal` fires: undici only cancels a
 * request once it has a connection, and a hung server's TLS handshake holds that back for the
 * whole connect timeout. A reply that still comes later has its body thrown away.
 */
function settleOnAbort<T extends { body: Readable }>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  const dropLateReply = () =>
    pending.then(
      (late) => late.body.destroy(),
      () => {},
    );
  if (signal.aborted) {
    dropLateReply();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      dropLateReply();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (res) => {
        signal.removeEventListener("abort", onAbort);
        resolve(res);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** Creates a GBS client for the server a NURL names. Nothing is dialed until the first call. */
export function createStorageClient(options: StorageClientOptions): StorageClient {
  const nurl = typeof options.nurl === "string" ? parseNurl(options.nurl) : options.nurl;
  const server = redactUrlSecret(typeof options.nurl === "string" ? options.nurl.trim() : formatNurl(nurl));
  const label = options.label ?? server;
  const logger = (options.logger ?? silentLogger).child({ server });
  const connect = options.connect ?? tcpConnect;
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxReply = options.maxReplyBytes ?? DEFAULT_MAX_REPLY;
  const authorization = `Tahoe-LAFS ${b64(nurl.swissnum)}`;
  const first: ConnectionHint | undefined = nurl.hints[0];
  // undici needs an origin for the Host header; the socket itself comes from our connector.
  const origin = first
    ? `https://${first.host.includes(":") ? `[${first.host}]` : first.host}:${first.port ?? 443}`
    : "https://invalid:443";

  // undici (over a hundred modules) loads on the first request, not when the node starts: a node
  // creates a client per announced server long before it talks to most of them. undici is
  // CommonJS: its `default` is module.exports both in Node and in the CLI's esbuild bundle, which
  // gives a lazily imported CommonJS module no named exports.
  let pool: Promise<Pool> | undefined;
  const openPool = () =>
    (pool ??= import("undici").then(
      ({ default: { Pool } }) =>
        new Pool(origin, {
          connections: options.maxConnections ?? 10,
          pipelining: 1,
          connect: (_opts, callback) => {
            openPinnedConnection({
              hints: nurl.hints,
              spkiHash: nurl.spkiHash,
              connect,
              timeoutMs: defaultTimeout,
              logger,
            }).then(
              (socket) => callback(null, socket),
              (err: Error) => callback(err, null),
            );
          },
        }),
    ));
  let closed = false;

  const error = (
    code: StorageClientErrorCode,
    operation: string,
    message: string,
    hint: string,
    extra: { status?: number; cause?: unknown } = {},
  ) =>
    new StorageClientError(code, `storage server ${server}: ${operation}: ${message}`, {
      server,
      operation,
      hint,
      ...extra,
    });

  const argumentError = (operation: string) => (why: string) =>
    error(
      "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT",
      operation,
      why,
      "this is a bug in the caller of the storage client",
    );

  function checkUint(operation: string, name: string, value: number, min = 0): void {
    if (!Number.isSafeInteger(value) || value < min) {
      throw argumentError(operation)(`${name} ${value} is not an integer >= ${min}`);
    }
  }

  function checkSecret(operation: string, name: string, value: Uint8Array, length?: number): void {
    if (
      !(value instanceof Uint8Array) ||
      value.length === 0 ||
      (length !== undefined && value.length !== length)
    ) {
      const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
      throw argumentError(operation)(`${name} is ${got}; it must be ${length ?? "1 or more"} bytes`);
    }
  }

  function secretHeaders(secrets: [kind: string, value: Uint8Array][]): string[] {
    const out = ["authorization", authorization];
    for (const [kind, value] of secrets) out.push("x-tahoe-authorization", `${kind} ${b64(value)}`);
    out.push("accept", CBOR);
    return out;
  }

  function connectError(operation: string, err: ConnectFailure): StorageClientError {
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

  async function exchange(
    operation: string,
    request: Exchange,
    call: CallOptions | undefined,
    maxBody: number,
  ): Promise<Reply> {
    if (closed) {
      throw error(
        "TAHOE_ERR_STORAGE_CLIENT_CLOSED",
        operation,
        "the client is closed",
        "create a new storage client; close() ends this one for good",
      );
    }
    const timeoutMs = call?.timeoutMs ?? defaultTimeout;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    const userSignal = call?.signal;
    const onUserAbort = () => controller.abort(userSignal?.reason);
    if (userSignal?.aborted) onUserAbort();
    else userSignal?.addEventListener("abort", onUserAbort, { once: true });
    const lostSignal = call?.serverLost;
    const onLost = () => controller.abort(new Error("the server stopped answering its liveness probe"));
    if (lostSignal?.aborted) onLost();
    else lostSignal?.addEventListener("abort", onLost, { once: true });
    const idleMs = call?.idleTimeoutMs;
    // Until the reply head arrives (connecting included), silence is timed here; inside the
    // body, undici's bodyTimeout times each pause.
    let idled = false;
    const idleTimer =
      idleMs === undefined
        ? undefined
        : setTimeout(() => {
            idled = true;
            controller.abort(new Error(`nothing from the server for ${idleMs} ms`));
          }, idleMs);
    const started = Date.now();
    try {
      const pending = (await openPool()).request({
        method: request.method,
        path: request.path,
        headers: request.headers,
        // undici sends an iterable body too (its documented body types); its typings omit it.
        body: request.body as Uint8Array | undefined,
        signal: controller.signal,
        ...(idleMs === undefined ? {} : { bodyTimeout: idleMs }),
      });
      const res = await settleOnAbort(pending, controller.signal);
      clearTimeout(idleTimer);
      const body = await collect(res.body, maxBody, () =>
        error(
          "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL",
          operation,
          `the reply (HTTP ${res.statusCode}) is longer than ${maxBody} bytes`,
          "the server does not follow the GBS protocol; report it to its operator",
          { status: res.statusCode },
        ),
      );
      logger.debug({ operation, status: res.statusCode, ms: Date.now() - started }, "GBS call");
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      if (err instanceof StorageClientError) throw err;
      if (userSignal?.aborted) {
        throw error(
          "TAHOE_ERR_STORAGE_CLIENT_ABORTED",
          operation,
          "cancelled by the caller",
          "the operation was cancelled on purpose; start it again if it is still wanted",
          { cause: userSignal.reason },
        );
      }
      if (lostSignal?.aborted) {
        throw error(
          "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE",
          operation,
          "the server stopped answering (its liveness probe failed), so this call was cancelled",
          "the server is hung or gone; the transfer goes on with other servers where it can",
          { cause: err },
        );
      }
      if (err instanceof ConnectFailure) throw connectError(operation, err);
      const undiciCode = (err as { code?: unknown } | null)?.code;
      if (idled || undiciCode === "UND_ERR_BODY_TIMEOUT") {
        throw error(
          "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
          operation,
          `the server sent nothing for ${idleMs} ms`,
          "the server is hung or overloaded; the transfer goes on with other servers where it can",
          { cause: err },
        );
      }
      if (timedOut) {
        throw error(
          "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
          operation,
          `no complete reply within ${timeoutMs} ms`,
          "the server or the path to it is slow or down; try again later, or raise the timeout",
          { cause: err },
        );
      }
      if (closed) {
        throw error(
          "TAHOE_ERR_STORAGE_CLIENT_CLOSED",
          operation,
          "the client was closed during the call",
          "create a new storage client; close() ends this one for good",
          { cause: err },
        );
      }
      const why = err instanceof Error ? err.message : String(err);
      throw error(
        "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE",
        operation,
        `the connection failed: ${why}`,
        "the server closed or reset the connection; check that it runs, then try again",
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
      clearTimeout(idleTimer);
      userSignal?.removeEventListener("abort", onUserAbort);
      lostSignal?.removeEventListener("abort", onLost);
    }
  }

  /** Maps a status the operation does not expect to a typed error; `meaning` explains 401/404/409. */
  function statusError(
    operation: string,
    reply: Reply,
    meaning: { unauthorized?: string; notFound?: string; conflict?: string } = {},
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

  function protocolError(operation: string, why: string, status?: number, cause?: unknown) {
    return error(
      "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL",
      operation,
      why,
      "the server does not follow the GBS protocol (wire-formats §5); report it to its operator",
      { ...(status === undefined ? {} : { status }), cause },
    );
  }

  function cborReply<T>(operation: string, reply: Reply, parse: (value: CborValue) => T): T {
    const type = mediaType(reply.headers);
    if (type !== CBOR) {
      throw protocolError(
        operation,
        `the HTTP ${reply.status} reply has Content-Type '${type ?? "(none)"}' instead of ${CBOR}`,
        reply.status,
      );
    }
    try {
      return parse(decodeBody(reply.body));
    } catch (err) {
      if (err instanceof ShapeError) {
        throw protocolError(operation, `malformed reply: ${err.message}`, reply.status, err);
      }
      throw err;
    }
  }

  async function cborCall<T>(
    operation: string,
    request: Exchange,
    call: CallOptions | undefined,
    ok: readonly number[],
    parse: (value: CborValue, status: number) => T,
    meaning?: Parameters<typeof statusError>[2],
  ): Promise<T> {
    const reply = await exchange(operation, request, call, maxReply);
    if (!ok.includes(reply.status)) throw statusError(operation, reply, meaning);
    return cborReply(operation, reply, (v) => parse(v, reply.status));
  }

  async function emptyCall(
    operation: string,
    request: Exchange,
    call: CallOptions | undefined,
    ok: readonly number[],
    meaning?: Parameters<typeof statusError>[2],
  ): Promise<void> {
    const reply = await exchange(operation, request, call, maxReply);
    if (!ok.includes(reply.status)) throw statusError(operation, reply, meaning);
  }

  function cborBody(value: CborValue): { body: Uint8Array; type: string[] } {
    return { body: encodeBody(value), type: ["content-type", CBOR] };
  }

  async function readShare(
    kind: ShareKind,
    si: StorageIndex,
    shnum: number,
    offset: number,
    length: number,
    call: CallOptions | undefined,
  ): Promise<Uint8Array> {
    const operation = `read ${kind} share`;
    const seg = storageIndexSegment(si, argumentError(operation));
    const op = `${operation} ${seg}/${shnum} bytes ${offset}+${length}`;
    checkUint(op, "share number", shnum);
    checkUint(op, "offset", offset);
    checkUint(op, "length", length);
    if (length === 0) return new Uint8Array(0);
    const last = offset + length - 1;
    const reply = await exchange(
      op,
      {
        method: "GET",
        path: `/storage/v1/${kind}/${seg}/${shnum}`,
        headers: ["range", `bytes=${offset}-${last}`, ...secretHeaders([])],
      },
      call,
      // Room for an error page too; a 206 body longer than asked for is caught below.
      Math.max(length, 65536),
    );
    if (reply.status === 204) return new Uint8Array(0);
    if (reply.status !== 206) {
      if (reply.status === 200) {
        throw protocolError(op, "the server ignored the Range header (HTTP 200, whole share)", 200);
      }
      throw statusError(op, reply, {
        notFound: "the server holds no such share (or its upload is unfinished)",
      });
    }
    const type = mediaType(reply.headers);
    if (type !== OCTETS) {
      throw protocolError(
        op,
        `the HTTP 206 reply has Content-Type '${type ?? "(none)"}' instead of ${OCTETS}`,
        206,
      );
    }
    const range = headerValue(reply.headers, "content-range") ?? "";
    const m = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(range.trim());
    if (!m) throw protocolError(op, `the HTTP 206 reply has Content-Range '${range}'`, 206);
    const first = Number(m[1]);
    const end = Number(m[2]);
    if (first !== offset || end < first || end > last) {
      throw protocolError(
        op,
        `the server sent bytes ${first}-${end}, not within the requested ${offset}-${last}`,
        206,
      );
    }
    if (reply.body.length !== end - first + 1) {
      throw protocolError(
        op,
        `Content-Range says ${end - first + 1} bytes but the body has ${reply.body.length}`,
        206,
      );
    }
    return new Uint8Array(reply.body.buffer, reply.body.byteOffset, reply.body.length);
  }

  async function listShares(
    kind: ShareKind,
    si: StorageIndex,
    call: CallOptions | undefined,
  ): Promise<number[]> {
    const seg = storageIndexSegment(si, argumentError(`list ${kind} shares`));
    return cborCall(
      `list ${kind} shares ${seg}`,
      { method: "GET", path: `/storage/v1/${kind}/${seg}/shares`, headers: secretHeaders([]) },
      call,
      [200],
      parseShareSet,
    );
  }

  const client: StorageClient = {
    server,

    async version(call) {
      return cborCall(
        "version",
        { method: "GET", path: "/storage/v1/version", headers: secretHeaders([]) },
        call,
        [200],
        parseVersion,
      );
    },

    listImmutableShares: (si, call) => listShares("immutable", si, call),
    listMutableShares: (si, call) => listShares("mutable", si, call),

    async allocate(si, request, call) {
      const seg = storageIndexSegment(si, argumentError("allocate"));
      const op = `allocate ${seg}`;
      checkUint(op, "allocated size", request.allocatedSize);
      for (const n of request.shareNumbers) checkUint(op, "share number", n);
      checkSecret(op, "renew secret", request.renewSecret, LEASE_SECRET_BYTES);
      checkSecret(op, "cancel secret", request.cancelSecret, LEASE_SECRET_BYTES);
      checkSecret(op, "upload secret", request.uploadSecret);
      const { body, type } = cborBody(encodeAllocate(request.shareNumbers, request.allocatedSize));
      const result = await cborCall(
        op,
        {
          method: "POST",
          path: `/storage/v1/immutable/${seg}`,
          headers: [
            ...secretHeaders([
              ["lease-renew-secret", request.renewSecret],
              ["lease-cancel-secret", request.cancelSecret],
              ["upload-secret", request.uploadSecret],
            ]),
            ...type,
          ],
          body,
        },
        call,
        [200],
        (v) => parseAllocate(v, request.shareNumbers),
      );
      const wanted = new Set(request.shareNumbers).size;
      if (wanted > 0 && result.refused.length === wanted) {
        // Nothing allocated: either other uploads hold these shares, or the server lacks space.
        // Only the server's own space figures tell the two apart.
        const v = await client.version(call);
        const room = Math.min(v.availableSpace, v.maximumImmutableShareSize);
        if (room < request.allocatedSize) {
          logger.warn({ operation: op, room, wanted: request.allocatedSize }, `server ${label} is full`);
          throw error(
            "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL",
            op,
            `server ${label} is full: no share allocated, ${request.allocatedSize} bytes per share wanted, the server has room for ${room}`,
            "the server is full (or reserves its remaining space); place the shares on other servers",
          );
        }
      }
      return result;
    },

    async write(si, shnum, offset, data, uploadSecret, call) {
      const seg = storageIndexSegment(si, argumentError("write"));
      const op = `write immutable share ${seg}/${shnum} at ${offset}`;
      checkUint(op, "share number", shnum);
      checkUint(op, "offset", offset);
      checkSecret(op, "upload secret", uploadSecret);
      const pieces = data instanceof Uint8Array ? [data] : data;
      let length = 0;
      for (const piece of pieces) {
        if (!(piece instanceof Uint8Array)) throw argumentError(op)("the data is not bytes");
        length += piece.length;
      }
      if (length === 0) {
        throw argumentError(op)("the data is empty; a write must carry at least 1 byte");
      }
      // Several pieces go out as an iterable body with its length given, so undici writes them
      // one after the other instead of us copying them into one buffer first.
      const body = pieces.length === 1 ? pieces[0]! : pieces.filter((piece) => piece.length > 0);
      return cborCall(
        op,
        {
          method: "PATCH",
          path: `/storage/v1/immutable/${seg}/${shnum}`,
          // Tahoe-LAFS always sends the `/*` form; `bytes */N` crashes Tahoe servers.
          headers: [
            "content-range",
            `bytes ${offset}-${offset + length - 1}/*`,
            ...(pieces.length === 1 ? [] : ["content-length", String(length)]),
            ...secretHeaders([["upload-secret", uploadSecret]]),
          ],
          body,
        },
        call,
        [200, 201],
        (v, status) => {
          const required = parseRequired(v);
          if (status === 201 && required.length > 0) {
            throw new ShapeError("the share is reported complete (201) but ranges are still required");
          }
          return { complete: status === 201, required };
        },
        {
          unauthorized: "the upload secret differs from the one given to allocate",
          notFound:
            "no upload of this share is in progress: allocate it first (uploads idle 30 min are dropped)",
          conflict:
            "the bytes differ from those already written at this offset; abort the upload and start it again",
        },
      );
    },

    async abort(si, shnum, uploadSecret, call) {
      const seg = storageIndexSegment(si, argumentError("abort"));
      const op = `abort immutable upload ${seg}/${shnum}`;
      checkUint(op, "share number", shnum);
      checkSecret(op, "upload secret", uploadSecret);
      return emptyCall(
        op,
        {
          method: "PUT",
          path: `/storage/v1/immutable/${seg}/${shnum}/abort`,
          headers: secretHeaders([["upload-secret", uploadSecret]]),
        },
        call,
        [200],
        {
          unauthorized: "the upload secret differs from the one given to allocate",
          notFound: "no upload of this share is in progress",
        },
      );
    },

    read: (si, shnum, offset, length, call) => readShare("immutable", si, shnum, offset, length, call),
    readMutable: (si, shnum, offset, length, call) => readShare("mutable", si, shnum, offset, length, call),

    async adviseCorrupt(kind, si, shnum, reason, call) {
      const seg = storageIndexSegment(si, argumentError("advise corrupt share"));
      const op = `advise corrupt ${kind} share ${seg}/${shnum}`;
      checkUint(op, "share number", shnum);
      const size = Buffer.byteLength(reason, "utf8");
      if (size < 1 || size > MAX_REASON_BYTES) {
        throw argumentError(op)(`the reason is ${size} bytes; it must be 1 to ${MAX_REASON_BYTES}`);
      }
      const { body, type } = cborBody({ reason });
      return emptyCall(
        op,
        {
          method: "POST",
          path: `/storage/v1/${kind}/${seg}/${shnum}/corrupt`,
          headers: [...secretHeaders([]), ...type],
          body,
        },
        call,
        [200],
      );
    },

    async addOrRenewLease(si, secrets, call) {
      const seg = storageIndexSegment(si, argumentError("add or renew lease"));
      const op = `add or renew lease ${seg}`;
      checkSecret(op, "renew secret", secrets.renewSecret, LEASE_SECRET_BYTES);
      checkSecret(op, "cancel secret", secrets.cancelSecret, LEASE_SECRET_BYTES);
      return emptyCall(
        op,
        {
          method: "PUT",
          path: `/storage/v1/lease/${seg}`,
          headers: secretHeaders([
            ["lease-renew-secret", secrets.renewSecret],
            ["lease-cancel-secret", secrets.cancelSecret],
          ]),
        },
        call,
        [204, 200],
        { notFound: "the server holds no complete share of this storage index" },
      );
    },

    async readTestWrite(si, secrets, request, call) {
      const seg = storageIndexSegment(si, argumentError("read-test-write"));
      const op = `read-test-write ${seg}`;
      checkSecret(op, "write enabler", secrets.writeEnabler);
      checkSecret(op, "renew secret", secrets.renewSecret, LEASE_SECRET_BYTES);
      checkSecret(op, "cancel secret", secrets.cancelSecret, LEASE_SECRET_BYTES);
      let encoded: CborValue;
      try {
        encoded = encodeReadTestWrite(request);
      } catch (err) {
        throw argumentError(op)(err instanceof Error ? err.message : String(err));
      }
      const { body, type } = cborBody(encoded);
      return cborCall(
        op,
        {
          method: "POST",
          path: `/storage/v1/mutable/${seg}/read-test-write`,
          headers: [
            ...secretHeaders([
              ["lease-renew-secret", secrets.renewSecret],
              ["lease-cancel-secret", secrets.cancelSecret],
              ["write-enabler", secrets.writeEnabler],
            ]),
            ...type,
          ],
          body,
        },
        call,
        [200],
        parseReadTestWrite,
        { unauthorized: "the write enabler differs from the one stored with the existing shares" },
      );
    },

    async close() {
      if (closed) return;
      closed = true;
      if (pool !== undefined) await (await pool).close();
    },
  };
  return client;
}
