import { mkdir, rm } from "node:fs/promises";
import { Socket } from "node:net";
import { freeNow } from "@lafs/immutable";
import { silentLogger } from "@lafs/interface";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ADVISORY_LIMITS, createAdvisoryStore } from "./advisories.js";
import {
  authorizationValue,
  checkAcceptsCbor,
  checkAuthorization,
  checkCborContentType,
  extractSecrets,
  type SecretKind,
} from "./auth.js";
import { type IdleLimit, readBody, streamBody } from "./body.js";
import { createByteBudget } from "./byte-budget.js";
import { decodeCbor, encodeCbor, encodeRequired, plainBytes } from "./cbor.js";
import { CorruptContainerError, corruptContainer } from "./container-errors.js";
import { createCorruptionLog } from "./corruption-log.js";
import {
  answerNoEndpoint,
  asRefusal,
  internalError,
  sendRefusal,
  settleUnreadBody,
  storageFull,
} from "./error-answers.js";
import { badBody, notFound, StorageServerError, tooLarge } from "./errors.js";
import { readFully } from "./file-io.js";
import { createImmutableStore, type OpenedShare } from "./immutable-store.js";
import { createKeyedLock } from "./keyed-lock.js";
import { createLeaseCrawler } from "./lease-crawler.js";
import { DEFAULT_EXPIRY_POLICY } from "./lease-expiry.js";
import { renewAllLeases } from "./lease-ops.js";
import { leaseExpiration } from "./leases.js";
import { LIMITS, RESERVATION_FRACTION, TIMEOUTS } from "./limits.js";
import { createMutableStore } from "./mutable-store.js";
import { checkOptions, type StorageServerOptions } from "./options.js";
import { parseShareNumber, parseStorageIndex, sharePath, storageLayout } from "./paths.js";
import { parseContentRange, parseRange } from "./ranges.js";
import { parseAllocateRequest, parseCorruptionAdvisory, parseReadTestWrite } from "./schemas.js";
import { createShareFiles, type ShareKind } from "./share-files.js";
import { availableSpace, failedForLackOfRoom } from "./space.js";
import type { StorageServerStatus } from "./status.js";

const PROTOCOL_KEY = "http://allmydata.org/tahoe/protocols/storage/v1";
/** What Tahoe-LAFS announces: 69105 TB, far above anything a client will write. */
const MAXIMUM_MUTABLE_SHARE_SIZE = 69105n * 10n ** 12n;
/**
 * PATCH bodies go to disk in writes of about this size, made of the pieces as received
 * (never joined). A Tahoe PATCH of about 1 MB is one write; a larger one is written while
 * the rest arrives. Smaller writes measured slower: each one wakes a thread-pool thread.
 */
export const PATCH_WRITE_BATCH = 1024 * 1024;
const utf8 = (text: string) => plainBytes(Buffer.from(text, "utf8"));

type Params = { si?: string; shnum?: string };
type Secrets = Map<SecretKind, Buffer>;
type Handler = (request: FastifyRequest, reply: FastifyReply, secrets: Secrets) => Promise<unknown>;

function sendCbor(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply.code(status).header("content-type", "application/cbor").send(encodeCbor(value));
}

/**
 * Registers every /storage/v1/... route of Tahoe-LAFS's GBS protocol on `app`, in its
 * own encapsulated scope (its content parser, hooks and error handler touch nothing
 * else). Clears shares/incoming first: uploads do not survive a restart.
 */
