import { base32Encode } from "@lafs/crypto";
import { createErasureCoder, type ErasureCoder } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import {
  CorruptMutableShareError,
  decodeSegmentBlocks,
  type MutableHeader,
  SALT_LENGTH,
  type SegmentBlock,
  segmentGeometry,
  shareRanges,
  type VerifiedShareHashes,
  verifyBlock,
  verifyShareHashes,
} from "@lafs/mutable";
import { serverLabel } from "@lafs/placement";
import { adviseCorrupt, type MutableCorruptShareReport } from "./advise.js";
import { mutableError, reasonOf, throwIfAborted } from "./errors.js";
import { callOptions } from "./grid.js";
import type { ServermapShare, ServermapVersion } from "./servermap.js";

/** Share data read per request: several segments' blocks at once, so a big file costs few round trips. */
const READ_BATCH_BYTES = 1024 * 1024;

/** A share of the version being read whose hash chain and block hash tree checked out. */
interface OpenShare {
  readonly share: ServermapShare;
  readonly hashes: VerifiedShareHashes;
}

interface ShareFate {
  readonly share: ServermapShare;
  readonly reason: string;
  readonly corrupt: boolean;
}

export interface VersionReaderOptions {
  readonly signal?: AbortSignal | undefined;
  readonly logger: Logger;
  /** Told about every corrupt share found, once its advisory was answered. */
  readonly onCorruptShare?: ((report: MutableCorruptShareReport) => void) | undefined;
}

/**
 * Reads one version of a mutable file from its shares (Tahoe's Retrieve): k shares at a time,
 * each share's hash chain and block hash tree checked against the signed root hash when it is
 * first used, and every block against its leaf. A share that fails is dropped (a corrupt one's
 * server gets an advisory) and another share number of the same version takes its place.
 */
export class VersionReader {
  readonly header: MutableHeader;
  private readonly open = new Map<number, OpenShare>();
  private readonly fates: ShareFate[] = [];
  private readonly dropped = new Set<ServermapShare>();
  private readonly coder: ErasureCoder;
  private readonly si: string;
  /** Some share was replaced by a newer version during the read. */
  private changed = false;

  constructor(
    private readonly storageIndex: Uint8Array,
    readonly version: ServermapVersion,
    private readonly readkey: Uint8Array,
    private readonly options: VersionReaderOptions,
  ) {
    this.header = version.header;
    this.coder = createErasureCoder(this.header.k, this.header.n);
    this.si = base32Encode(storageIndex);
  }

  get numSegments(): number {
    return segmentGeometry(this.header.k, this.header.segmentSize, this.header.dataLength).numSegments;
  }

  /** Segments per read request. */
  get batch(): number {
    const stride =
      this.header.segmentSize / this.header.k + (this.header.format === "MDMF" ? SALT_LENGTH : 0);
    return Math.max(1, Math.floor(READ_BATCH_BYTES / Math.max(1, stride)));
  }

  /** The plaintext of segments [from, to], in order. */
  async *segments(
    from: number,
    to: number,
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const both = bothSignals(this.options.signal, signal);
    for (let s = from; s <= to; s += this.batch) {
      const last = Math.min(to, s + this.batch - 1);
      yield* await this.readBatch(s, last, both);
    }
  }

  /** Every share number's verified block hash tree that can be had, opening shares as needed. */
  async blockHashTrees(): Promise<Map<number, Uint8Array[]>> {
    const trees = new Map<number, Uint8Array[]>();
    for (let shnum = 0; shnum < this.header.n; shnum++) {
      const open = this.open.get(shnum) ?? (await this.openShareNumber(shnum, this.options.signal));
      if (open !== undefined) trees.set(shnum, open.hashes.blockHashTree);
    }
    return trees;
  }

  private async readBatch(from: number, to: number, signal: AbortSignal | undefined): Promise<Uint8Array[]> {
    const blocks: SegmentBlock[][] = Array.from({ length: to - from + 1 }, () => []);
    // Share numbers whose blocks this batch has; a failed one may come again from another server.
    const used = new Set<number>();
    while (used.size < this.header.k) {
      throwIfAborted(`read of mutable file ${this.si}`, signal);
      const open = await this.nextShare(used, signal);
      if (open === undefined) throw this.notEnough(from);
      try {
        const got = await this.readBlocks(open, from, to, signal);
        for (const [i, b] of got.entries()) blocks[i]!.push(b);
        used.add(open.share.shnum);
      } catch (error) {
        throwIfAborted(`read of mutable file ${this.si}`, signal);
        await this.drop(open.share, error);
      }
    }
    return blocks.map((b, i) => decodeSegmentBlocks(this.header, b, from + i, this.readkey, this.coder));
  }

  /** An open share whose number is not in `used`: one already open, else the next candidate. */
  private async nextShare(
    used: ReadonlySet<number>,
    signal: AbortSignal | undefined,
  ): Promise<OpenShare | undefined> {
    for (const [shnum, open] of this.open) if (!used.has(shnum)) return open;
    const numbers = [...new Set(this.version.shares.map((s) => s.shnum))].sort((a, b) => a - b);
    for (const shnum of numbers) {
      if (used.has(shnum) || this.open.has(shnum)) continue;
      const open = await this.openShareNumber(shnum, signal);
      if (open !== undefined) return open;
    }
    return undefined;
  }

