import { randomBytes } from "node:crypto";
import { base32Encode } from "@lafs/crypto";
import {
  type ByteSource,
  type ChkSharesEncoding,
  type ChkSharesResult,
  formatLiteralCap,
  LITERAL_MAX_SIZE,
  type ShareWrite,
  startChkEncode,
  startChkEncodeOfCrypttext,
  uebHash,
} from "@lafs/immutable";
import { type Logger, silentLogger } from "@lafs/interface";
import {
  happinessOf,
  type Placement,
  type PlacementRefusal,
  PlacementRefusedError,
  placeShares,
} from "@lafs/placement";
import { isStorageClientError } from "./errors.js";
import type { UploadServer } from "./grid-server.js";
import { SHARE_QUERY_TIMEOUT_MS } from "./server-selection.js";
import { UploadError } from "./transfer-errors.js";
import { type BucketWriter, createBucketWriter, DEFAULT_BATCH_SIZE } from "./uploader-bucket.js";
import { discoverShares } from "./uploader-discovery.js";
import {
  heldShares,
  initialServerStates,
  liveHoldings,
  placementServers,
  type ServerState,
  sorted,
} from "./uploader-servers.js";

export interface UploadOptions {
  /** Every known server, with its connection state and the user's allowed/required flags. */
  readonly servers: readonly UploadServer[];
  /** The node's 32-byte `private/secret`, from which every lease secret is derived. */
  readonly leaseSecret: Uint8Array;
  /** shares.needed, shares.happy, shares.total. */
  readonly k: number;
  readonly happy: number;
  readonly n: number;
  /** Default 1 MiB (@lafs/immutable's DEFAULT_MAX_SEGMENT_SIZE, Tahoe 1.20's). */
  readonly maxSegmentSize?: number | undefined;
  /** The node's convergence secret (private/convergence); or `randomKey: true`. */
  readonly convergenceSecret?: Uint8Array | undefined;
  readonly randomKey?: boolean | undefined;
  /**
   * The file's key when the caller already has it (the convergent key hashed while the file
   * was spooled); takes the place of convergenceSecret and randomKey.
   */
  readonly encryptionKey?: Uint8Array | undefined;
  /**
   * The source is the file's crypttext and this its storage index (a repair from a verify cap):
   * nothing is encrypted, and the result's cap is the verify cap. Takes the place of the key options.
   */
  readonly crypttextOf?: Uint8Array | undefined;
  /**
   * Shares a server holds that a verify found corrupt, by server id. They count for nothing,
   * and their server takes no new share in this upload: GBS cannot replace an immutable share
   * and answers "already have" for its number, so the number goes to another server.
   */
  readonly corruptShares?: ReadonlyMap<string, readonly number[]> | undefined;
  /**
   * The UEB hash the shares must have (a repair knows it from the cap): checked before any
   * share's last bytes go out, so a mismatch completes no share.
   */
  readonly expectedUebHash?: Uint8Array | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
  /** PATCH body size to aim for; default 1,000,000 bytes like Tahoe. */
  readonly batchSize?: number | undefined;
  /** PATCHes in flight per share; default 2, so a server never waits for the next body. */
  readonly patchesInFlight?: number | undefined;
  /** Bytes queued or in flight per share before the encoder waits; default (patchesInFlight + 1) × batchSize. */
  readonly maxBufferedPerShare?: number | undefined;
  /** Timeout of the "which shares do you have" queries; default 15 s like Tahoe. */
  readonly queryTimeoutMs?: number | undefined;
  /** How often to re-place shares of servers that failed mid-upload; default 2. */
  readonly maxReplacementRounds?: number | undefined;
}

