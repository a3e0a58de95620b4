import type { ChkSharesEncoding, ChkSharesResult } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import { happinessOf, PlacementRefusedError } from "@lafs/placement";
import { SHARE_QUERY_TIMEOUT_MS } from "./server-selection.js";
import type { UploadOptions, UploadResult } from "./uploader-api.js";
import type { BucketWriter } from "./uploader-bucket.js";
import { discoverShares } from "./uploader-discovery.js";
import { encodeAhead } from "./uploader-encode-ahead.js";
import { abortEverything, serverFailed, watchLostServers } from "./uploader-failures.js";
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

function discover(up: Upload): Promise<void> {
  return discoverShares(up.states, {
    storageIndex: up.si,
    n: up.options.n,
    shareSize: up.shareSize,
    timeoutMs: up.options.queryTimeoutMs ?? SHARE_QUERY_TIMEOUT_MS,
    signal: up.signal,
    logger: up.logger,
    aborted: () => abortedError(up),
    serverFailed: (st, error) => serverFailed(up, st, error),
  });
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
    await discover(up);
    const buckets = await placeAndAllocate(up);
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
