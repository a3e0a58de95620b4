import { base32Encode } from "@lafs/crypto";
import type { ChkSharesEncoding } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import { happinessOf, type Placement, type PlacementRefusal, placeShares } from "@lafs/placement";
import { UploadError } from "./transfer-errors.js";
import type { UploadOptions } from "./uploader-api.js";
import { DEFAULT_BATCH_SIZE } from "./uploader-bucket.js";
import { initialServerStates, liveHoldings, placementServers, type ServerState } from "./uploader-servers.js";

const DEFAULT_PATCHES_IN_FLIGHT = 2;
/**
 * What a share may have queued or in flight, in batches: 2, so two whole PATCHes can be in
 * flight and a link with a long round trip (Tor) never waits for a reply before the next body
 * goes. 4 MB at the default batch, 1 MB more than the 1 MB batches held; with 1.5 batches
 * (3 MB) one PATCH is in flight while half of the next is encoded. Measured on an idle 2-core
 * machine, 2-of-4, 7 rounds: 92.8 MB/s against 83.8 with 3 MB, at the same client peak RSS
 * (docs/performance.md, "Issue 23: request sizes (session 4)").
 */
const DEFAULT_BUFFERED_BATCHES = 2;

/** One CHK upload in progress: its settings, every server's state, and how it is going. */
export interface Upload {
  readonly encoding: ChkSharesEncoding;
  readonly options: UploadOptions;
  readonly logger: Logger;
  readonly si: Uint8Array;
  readonly shareSize: number;
  readonly signal: AbortSignal | undefined;
  readonly batchSize: number;
  readonly maxInFlight: number;
  readonly maxBuffered: number;
  readonly states: readonly ServerState[];
  readonly byId: ReadonlyMap<string, ServerState>;
  /** Servers that failed or filled up during the upload, in the order they did. */
  readonly failed: ServerState[];
  /** Aborts sent to servers; the upload waits for them before it returns or throws. */
  readonly cleanups: Promise<void>[];
  /** The main pass has begun sending shares: from now on a lost server re-checks happiness. */
  streaming: boolean;
  /** Set once the upload cannot succeed; the segment pump throws it at its next step. */
  fatal: Error | undefined;
  bytesSent: number;
  writeRequests: number;
}

export function createUploadState(
  encoding: ChkSharesEncoding,
  options: UploadOptions,
  logger: Logger,
): Upload {
  const si = encoding.storageIndex;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxInFlight = options.patchesInFlight ?? DEFAULT_PATCHES_IN_FLIGHT;
  // Every server's secrets up front: a bad lease seed fails the upload before any request.
  const states = initialServerStates(
    options.servers,
    options.leaseSecret,
    si,
    encoding.shareSize,
    options.corruptShares,
  );
  return {
    encoding,
    options,
    logger,
    si,
    shareSize: encoding.shareSize,
    signal: options.signal,
    batchSize,
    maxInFlight,
    maxBuffered: options.maxBufferedPerShare ?? Math.max(DEFAULT_BUFFERED_BATCHES, maxInFlight) * batchSize,
    states,
    byId: new Map(states.map((s) => [s.server.id, s])),
    failed: [],
    cleanups: [],
    streaming: false,
    fatal: undefined,
    bytesSent: 0,
    writeRequests: 0,
  };
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How messages name the file: its size and storage index. */
export function what(up: Upload): string {
  return `${up.encoding.plan.size}-byte file ${base32Encode(up.si)}`;
}

export function abortedError(up: Upload): UploadError {
  return new UploadError("TAHOE_ERR_UPLOAD_ABORTED", `upload of ${what(up)} cancelled`, {
    hint: "the upload was cancelled on purpose; unfinished shares were aborted on the servers",
    cause: up.signal?.reason,
  });
}

/** Placement over the servers as they stand now. */
export function place(up: Upload): Placement {
  const { k, happy, n } = up.options;
  return placeShares({ storageIndex: up.si, servers: placementServers(up.states), k, happy, n });
}

export function holdingsNow(up: Upload, onlyComplete: boolean): Map<string, number[]> {
  return liveHoldings(up.states, onlyComplete);
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
export function requiredWords(placement: { readonly refusals: readonly PlacementRefusal[] }): string {
  return placement.refusals
    .filter(
      (r) => REQUIRED_SERVER_REFUSALS.has(r.code) || r.code === "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_WRITABLE",
    )
    .map((r) => r.message)
    .join("\n");
}

export function unhappy(up: Upload, why: string, cause?: unknown): UploadError {
  const { k, happy } = up.options;
  const happiness = happinessOf(holdingsNow(up, false));
  const names = up.failed.map((st) => `${st.label}: ${st.failure}`);
  return new UploadError(
    "TAHOE_ERR_UPLOAD_UNHAPPY",
    `upload of ${what(up)} failed: shares could be placed on only ${happiness} server(s) such that any ${k} of them have enough shares to recover the file, but we were asked to place shares on at least ${happy} such servers` +
      (names.length > 0 ? `; server(s) failed during the upload: ${names.join("; ")}` : "") +
      (why ? `\n${why}` : ""),
    {
      hint: "Unfinished shares were aborted and nothing claims success. Check the failed servers, or connect more servers, then upload again.",
      happiness,
      failedServers: up.failed.map((st) => st.server.id),
      cause,
    },
  );
}