export async function storageServerPlugin(
  app: FastifyInstance,
  options: StorageServerOptions,
): Promise<{ status(): StorageServerStatus }> {
  checkOptions(options);
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const readonly = options.readonly ?? false;
  const layout = storageLayout(options.storageDir);
  await rm(layout.incoming, { recursive: true, force: true });
  await mkdir(layout.incoming, { recursive: true });
  const space = () => availableSpace(layout.root, options.reservedSpace ?? 0, readonly);
  const lock = createKeyedLock();
  const corruption = createCorruptionLog({ sharesDir: layout.shares, logger, now });
  const shareFiles = createShareFiles(layout.shares, (path, problem) =>
    corruption.report(path, "unknown", problem),
  );
  const immutable = createImmutableStore({ layout, shareFiles, now, space, lock, logger });
  const mutable = createMutableStore({
    layout,
    shareFiles,
    now,
    space: () => immutable.available(),
    readonly,
    nodeId: Uint8Array.from(options.writeEnablerNodeId),
    lock,
    uploading: (index, number) => immutable.uploading(index, number),
  });
  // Read-test-write bodies are held whole; together they stay within one budget.
  const bufferedBodies = createByteBudget(LIMITS.bufferedBodies, TIMEOUTS.bufferedBodyWait);
  const bodyIdleMs = options.bodyIdleTimeoutMs ?? TIMEOUTS.bodyIdle;
  const bodyIdle = (what: string): IdleLimit => ({
    ms: bodyIdleMs,
    error: () =>
      new StorageServerError(
        "TAHOE_ERR_STORAGE_SERVER_BODY_TIMEOUT",
        408,
        `${what}: no body bytes arrived for ${bodyIdleMs} ms; the request was dropped`,
        { hint: "send the request again; a PATCH's range is free for it now" },
      ),
  });
  const advisories = createAdvisoryStore({
    dir: layout.advisories,
    now,
    space: () => immutable.available(),
  });
  await advisories.load();
  const crawler = createLeaseCrawler({
    layout,
    shareFiles,
    lock,
    now,
    logger,
    corruption,
    policy: { ...(options.expiry ?? DEFAULT_EXPIRY_POLICY) },
    ...(options.leaseCrawler ? { pacing: options.leaseCrawler } : {}),
  });
  const expectedAuthorization = Buffer.from(authorizationValue(options.swissnum), "latin1");
  const applicationVersion = options.applicationVersion ?? "lafs-ts/0.0.0";

  await app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      // Bodies stay streams: each handler reads its own, after authorisation, with its own limit.
      scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

      const sweep = setInterval(() => {
        immutable.expireIdle().catch((error) => logger.warn({ err: error }, "expiring idle uploads failed"));
      }, 60_000);
      sweep.unref();
      crawler.start();
      scope.addHook("onClose", async () => {
        clearInterval(sweep);
        await crawler.stop();
        await immutable.close();
      });

      scope.addHook("onRequest", async (request) => {
        checkAuthorization(request.raw, expectedAuthorization);
      });

      scope.setNotFoundHandler((request, reply) => answerNoEndpoint(request, reply, expectedAuthorization));

      scope.setErrorHandler(async (error, request, reply) => {
        settleUnreadBody(request, reply);
        let refusal = asRefusal(error, () => writing(request));
        // Node's recursive mkdir reports ENOENT when the disk refused a parent directory with ENOSPC.
        if (refusal === undefined && (await failedForLackOfRoom(error, layout.root))) {
          refusal = storageFull(writing(request), error);
        }
        if (refusal === undefined) {
          logger.error({ err: error, url: request.url }, "storage request failed");
          return sendRefusal(reply, internalError());
        }
        await noteDamage(refusal, request);
        if (refusal.code === "TAHOE_ERR_STORAGE_SERVER_FULL") {
          // The operator's to fix, not a bug: one line, no stack.
          logger.warn({ code: refusal.code, url: request.url }, refusal.message);
        } else if (refusal.code === "TAHOE_ERR_STORAGE_SERVER_CORRUPT_CONTAINER") {
          logger.debug({ code: refusal.code, url: request.url }, refusal.message);
        } else if (refusal.status >= 500) {
          logger.error({ err: refusal, url: request.url }, "storage request failed");
        } else logger.debug({ code: refusal.code, url: request.url }, refusal.message);
        return sendRefusal(reply, refusal);
      });

      /** A damaged container goes to the corruption log; so does a share a read or advisory could not find because its header is unrecognised. */
      const noteDamage = async (refusal: StorageServerError, request: FastifyRequest) => {
        const kind = request.url.includes("/mutable/")
          ? "mutable"
          : request.url.includes("/immutable/")
            ? "immutable"
            : "unknown";
        if (refusal instanceof CorruptContainerError) {
          corruption.report(refusal.path, kind, refusal.problem);
          return;
        }
        const { si: index, shnum: number } = request.params as Params;
        if (refusal.status !== 404 || index === undefined || number === undefined) return;
        // shareFiles reports an unrecognised header to the corruption log.
        try {
          await shareFiles.kindOf(
            sharePath(layout.shares, parseStorageIndex(index), parseShareNumber(number)),
          );
        } catch {
          // Only a report: a file that cannot be read stays a plain 404.
        }
      };

      const route = (
        method: "GET" | "PUT" | "POST" | "PATCH",
        url: string,
        spec: { secrets?: SecretKind[]; cbor?: boolean },
        handler: Handler,
      ) => {
        scope.route({
          method,
          url,
          handler: async (request, reply) => {
            const secrets = extractSecrets(request.raw, spec.secrets ?? []);
            if (spec.cbor) checkAcceptsCbor(request.headers.accept);
            await immutable.expireIdle();
            return handler(request, reply, secrets);
          },
        });
      };
      const si = (request: FastifyRequest) => parseStorageIndex((request.params as Params).si ?? "");
      const shnum = (request: FastifyRequest) => parseShareNumber((request.params as Params).shnum ?? "");
      const leaseSecrets = (s: Secrets) => ({
        renew: s.get("lease-renew-secret")!,
        cancel: s.get("lease-cancel-secret")!,
      });
      const cborBody = async (request: FastifyRequest, limit: number, what: string) =>
        (await cborBodyAndBytes(request, limit, what)).value;
      /** The decoded body and the buffer it was decoded from (byte strings in `value` point into it). */
      const cborBodyAndBytes = async (request: FastifyRequest, limit: number, what: string) => {
        checkCborContentType(request.headers["content-type"]);
        const body = await readBody(
          request.body,
          request.headers["content-length"],
          limit,
          (size) =>
            tooLarge(
              `${what}: the body${size === undefined ? "" : ` of ${size} bytes`} is over the ${limit}-byte limit`,
              `${what} bodies are at most ${limit} bytes`,
            ),
          bodyIdle(what),
          request.raw.socket instanceof Socket,
        );
        return { value: decodeCbor(body, what), bytes: body };
      };

      route("GET", "/version", { cbor: true }, async (_request, reply) => {
        // What a new share may take: uploads in progress have promised the rest away.
        const free = await immutable.available();
        return sendCbor(
          reply,
          200,
          new Map<Uint8Array, unknown>([
            [
              utf8(PROTOCOL_KEY),
              new Map<Uint8Array, unknown>([
                // The most one new upload secret may reserve (RESERVATION_FRACTION of it).
                [utf8("maximum-immutable-share-size"), Math.floor(free * RESERVATION_FRACTION)],
                [utf8("maximum-mutable-share-size"), MAXIMUM_MUTABLE_SHARE_SIZE],
                [utf8("available-space"), free],
              ]),
            ],
            [utf8("application-version"), utf8(applicationVersion)],
          ]),
        );
      });

      route(
        "PUT",
        "/lease/:si",
        { secrets: ["lease-renew-secret", "lease-cancel-secret"] },
        async (request, reply, s) => {
          const index = si(request);
          const count = await lock(`bucket/${index}`, () =>
            renewAllLeases(shareFiles, index, leaseSecrets(s), leaseExpiration(now()), mutableNodeId()),
          );
          if (count === 0) throw notFound(`no shares of storage index ${index} to lease`);
          return reply.code(204).send();
        },
      );
      const mutableNodeId = () => Uint8Array.from(options.writeEnablerNodeId);

      route(
        "POST",
        "/immutable/:si",
        { secrets: ["lease-renew-secret", "lease-cancel-secret", "upload-secret"], cbor: true },
        async (request, reply, s) => {
          const index = si(request);
          const body = parseAllocateRequest(await cborBody(request, LIMITS.allocateBody, "allocate request"));
          const result = await immutable.allocate(
            index,
            body.shareNumbers,
            body.allocatedSize,
            s.get("upload-secret")!,
            leaseSecrets(s),
          );
          return sendCbor(
            reply,
            200,
            new Map([
              ["already-have", new Set(result.alreadyHave)],
              ["allocated", new Set(result.allocated)],
            ]),
          );
        },
      );

      route(
        "PATCH",
        "/immutable/:si/:shnum",
        { secrets: ["upload-secret"], cbor: true },
        async (request, reply, s) => {
          const index = si(request);
          const number = shnum(request);
          const range = parseContentRange(request.headers["content-range"]);
          const tooLong = (length: number) => (size: number | undefined) =>
            length > LIMITS.patchBody
              ? tooLarge(
                  `a PATCH of ${length} bytes is over this server's ${LIMITS.patchBody}-byte limit`,
                  "send the share in smaller PATCH requests",
                )
              : badBody(
                  `the body${size === undefined ? "" : ` of ${size} bytes`} is longer than the ${length} bytes Content-Range names`,
                );
          const contentLength = request.headers["content-length"];
          const result = await immutable.write(index, number, s.get("upload-secret")!, range, {
            // A request from a real socket went through Node's HTTP parser, which copies each
            // body chunk into a buffer of its own; an injected test request may not.
            freshPieces: request.raw.socket instanceof Socket,
            stream: (length, sink) =>
              streamBody(
                request.body,
                contentLength,
                Math.min(length, LIMITS.patchBody),
                tooLong(length),
                sink,
                PATCH_WRITE_BATCH,
                2,
                bodyIdle(`PATCH of share ${number} of ${index}`),
              ),
          });
          return reply
            .code(result.complete ? 201 : 200)
            .header("content-type", "application/cbor")
            .send(encodeRequired(result.required));
        },
      );

      route(
        "PUT",
        "/immutable/:si/:shnum/abort",
        { secrets: ["upload-secret"] },
        async (request, reply, s) => {
          await immutable.abort(si(request), shnum(request), s.get("upload-secret")!);
          return reply.code(200).send();
        },
      );

      route("GET", "/immutable/:si/shares", { cbor: true }, async (request, reply) => {
        return sendCbor(reply, 200, new Set(await immutable.list(si(request))));
      });

      route("GET", "/immutable/:si/:shnum", {}, async (request, reply) => {
        const index = si(request);
        const number = shnum(request);
        return sendShare(request, reply, await immutable.openShare(index, number));
      });

      const corrupt = (kind: ShareKind) => async (request: FastifyRequest, reply: FastifyReply) => {
        const index = si(request);
        const number = shnum(request);
        const share = await (kind === "immutable" ? immutable : mutable).openShare(index, number);
        await share.release();
        const reason = parseCorruptionAdvisory(
          await cborBody(request, LIMITS.corruptBody, "corruption advisory"),
        );
        const path = await advisories.write(kind, index, number, reason);
        logger.warn({ si: index, shnum: number, kind, path }, "client reports a corrupt share");
        return reply.code(200).send();
      };
      route("POST", "/immutable/:si/:shnum/corrupt", {}, corrupt("immutable"));

      route(
        "POST",
        "/mutable/:si/read-test-write",
        { secrets: ["write-enabler", "lease-renew-secret", "lease-cancel-secret"], cbor: true },
        async (request, reply, s) => {
          const index = si(request);
          // Room for the body is claimed before a byte of it is read, and held until the
          // reply is built (the parsed vectors point into the body).
          const declared = Number(request.headers["content-length"]);
          const release = await bufferedBodies.acquire(
            Number.isSafeInteger(declared) && declared >= 0
              ? Math.min(declared, LIMITS.readTestWriteBody)
              : LIMITS.readTestWriteBody,
            `read-test-write on ${index}`,
          );
          let result: Awaited<ReturnType<typeof mutable.readTestWrite>>;
          let bytes: Buffer | undefined;
          try {
            const body = await cborBodyAndBytes(request, LIMITS.readTestWriteBody, "read-test-write request");
            bytes = body.bytes;
            result = await mutable.readTestWrite(
              index,
              s.get("write-enabler")!,
              leaseSecrets(s),
              parseReadTestWrite(body.value),
            );
          } finally {
            // The body is written or refused: give its memory back before the budget lets the next in.
            if (bytes !== undefined) freeNow(bytes);
            release();
          }
          const data = new Map<number, Uint8Array[]>();
          for (const [n, reads] of result.data) data.set(n, reads.map(plainBytes));
          return sendCbor(
            reply,
            200,
            new Map<string, unknown>([
              ["success", result.success],
              ["data", data],
            ]),
          );
        },
      );

      route("GET", "/mutable/:si/shares", { cbor: true }, async (request, reply) => {
        return sendCbor(reply, 200, new Set(await mutable.list(si(request))));
      });

      route("GET", "/mutable/:si/:shnum", {}, async (request, reply) => {
        const index = si(request);
        const number = shnum(request);
        return sendShare(request, reply, await mutable.openShare(index, number));
      });
      route("POST", "/mutable/:si/:shnum/corrupt", {}, corrupt("mutable"));
    },
    { prefix: "/storage/v1" },
  );

  return {
    status: () => ({
      corruptShares: { count: corruption.count(), records: corruption.records() },
      corruptionAdvisories: {
        ...advisories.tally(),
        limits: { ...ADVISORY_LIMITS },
        recent: advisories.recent(),
      },
      leaseCrawler: crawler.status(),
    }),
  };
}