export interface UploadResult {
  readonly kind: "chk" | "lit";
  /** `URI:CHK:…` or `URI:LIT:…`. */
  readonly cap: string;
  /** `URI:CHK-Verifier:…`; undefined for LIT. */
  readonly verifyCap: string | undefined;
  /** Undefined for LIT. */
  readonly storageIndex: Uint8Array | undefined;
  readonly size: number;
  readonly k: number;
  readonly happy: number;
  readonly n: number;
  /** Servers-of-happiness over the shares the live servers now hold (0 for LIT). */
  readonly happiness: number;
  /** Every share counted, by server id: reused ones and uploaded ones. */
  readonly sharesByServer: ReadonlyMap<string, readonly number[]>;
  /** The shares this upload wrote, by server id. */
  readonly uploadedShares: ReadonlyMap<string, readonly number[]>;
  /** Shares the servers already held (leases renewed), by server id. */
  readonly reusedShares: ReadonlyMap<string, readonly number[]>;
  /** Servers that failed during the upload, and why. */
  readonly failedServers: readonly { readonly id: string; readonly reason: string }[];
  /** Share bytes acknowledged by servers. */
  readonly bytesSent: number;
  /** PATCH requests acknowledged. */
  readonly writeRequests: number;
}

const ABORT_TIMEOUT_MS = 5_000;
const DEFAULT_PATCHES_IN_FLIGHT = 2;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const REQUIRED_SERVER_REFUSALS: ReadonlySet<string> = new Set([
  "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_ALLOWED",
  "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED",
  "TAHOE_ERR_PLACEMENT_REQUIRED_READ_ONLY",
]);

/**
 * Placement's words about required servers and about full ones (which it names); its happiness
 * line would repeat our headline.
 */
function requiredWords(placement: { readonly refusals: readonly PlacementRefusal[] }): string {
  return placement.refusals
    .filter(
      (r) => REQUIRED_SERVER_REFUSALS.has(r.code) || r.code === "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_WRITABLE",
    )
    .map((r) => r.message)
    .join("\n");
}

/**
 * Uploads an immutable file: LIT for 55 bytes or less (nothing is sent), else CHK shares
 * placed by servers-of-happiness on the allowed servers, with every required server holding
 * a share. A refused placement throws @lafs/placement's PlacementRefusedError before any
 * allocate or write. Shares the servers already hold are reused. A server that fails during
 * the upload has its buckets aborted; if happiness can no longer be reached the whole upload
 * is aborted (TAHOE_ERR_UPLOAD_UNHAPPY), otherwise its shares are re-placed on other servers
 * after the main pass by encoding the source again with the same key (so the source must be
 * re-readable, as every ByteSource is).
 */
export async function uploadImmutable(source: ByteSource, options: UploadOptions): Promise<UploadResult> {
  const { k, happy, n } = options;
  if (source.size <= LITERAL_MAX_SIZE && options.crypttextOf === undefined) {
    const data = await source.read(0, source.size);
    if (data.length !== source.size) {
      throw new UploadError(
        "TAHOE_ERR_UPLOAD_SOURCE_CHANGED",
        `${source.name}: expected ${source.size} bytes, read ${data.length}`,
        {
          hint: "the file changed size while it was being uploaded; upload it again when nothing is writing to it",
        },
      );
    }
    return {
      kind: "lit",
      cap: formatLiteralCap(data),
      verifyCap: undefined,
      storageIndex: undefined,
      size: source.size,
      k,
      happy,
      n,
      happiness: 0,
      sharesByServer: new Map(),
      uploadedShares: new Map(),
      reusedShares: new Map(),
      failedServers: [],
      bytesSent: 0,
      writeRequests: 0,
    };
  }
  const logger = (options.logger ?? silentLogger).child({ component: "uploader" });
  const encodeParams = { k, n, maxSegmentSize: options.maxSegmentSize };
  const { crypttextOf } = options;
  if (crypttextOf !== undefined) {
    const encode = () => startChkEncodeOfCrypttext(source, { ...encodeParams, storageIndex: crypttextOf });
    return createUpload(encode(), async () => encode(), options, logger).run();
  }
  const encoding = await startChkEncode(
    source,
    options.encryptionKey !== undefined
      ? { ...encodeParams, encryptionKey: options.encryptionKey }
      : options.randomKey
        ? { ...encodeParams, randomKey: true }
        : { ...encodeParams, convergenceSecret: options.convergenceSecret },
  );
  // Replacement shares come from the same source encoded again with the same key.
  const again = () => startChkEncode(source, { ...encodeParams, encryptionKey: encoding.key });
  return createUpload(encoding, again, options, logger).run();
}