  /** Opens share `shnum` from the first server holding it whose chain and tree check out. */
  private async openShareNumber(
    shnum: number,
    signal: AbortSignal | undefined,
  ): Promise<OpenShare | undefined> {
    for (const share of this.version.shares) {
      if (share.shnum !== shnum || this.dropped.has(share)) continue;
      try {
        const ranges = shareRanges(this.header);
        const call = callOptions(share.server, signal);
        const client = share.server.client;
        const [chain, tree] = await Promise.all([
          client.readMutable(
            this.storageIndex,
            shnum,
            ranges.shareHashChain.offset,
            ranges.shareHashChain.length,
            call,
          ),
          client.readMutable(
            this.storageIndex,
            shnum,
            ranges.blockHashTree.offset,
            ranges.blockHashTree.length,
            call,
          ),
        ]);
        const hashes = verifyShareHashes(this.header, shnum, chain, tree);
        const open = { share, hashes };
        this.open.set(shnum, open);
        return open;
      } catch (error) {
        throwIfAborted(`read of mutable file ${this.si}`, signal);
        await this.drop(share, error);
      }
    }
    return undefined;
  }

  private async readBlocks(
    open: OpenShare,
    from: number,
    to: number,
    signal: AbortSignal | undefined,
  ): Promise<SegmentBlock[]> {
    const ranges = shareRanges(this.header);
    const first = ranges.block(from);
    const last = ranges.block(to);
    const start = first.offset;
    const length = last.offset + last.length - start;
    const { share } = open;
    const bytes = await share.server.client.readMutable(
      this.storageIndex,
      share.shnum,
      start,
      length,
      callOptions(share.server, signal),
    );
    const out: SegmentBlock[] = [];
    for (let s = from; s <= to; s++) {
      const r = ranges.block(s);
      const piece = bytes.subarray(r.offset - start, r.offset - start + r.length);
      if (piece.length !== r.length) {
        throw new CorruptMutableShareError(
          "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
          share.shnum,
          `the share ends before the block of segment ${s} (${piece.length} of ${r.length} bytes)`,
        );
      }
      const mdmf = this.header.format === "MDMF";
      const salt = mdmf ? piece.subarray(0, SALT_LENGTH) : this.header.iv!;
      const block = mdmf ? piece.subarray(SALT_LENGTH) : piece;
      verifyBlock(this.header, open.hashes, share.shnum, s, salt, block);
      out.push({ shnum: share.shnum, salt, block });
    }
    return out;
  }

  private async drop(share: ServermapShare, error: unknown): Promise<void> {
    this.dropped.add(share);
    if (this.open.get(share.shnum)?.share === share) this.open.delete(share.shnum);
    let corrupt = error instanceof CorruptMutableShareError;
    let reason = reasonOf(error);
    if (corrupt) {
      // A share another writer replaced since the servermap is not corrupt: look before blaming.
      const changed = await this.replacedBy(share);
      if (changed !== undefined) {
        corrupt = false;
        reason = `the share now holds ${changed} (the file was changed while it was read)`;
        this.changed = true;
      }
    }
    this.fates.push({ share, reason, corrupt });
    if (!corrupt) {
      this.options.logger.warn(
        { si: this.si, server: share.server.id, share: share.shnum, error: reason },
        "mutable share unreadable, switching",
      );
      return;
    }
    const report = await adviseCorrupt(
      share.server,
      this.storageIndex,
      share.shnum,
      reason,
      this.options.logger,
    );
    this.options.onCorruptShare?.(report);
  }

  /** What the share holds now, when it is no longer the version being read ("seqnum 3"). */
  private async replacedBy(share: ServermapShare): Promise<string | undefined> {
    const expected = this.header.checkstring;
    try {
      const now = await share.server.client.readMutable(
        this.storageIndex,
        share.shnum,
        0,
        expected.length,
        callOptions(share.server, this.options.signal),
      );
      if (Buffer.from(now).equals(expected)) return undefined;
      return now.length >= 9 ? `seqnum ${Buffer.from(now).readBigUInt64BE(1)}` : `${now.length} bytes`;
    } catch {
      return undefined;
    }
  }

  private notEnough(segment: number) {
    const details = this.fates.map(
      (f) => `share ${f.share.shnum} on ${serverLabel(f.share.server)}: ${f.reason}`,
    );
    const corrupt = this.fates.filter((f) => f.corrupt).length;
    return mutableError(
      "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES",
      `not enough good shares of mutable file ${this.si} (seqnum ${this.header.seqnum}) for segment ${segment}: ` +
        `${this.version.distinct} share number(s) found, ${corrupt} corrupt, ${this.fates.length - corrupt} unreadable, ${this.header.k} needed` +
        (details.length > 0
          ? ` (${details.slice(0, 5).join("; ")}${details.length > 5 ? `; and ${details.length - 5} more` : ""})`
          : ""),
      this.changed
        ? "Another writer changed the file while it was being read; open it again to read the new version."
        : "The corrupt shares were reported to their servers; try again when more storage servers are reachable.",
    );
  }
}

/** The open's signal and a read's own: either cancels the read. */
function bothSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}