/** What a request that hit a full disk could not write, for the 507's words. */
function writing(request: FastifyRequest): string {
  const { si, shnum } = request.params as Params;
  const route = request.routeOptions.url ?? "";
  if (route.endsWith("/corrupt")) return `a corruption advisory about share ${shnum} of ${si}`;
  if (route.endsWith("/read-test-write")) return `the writes to mutable slot ${si}`;
  if (request.method === "PATCH") {
    const range = String(request.headers["content-range"] ?? "").slice(0, 80);
    return `${range === "" ? "bytes" : range} of immutable share ${shnum} of ${si}`;
  }
  if (request.method === "POST" && shnum === undefined && si !== undefined) {
    return `new immutable share containers for storage index ${si}`;
  }
  if (route.startsWith("/storage/v1/lease")) return `the leases of storage index ${si}`;
  return `${request.method} ${request.url.slice(0, 120)}`;
}

/**
 * Reads up to this many bytes into one buffer and sends it: one positional read instead of
 * a stream's many 64 KiB ones. Longer reads (a whole large share, no Range) are streamed.
 */
const READ_IN_ONE_PIECE = 8 * 1024 * 1024;
const STREAM_CHUNK = 1024 * 1024;

/** A share read: 206 for a Range (end clipped, total `*`), 204 past the end, 200 for the whole share. */
async function sendShare(
  request: FastifyRequest,
  reply: FastifyReply,
  share: OpenedShare,
): Promise<FastifyReply> {
  let first = 0;
  let last = share.dataLength - 1;
  const header = request.headers.range;
  let streaming = false;
  try {
    if (header !== undefined) {
      const range = parseRange(header);
      if (range.first >= share.dataLength) {
        return reply.code(204).header("content-type", "application/octet-stream").send();
      }
      first = range.first;
      last = Math.min(range.last, share.dataLength - 1);
    }
    const length = Math.max(0, last - first + 1);
    let data: Buffer | undefined;
    if (length <= READ_IN_ONE_PIECE) {
      data = length === 0 ? Buffer.alloc(0) : await readFully(share.fh, length, share.dataOffset + first);
      if (data.length < length) throw corruptContainer(share.path, "the file ends inside its share data");
    }
    reply.header("content-type", "application/octet-stream");
    if (header !== undefined) reply.code(206).header("content-range", `bytes ${first}-${last}/*`);
    else reply.code(200);
    if (data !== undefined) {
      // The read's own buffer: once the reply is handed to the socket, its memory goes back now,
      // not at a collection. Left to the GC, a download's MiB-sized reads made the server spend
      // a third of its time in full collections (docs/performance.md, "Download speed (issue 23)").
      const read = data;
      reply.raw.once("finish", () => freeNow(read));
      return reply.send(data);
    }
    reply.header("content-length", String(length));
    const stream = share.fh.createReadStream({
      start: share.dataOffset + first,
      end: share.dataOffset + last,
      highWaterMark: STREAM_CHUNK,
      // The handle belongs to the caller's pool, not to the stream.
      autoClose: false,
    });
    streaming = true;
    // Without autoClose the stream is not destroyed at its end, so no "close" follows "end".
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      void Promise.resolve(share.release()).catch(() => undefined);
    };
    stream.once("end", release);
    stream.once("close", release);
    stream.once("error", release);
    return reply.send(stream);
  } finally {
    if (!streaming) await share.release();
  }
}
