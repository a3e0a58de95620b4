import type { ChkSharesEncoding, ChkSharesResult } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import { happinessOf, PlacementRefusedError } from "@lafs/placement";
import { SHARE_QUERY_TIMEOUT_MS } from "./server-selection.js";
import type { UploadOptions, UploadResult } from "./uploader-api.js";
import type { BucketWriter } from "./uploader-bucket.js";
import { askExistingShares, checkShareSizeLimits, type DiscoveryOptions } from "./uploader-discovery.js";
import { encodeAhead } from "./uploader-encode-ahead.js";
import { abortBucket, abortEverything, serverFailed, watchLostServers } from "./uploader-failures.js";
import { placeAndAllocate } from "./uploader-placement-round.js";
import { pumpSegments } from "./uploader-segment-pump.js";
import { sorted } from "./uploader-servers.js";
import {
  abortedError,
  createUploadState,
  holdingsNow,
  place,
  requiredWords,
  type Upload,
  unhappy,
} from "./uploader-state.js";

const requiredSatisfied = (up: Upload, holdings: Map<string, number[]>) =>
  up.states.every((st) => !st.server.required || holdings.has(st.server.id));

const missingShares = (up: Upload, holdings: Map<string, number[]>) => {
  const have = new Set([...holdings.values()].flat());
  return Array.from({ length: up.options.n }, (_, i) => i).filter((sn) => !have.has(sn));
};

function discoveryOptions(up: Upload): DiscoveryOptions {
  return {
    storageIndex: up.si,
    n: up.options.n,
    shareSize: up.shareSize,
    timeoutMs: up.options.queryTimeoutMs ?? SHARE_QUERY_TIMEOUT_MS,
    signal: up.signal,
    logger: up.logger,
    aborted: () => abortedError(up),
    serverFailed: (st, error) => serverFailed(up, st, error),
  };
}

/** Stops and aborts the buckets allocated so far, and forgets them, so placement starts again. */
async function dropAllocations(up: Upload): Promise<void> {
  for (const st of up.states) {
    for (const b of st.buckets.values()) abortBucket(up, st, b);
    st.buckets.clear();
    // The next allocate renews the leases of shares the answers found.
    st.renewed = false;
  }
  await Promise.all(up.cleanups);
}

/**
 * Discovery, placement and allocation. Tahoe asks the servers which shares they hold, then
 * places and allocates: two round trips before the first byte. Here, when placement can
 * succeed without any existing share, the question and the allocation go out together, the
 * allocation on the placement made as if no server held a share. For a file nobody holds (the
 * usual case) the answers change nothing and that placement is the one Tahoe's order would
 * have made. When they do change something (a share found, a server slow or failed), or the
 * guess could not be placed, the allocations are aborted and placement starts again from the
 * answers, as in Tahoe's order.
 */
async function discoverAndAllocate(up: Upload): Promise<BucketWriter[]> {
  const options = discoveryOptions(up);
  await checkShareSizeLimits(up.states, options);
  if (!place(up).ok) {
    await askExistingShares(up.states, options);
    return placeAndAllocate(up);
  }
  const [asked, allocated] = await Promise.allSettled([
    askExistingShares(up.states, options),
    placeAndAllocate(up),
  ]);
  if (asked.status === "rejected") throw asked.reason;
  const refused = allocated.status === "rejected" && allocated.reason instanceof PlacementRefusedError;
  if (allocated.status === "rejected" && !refused) throw allocated.reason;
  if (allocated.status === "fulfilled" && !asked.value) return allocated.value;
  up.logger.debug({ refused }, "servers hold shares of this file or changed: placing again");
  await dropAllocations(up);
  return placeAndAllocate(up);
}

/**
 * Shares of servers that failed mid-upload go to other servers, by encoding the source again
 * (same key, or the same crypttext), as long as some are missing or a required server holds none.
 */
