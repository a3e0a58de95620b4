import type { Logger } from "@lafs/interface";
import { SALT_LENGTH, segmentGeometry, shareRanges, verifyBlock, verifyShareHashes } from "@lafs/mutable";
import { adviseCorrupt } from "../mutable/advise.js";
import { callOptions } from "../mutable/grid.js";
import type { ServermapShare, ServermapVersion } from "../mutable/servermap.js";

/** Segments' blocks fetched per request while verifying. */
const SEGMENTS_PER_READ = 16;

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * Checks every byte that matters of one mutable share of `version` (its signature was checked
 * by the servermap): the share hash chain and block hash tree against the signed root hash,
 * then every block (with its salt) against its leaf. Needs no key, so a verify cap will do.
 */
async function verifyMutableShare(
  storageIndex: Uint8Array,
  version: ServermapVersion,
  share: ServermapShare,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { header } = version;
  const ranges = shareRanges(header);
  const call = callOptions(share.server, signal);
  const read = async (offset: number, length: number) => {
    const bytes = await share.server.client.readMutable(storageIndex, share.shnum, offset, length, call);
    if (bytes.length !== length) {
      throw new Error(
        `share ${share.shnum} ends at ${offset + bytes.length}, inside a range that runs to ${offset + length}`,
      );
    }
    return bytes;
  };
  const [chain, tree] = await Promise.all([
    read(ranges.shareHashChain.offset, ranges.shareHashChain.length),
    read(ranges.blockHashTree.offset, ranges.blockHashTree.length),
  ]);
  const hashes = verifyShareHashes(header, share.shnum, chain, tree);
  const { numSegments } = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  for (let first = 0; first < numSegments; first += SEGMENTS_PER_READ) {
    const last = Math.min(numSegments, first + SEGMENTS_PER_READ) - 1;
    const start = ranges.block(first).offset;
    const end = ranges.block(last).offset + ranges.block(last).length;
    const bytes = await read(start, end - start);
    for (let s = first; s <= last; s++) {
      const r = ranges.block(s);
      const piece = bytes.subarray(r.offset - start, r.offset - start + r.length);
      const sdmf = header.format === "SDMF";
      const salt = sdmf ? header.iv! : piece.subarray(0, SALT_LENGTH);
      verifyBlock(header, hashes, share.shnum, s, salt, sdmf ? piece : piece.subarray(SALT_LENGTH));
    }
  }
}

/** Verifies every share of `version`; answers the bad ones, whose servers were advised. */
export async function verifyMutableVersion(
  storageIndex: Uint8Array,
  version: ServermapVersion,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<{ share: ServermapShare; reason: string }[]> {
  const bad: { share: ServermapShare; reason: string }[] = [];
  await Promise.all(
    version.shares.map(async (share) => {
      try {
        await verifyMutableShare(storageIndex, version, share, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        const reason = reasonOf(error);
        bad.push({ share, reason });
        await adviseCorrupt(share.server, storageIndex, share.shnum, reason, logger, signal);
      }
    }),
  );
  return bad;
}
