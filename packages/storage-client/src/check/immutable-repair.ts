import { formatCap, type ImmutableCap, parseImmutableCap } from "@lafs/immutable";
import { type Logger, silentLogger } from "@lafs/interface";
import { openDownload } from "../downloader.js";
import type { UploadServer } from "../grid-server.js";
import { uploadImmutable } from "../uploader.js";
import {
  checkImmutable,
  type ImmutableCheckOptions,
  segmentSizeOf,
  storageIndexOfChk,
} from "./immutable-check.js";
import type { CheckAndRepairResults, CorruptShare } from "./results.js";

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

/** Corrupt shares by server id, as the uploader takes them. */
function byServer(corrupt: readonly CorruptShare[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const c of corrupt) out.set(c.serverId, [...(out.get(c.serverId) ?? []), c.shareNumber]);
  return out;
}

/**
 * Tahoe's check-and-repair for an immutable file. A healthy file is left alone. Otherwise the
 * file is read from k good shares and encoded again with its own k, N and segment size, which
 * gives the very same shares: with a read cap the plaintext is encrypted again with the key,
 * with a verify cap the checked crypttext is encoded as it is (Tahoe's repairer works on
 * crypttext, so it needs no key). The uploader keeps the good shares servers hold and places
 * the missing ones on servers placement allows. A share verify found corrupt counts as
 * missing: GBS cannot overwrite it, so its number goes to another server and the corrupt copy
 * stays listed (post-repair list-corrupt-shares) without being counted as good. The UEB hash
 * is checked against the cap before any new share completes; repair counts as successful when
 * the check after it finds the file healthy.
 */
export async function checkAndRepairImmutable(
  cap: string | ImmutableCap,
  servers: readonly UploadServer[],
  options: ImmutableRepairOptions,
): Promise<CheckAndRepairResults> {
  const parsed = typeof cap === "string" ? parseImmutableCap(cap) : cap;
  const logger = (options.logger ?? silentLogger).child({ component: "repairer" });
  const pre = await checkImmutable(parsed, servers, options);
  if (pre.healthy || parsed.kind === "lit") {
    return {
      storageIndex: pre.storageIndex,
      repairAttempted: false,
      repairSuccessful: false,
      preRepair: pre,
      postRepair: pre,
      sharesPlaced: new Map(),
    };
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
        crypttext: parsed.kind === "chk-verifier",
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
          ...(parsed.kind === "chk"
            ? { encryptionKey: parsed.key }
            : { crypttextOf: storageIndexOfChk(parsed) }),
          corruptShares: byServer(pre.corruptShares),
          expectedUebHash: parsed.uebHash,
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
  // The corrupt copies are still on their servers (GBS cannot remove them): the check after
  // lists them again, without advising their servers twice.
  const post = await checkImmutable(parsed, servers, { ...options, addLease: false, advise: false });
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
