import { formatCap, type ImmutableCap, parseImmutableCap } from "@lafs/immutable";
import { type Logger, silentLogger } from "@lafs/interface";
import { openDownload } from "../downloader.js";
import type { UploadServer } from "../grid-server.js";
import { uploadImmutable } from "../uploader.js";
import { checkImmutable, type ImmutableCheckOptions, segmentSizeOf } from "./immutable-check.js";
import type { CheckAndRepairResults } from "./results.js";

export interface ImmutableRepairOptions extends ImmutableCheckOptions {
  /** Servers that may take new shares: the node's list with the allowed/required flags applied. */
  readonly placementServers: readonly UploadServer[];
  /** shares.happy; k and N come from the cap. */
  readonly happy: number;
  readonly logger?: Logger | undefined;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * Tahoe's check-and-repair for an immutable file. A healthy file is left alone. Otherwise the
 * file is read from k good shares and encoded again with its own key, k, N and segment size,
 * which gives the very same shares; the uploader keeps the shares servers already hold and
 * places only the missing ones, on servers placement allows. Repair counts as successful when
 * the check after it finds the file healthy; the new shares must match the cap or nothing is
 * claimed (the uploader's cap is compared with the file's).
 */
export async function checkAndRepairImmutable(
  cap: string | ImmutableCap,
  servers: readonly UploadServer[],
  options: ImmutableRepairOptions,
): Promise<CheckAndRepairResults> {
  const parsed = typeof cap === "string" ? parseImmutableCap(cap) : cap;
  const logger = (options.logger ?? silentLogger).child({ component: "repairer" });
  const pre = await checkImmutable(parsed, servers, options);
  const notTried = (problem?: string): CheckAndRepairResults => ({
    storageIndex: pre.storageIndex,
    repairAttempted: false,
    repairSuccessful: false,
    preRepair: pre,
    postRepair: pre,
    repairProblem: problem,
    sharesPlaced: new Map(),
  });
  if (pre.healthy || parsed.kind === "lit") return notTried();
  if (parsed.kind !== "chk") {
    return notTried("a verify cap cannot repair: re-encoding needs the file's read cap (URI:CHK:)");
  }
  let problem: string | undefined;
  let sharesPlaced: ReadonlyMap<string, readonly number[]> = new Map();
  if (!pre.recoverable) {
    problem = `only ${pre.sharesGood} good share(s), ${pre.sharesNeeded} needed: the file cannot be read, so nothing can be rebuilt`;
  } else {
    try {
      const segmentSize = await segmentSizeOf(parsed, pre, servers, options.signal);
      const download = await openDownload(parsed, servers, {
        signal: options.signal,
        logger: options.logger,
      });
      const result = await uploadImmutable(
        {
          size: parsed.size,
          name: `repair of ${pre.storageIndex}`,
          // Read a segment at a time from the good shares: memory stays bounded for any size.
          read: (offset, length) => download.readAll({ start: offset, end: offset + length }),
        },
        {
          servers: options.placementServers,
          leaseSecret: options.leaseSecret,
          k: parsed.k,
          n: parsed.n,
          happy: Math.min(options.happy, parsed.n),
          maxSegmentSize: segmentSize,
          encryptionKey: parsed.key,
          signal: options.signal,
          logger: options.logger,
        },
      );
      sharesPlaced = result.uploadedShares;
      if (result.cap !== formatCap(parsed)) {
        problem = "the re-encoded file does not match the cap (different UEB hash)";
      }
    } catch (error) {
      problem = reasonOf(error);
    }
  }
  logger.info({ si: pre.storageIndex, problem, placed: [...sharesPlaced] }, "repair finished");
  const post = await checkImmutable(parsed, servers, { ...options, addLease: false });
  return {
    storageIndex: pre.storageIndex,
    repairAttempted: true,
    repairSuccessful: problem === undefined && post.healthy,
    preRepair: pre,
    postRepair: post,
    repairProblem: problem ?? (post.healthy ? undefined : post.summary),
    sharesPlaced,
  };
}