async function replaceFailedShares(
  up: Upload,
  encodeAgain: () => Promise<ChkSharesEncoding>,
  result: ChkSharesResult,
): Promise<void> {
  const maxRounds = up.options.maxReplacementRounds ?? 2;
  for (let round = 0; up.failed.length > 0 && round < maxRounds; round++) {
    const holdings = holdingsNow(up, true);
    if (missingShares(up, holdings).length === 0 && requiredSatisfied(up, holdings)) break;
    let replacements: BucketWriter[];
    try {
      replacements = await placeAndAllocate(up);
    } catch (error) {
      if (error instanceof PlacementRefusedError) throw unhappy(up, requiredWords(error), error);
      throw error;
    }
    if (replacements.length === 0) break;
    up.logger.info({ shares: replacements.map((b) => b.shareNumber) }, "re-sending shares of failed servers");
    const again = await encodeAgain();
    await pumpSegments(up, again, replacements, result.uebHash);
  }
}

/** The outcome by server: shares this upload wrote, and shares they already held. */
function sharesBySource(up: Upload, holdings: Map<string, number[]>) {
  const uploaded = new Map<string, number[]>();
  const reused = new Map<string, number[]>();
  for (const st of up.states) {
    if (!holdings.has(st.server.id)) continue;
    const mine = sorted([...st.buckets].filter(([, b]) => b.complete).map(([sn]) => sn));
    if (mine.length > 0) uploaded.set(st.server.id, mine);
    const old = sorted([...st.existing].filter((sn) => !mine.includes(sn)));
    if (old.length > 0) reused.set(st.server.id, old);
  }
  return { uploaded, reused };
}

async function finish(up: Upload, result: ChkSharesResult): Promise<UploadResult> {
  const { k, happy, n } = up.options;
  const holdings = holdingsNow(up, true);
  const happiness = happinessOf(holdings);
  if (happiness < happy || !requiredSatisfied(up, holdings)) {
    const placement = place(up);
    throw unhappy(up, requiredWords(placement));
  }
  await Promise.all(up.cleanups);
  const { uploaded, reused } = sharesBySource(up, holdings);
  const { bytesSent, writeRequests } = up;
  up.logger.info({ happiness, bytesSent, writeRequests, failed: up.failed.length }, "upload done");
  return {
    kind: "chk",
    // A repair from a verify cap has no read cap to give.
    cap: "readCap" in result && typeof result.readCap === "string" ? result.readCap : result.verifyCap,
    verifyCap: result.verifyCap,
    storageIndex: up.si,
    size: up.encoding.plan.size,
    k,
    happy,
    n,
    happiness,
    sharesByServer: holdings,
    uploadedShares: uploaded,
    reusedShares: reused,
    failedServers: up.failed.map((st) => ({ id: st.server.id, reason: st.failure ?? "" })),
    bytesSent,
    writeRequests,
  };
}

/**
 * Runs a CHK upload: discovery, placement and allocation, the main pass, replacement of failed
 * servers' shares, then the happiness verdict. On any failure every unfinished share is aborted.
 */
export async function runUpload(
  encoding: ChkSharesEncoding,
  encodeAgain: () => Promise<ChkSharesEncoding>,
  options: UploadOptions,
  logger: Logger,
): Promise<UploadResult> {
  const up = createUploadState(encoding, options, logger);
  const unwatch = watchLostServers(up);
  const { k, happy, n } = options;
  logger.info({ size: encoding.plan.size, k, happy, n, servers: up.states.length }, "upload starting");
  if (up.signal?.aborted) {
    unwatch();
    throw abortedError(up);
  }
  // The first PATCH's worth of every share is encoded while the servers are asked and allocated.
  const ahead = encodeAhead(encoding, up.batchSize);
  try {
    const buckets = await discoverAndAllocate(up);
    up.streaming = true;
    await pumpSegments(up, ahead.encoding, buckets, options.expectedUebHash);
    const result = encoding.result();
    await replaceFailedShares(up, encodeAgain, result);
    return await finish(up, result);
  } catch (error) {
    await ahead.stop();
    await abortEverything(up, error);
    throw error;
  } finally {
    unwatch();
  }
}