function createUpload(
  encoding: ChkSharesEncoding,
  encodeAgain: () => Promise<ChkSharesEncoding>,
  options: UploadOptions,
  logger: Logger,
) {
  const { k, happy, n, signal } = options;
  const si = encoding.storageIndex;
  const shareSize = encoding.shareSize;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxInFlight = options.patchesInFlight ?? DEFAULT_PATCHES_IN_FLIGHT;
  const maxBuffered = options.maxBufferedPerShare ?? (maxInFlight + 1) * batchSize;
  // Every server's secrets up front: a bad lease seed fails the upload before any request.
  const states = initialServerStates(
    options.servers,
    options.leaseSecret,
    si,
    shareSize,
    options.corruptShares,
  );
  const byId = new Map(states.map((s) => [s.server.id, s]));
  const failed: ServerState[] = [];
  const cleanups: Promise<void>[] = [];
  let streaming = false;
  let fatal: Error | undefined;
  let bytesSent = 0;
  let writeRequests = 0;

  const abortedError = () =>
    new UploadError("TAHOE_ERR_UPLOAD_ABORTED", `upload of ${what()} cancelled`, {
      hint: "the upload was cancelled on purpose; unfinished shares were aborted on the servers",
      cause: signal?.reason,
    });
  const what = () => `${encoding.plan.size}-byte file ${base32Encode(si)}`;

  const place = (): Placement =>
    placeShares({ storageIndex: si, servers: placementServers(states), k, happy, n });
  const holdingsNow = (onlyComplete: boolean) => liveHoldings(states, onlyComplete);

  /**
   * Sent at once, never behind the share's writes: kill() cancels those first. A server found
   * hung gets none: it would only hold the upload up, and it drops the upload itself when idle.
   */
  const sendAbort = (st: ServerState, shareNumber: number, uploadSecret: Uint8Array) => {
    if (st.server.lost?.aborted) return;
    cleanups.push(
      st.server.client
        .abort(si, shareNumber, uploadSecret, { timeoutMs: ABORT_TIMEOUT_MS })
        .catch((error: unknown) =>
          logger.debug({ server: st.server.id, share: shareNumber, error: reasonOf(error) }, "abort failed"),
        ),
    );
  };

  const abortBucket = (st: ServerState, b: BucketWriter) => {
    const wasComplete = b.complete;
    b.kill();
    if (!wasComplete) sendAbort(st, b.shareNumber, b.uploadSecret);
  };

  const unhappy = (why: string, cause?: unknown): UploadError => {
    const happiness = happinessOf(holdingsNow(false));
    const names = failed.map((st) => `${st.label}: ${st.failure}`);
    return new UploadError(
      "TAHOE_ERR_UPLOAD_UNHAPPY",
      `upload of ${what()} failed: shares could be placed on only ${happiness} server(s) such that any ${k} of them have enough shares to recover the file, but we were asked to place shares on at least ${happy} such servers` +
        (names.length > 0 ? `; server(s) failed during the upload: ${names.join("; ")}` : "") +
        (why ? `\n${why}` : ""),
      {
        hint: "Unfinished shares were aborted and nothing claims success. Check the failed servers, or connect more servers, then upload again.",
        happiness,
        failedServers: failed.map((st) => st.server.id),
        cause,
      },
    );
  };

  /** Tahoe re-checks happiness whenever a server drops out; stop early rather than push a doomed file. */
  const recheck = (error: unknown) => {
    if (streaming && fatal === undefined) {
      const placement = place();
      if (!placement.ok) fatal = unhappy(requiredWords(placement), error);
    }
  };

  /**
   * A full server (HTTP 507, or an allocate that got nothing for lack of room) keeps the shares
   * it completed and is read-only from now on: its unfinished shares are aborted and placed on
   * other servers after the main pass, or the upload fails in placement's words naming it.
   */
  const serverFull = (st: ServerState, error: unknown) => {
    if (signal?.aborted) {
      fatal ??= abortedError();
      return;
    }
    if (!st.alive || st.full) return;
    st.full = true;
    st.writable = false;
    st.failure = reasonOf(error);
    failed.push(st);
    logger.warn(
      { server: st.server.id, error: st.failure },
      `server ${st.label} is full: its unfinished shares go to other servers`,
    );
    for (const b of st.buckets.values()) if (!b.complete) abortBucket(st, b);
    recheck(error);
  };

  const serverFailed = (st: ServerState, error: unknown) => {
    if (signal?.aborted) {
      fatal ??= abortedError();
      return;
    }
    if (isStorageClientError(error, "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL")) {
      serverFull(st, error);
      return;
    }
    if (!st.alive) return;
    st.alive = false;
    st.failure = reasonOf(error);
    if (!failed.includes(st)) failed.push(st);
    logger.warn({ server: st.server.id, error: st.failure }, "storage server failed during upload");
    for (const b of st.buckets.values()) abortBucket(st, b);
    recheck(error);
  };

  // The node's liveness probe finding a server hung cancels its writes at once (GridServer.lost).
  const unwatch: (() => void)[] = [];
  for (const st of states) {
    const lost = st.server.lost;
    if (lost === undefined) continue;
    const onLost = () =>
      serverFailed(st, new Error(`server ${st.label} stopped answering (its liveness probe failed)`));
    if (lost.aborted) {
      st.alive = false;
      continue;
    }
    lost.addEventListener("abort", onLost, { once: true });
    unwatch.push(() => lost.removeEventListener("abort", onLost));
  }

  const newBucket = (st: ServerState, shareNumber: number, uploadSecret: Uint8Array): BucketWriter =>
    createBucketWriter({
      client: st.server.client,
      storageIndex: si,
      shareNumber,
      uploadSecret,
      batchSize,
      maxInFlight,
      signal,
      onFailure: (error) => serverFailed(st, error),
      onSent: (bytes) => {
        bytesSent += bytes;
        writeRequests++;
      },
    });

  const discover = () =>
    discoverShares(states, {
      storageIndex: si,
      n,
      shareSize,
      timeoutMs: options.queryTimeoutMs ?? SHARE_QUERY_TIMEOUT_MS,
      signal,
      logger,
      aborted: abortedError,
      serverFailed,
    });

  /**
   * Places, then allocates, until every allocate got what it asked for. Each round that changes
   * anything marks a server read-only or dead, so this ends. Throws PlacementRefusedError.
   * Allocations are not cancelled by the caller's signal: each must answer (or time out) so
   * that every bucket it made is known and can be aborted; one whose outcome is unknown gets an
   * abort for every share it asked for.
   */
  async function placeAndAllocate(): Promise<BucketWriter[]> {
    const created: BucketWriter[] = [];
    for (;;) {
      const placement = place();
      if (!placement.ok) throw new PlacementRefusedError(placement.refusals);
      let changed = false;
      await Promise.all(
        placement.servers
          .filter((plan) => plan.candidate)
          .map(async (plan) => {
            const st = byId.get(plan.id)!;
            const have = heldShares(st);
            const fresh = plan.newShares.filter((sn) => !have.has(sn));
            const renew = st.renewed ? [] : plan.keptShares.filter((sn) => st.existing.has(sn));
            if (fresh.length === 0 && renew.length === 0) return;
            const uploadSecret = randomBytes(20);
            try {
              const result = await st.server.client.allocate(
                si,
                {
                  shareNumbers: [...fresh, ...renew],
                  allocatedSize: shareSize,
                  uploadSecret,
                  ...st.lease,
                },
                st.server.lost ? { serverLost: st.server.lost } : undefined,
              );
              st.renewed = true;
              for (const sn of result.alreadyHave) if (sn < n && !st.corrupt.has(sn)) st.existing.add(sn);
              for (const sn of result.allocated) {
                const b = newBucket(st, sn, uploadSecret);
                st.buckets.set(sn, b);
                created.push(b);
              }
              const got = new Set([...result.allocated, ...result.alreadyHave]);
              if (fresh.some((sn) => !got.has(sn))) {
                // Another upload holds them, or the server is out of room: Tahoe treats it as read-only.
                st.writable = false;
                changed = true;
              }
            } catch (error) {
              if (isStorageClientError(error, "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL")) {
                // A 507 may follow a partial allocation; an allocate that got nothing made no bucket.
                if (error.status === 507) for (const sn of fresh) sendAbort(st, sn, uploadSecret);
                st.writable = false;
                logger.warn({ server: st.server.id, error: reasonOf(error) }, `server ${st.label} is full`);
              } else {
                // The server may have allocated before the answer was lost.
                for (const sn of fresh) sendAbort(st, sn, uploadSecret);
                serverFailed(st, error);
              }
              changed = true;
            }
          }),
      );
      if (signal?.aborted) throw abortedError();
      if (!changed) return created;
    }
  }

  /**
   * Queues one write's bytes on every bucket of their share, and releases each share's bytes
   * back to the encoder once every bucket sending them has had them acknowledged (at once for
   * shares this pass does not send), so the encoder frees its buffers without waiting for GC.
   */
  const sendWrite = (write: ShareWrite, byShare: ReadonlyMap<number, readonly BucketWriter[]>) => {
    for (let sn = 0; sn < write.data.length; sn++) {
      const list = byShare.get(sn);
      if (list === undefined) {
        write.release(sn);
        continue;
      }
      let left = list.length;
      const acked = () => {
        if (--left === 0) write.release(sn);
      };
      for (const b of list) b.write(write.offset, write.data[sn]!, acked);
    }
  };

  /** Runs one encoding pass, sending each share's bytes to the buckets given. */
  async function push(
    pass: ChkSharesEncoding,
    buckets: BucketWriter[],
    expectedUebHash?: Uint8Array,
  ): Promise<void> {
    const byShare = new Map<number, BucketWriter[]>();
    for (const b of buckets) byShare.set(b.shareNumber, [...(byShare.get(b.shareNumber) ?? []), b]);
    const { plan } = pass;
    const check = () => {
      if (signal?.aborted) fatal ??= abortedError();
      if (fatal) throw fatal;
    };
    for await (const write of pass.writes()) {
      check();
      if (expectedUebHash !== undefined && write.offset === plan.layout.plaintextHashTree) {
        // The trailer ends with the UEB: compare before it goes out, so no inconsistent share completes.
        const trailer = write.data[0]!;
        if (!uebHash(trailer.subarray(trailer.length - plan.uebSize)).equals(expectedUebHash)) {
          throw new UploadError(
            "TAHOE_ERR_UPLOAD_SOURCE_CHANGED",
            expectedUebHash === options.expectedUebHash
              ? `upload of ${what()}: the encoded shares' UEB hash is not the cap's (repair re-encoded the file differently); no share was completed`
              : `upload of ${what()}: the file changed while it was being uploaded (re-encoding it for replacement shares gave another file)`,
            {
              hint: "upload it again when nothing is writing to it",
              failedServers: failed.map((s) => s.server.id),
            },
          );
        }
      }
      sendWrite(write, byShare);
      const waits = buckets
        .filter((b) => !b.failed && b.buffered() > maxBuffered)
        .map((b) => b.drainTo(maxBuffered));
      if (waits.length > 0) await Promise.all(waits);
    }
    for (const b of buckets) b.flush();
    await Promise.all(buckets.map((b) => b.settled()));
    check();
    for (const b of buckets) {
      if (!b.failed && !b.complete) {
        const st = states.find((s) => s.buckets.get(b.shareNumber) === b)!;
        serverFailed(
          st,
          new Error(
            `share ${b.shareNumber}: every byte was written but the server did not report the share complete`,
          ),
        );
      }
    }
    check();
  }

  const requiredSatisfied = (holdings: Map<string, number[]>) =>
    states.every((st) => !st.server.required || holdings.has(st.server.id));

  const missingShares = (holdings: Map<string, number[]>) => {
    const have = new Set([...holdings.values()].flat());
    return Array.from({ length: n }, (_, i) => i).filter((sn) => !have.has(sn));
  };

  async function run(): Promise<UploadResult> {
    logger.info({ size: encoding.plan.size, k, happy, n, servers: states.length }, "upload starting");
    try {
      if (signal?.aborted) throw abortedError();
      await discover();
      const buckets = await placeAndAllocate();
      streaming = true;
      await push(encoding, buckets, options.expectedUebHash);
      const result: ChkSharesResult = encoding.result();
      const maxRounds = options.maxReplacementRounds ?? 2;
      for (let round = 0; failed.length > 0 && round < maxRounds; round++) {
        const holdings = holdingsNow(true);
        if (missingShares(holdings).length === 0 && requiredSatisfied(holdings)) break;
        let replacements: BucketWriter[];
        try {
          replacements = await placeAndAllocate();
        } catch (error) {
          if (error instanceof PlacementRefusedError) throw unhappy(requiredWords(error), error);
          throw error;
        }
        if (replacements.length === 0) break;
        logger.info(
          { shares: replacements.map((b) => b.shareNumber) },
          "re-sending shares of failed servers",
        );
        const again = await encodeAgain();
        await push(again, replacements, result.uebHash);
      }
      const holdings = holdingsNow(true);
      const happiness = happinessOf(holdings);
      if (happiness < happy || !requiredSatisfied(holdings)) {
        const placement = place();
        throw unhappy(requiredWords(placement));
      }
      await Promise.all(cleanups);
      const uploaded = new Map<string, number[]>();
      const reused = new Map<string, number[]>();
      for (const st of states) {
        if (!holdings.has(st.server.id)) continue;
        const mine = sorted([...st.buckets].filter(([, b]) => b.complete).map(([sn]) => sn));
        if (mine.length > 0) uploaded.set(st.server.id, mine);
        const old = sorted([...st.existing].filter((sn) => !mine.includes(sn)));
        if (old.length > 0) reused.set(st.server.id, old);
      }
      logger.info({ happiness, bytesSent, writeRequests, failed: failed.length }, "upload done");
      return {
        kind: "chk",
        cap: "readCap" in result && typeof result.readCap === "string" ? result.readCap : result.verifyCap,
        verifyCap: result.verifyCap,
        storageIndex: si,
        size: encoding.plan.size,
        k,
        happy,
        n,
        happiness,
        sharesByServer: holdings,
        uploadedShares: uploaded,
        reusedShares: reused,
        failedServers: failed.map((st) => ({ id: st.server.id, reason: st.failure ?? "" })),
        bytesSent,
        writeRequests,
      };
    } catch (error) {
      fatal ??= error instanceof Error ? error : new Error(String(error));
      for (const st of states) for (const b of st.buckets.values()) abortBucket(st, b);
      await Promise.all(cleanups);
      throw error;
    } finally {
      for (const u of unwatch.splice(0)) u();
    }
  }

  return { run };
}
