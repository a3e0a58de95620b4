import { base32Encode } from "@lafs/crypto";
import { createErasureCoder, type ErasureCoder } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import {
  CorruptMutableShareError,
  decodeSegmentBlocks,
  type MutableHeader,
  SALT_LENGTH,
  type SegmentBlock,
  type ShareRange,
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
/**
 * Ranges of a share this close together are read in one request: a few KiB more on the wire
 * costs less than a round trip, or a second connection to the server.
 */
const SPAN_GAP_BYTES = 16 * 1024;

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

  /**
   * Blocks of segments [from, to] from k shares, read from all k at once: a share not opened yet
   * brings its hash chain and block hash tree in the same round trip (see fetch). A share that
   * fails is dropped and the next candidate tried in another round.
   */
  private async readBatch(from: number, to: number, signal: AbortSignal | undefined): Promise<Uint8Array[]> {
    const blocks: SegmentBlock[][] = Array.from({ length: to - from + 1 }, () => []);
    // Share numbers whose blocks this batch has; a failed one may come again from another server.
    const used = new Set<number>();
    while (used.size < this.header.k) {
      throwIfAborted(`read of mutable file ${this.si}`, signal);
      const picks = this.candidates(used, this.header.k - used.size);
      if (picks.length === 0) throw this.notEnough(from);
      const results = await Promise.allSettled(
        picks.map((share) => this.readBlocks(share, from, to, signal)),
      );
      for (const [i, result] of results.entries()) {
        if (result.status === "fulfilled") {
          for (const [j, b] of result.value.entries()) blocks[j]!.push(b);
          used.add(picks[i]!.shnum);
        } else {
          throwIfAborted(`read of mutable file ${this.si}`, signal);
          await this.drop(picks[i]!, result.reason);
        }
      }
    }
    return blocks.map((b, i) => decodeSegmentBlocks(this.header, b, from + i, this.readkey, this.coder));
  }

  /**
   * Up to `count` shares of share numbers not in `used`: open ones first, then for each other
   * number its first server not dropped.
   */
  private candidates(used: ReadonlySet<number>, count: number): ServermapShare[] {
    const out: ServermapShare[] = [];
    for (const [shnum, open] of this.open) if (!used.has(shnum) && out.length < count) out.push(open.share);
    const numbers = [...new Set(this.version.shares.map((s) => s.shnum))].sort((a, b) => a - b);
    for (const shnum of numbers) {
      if (out.length >= count) break;
      if (used.has(shnum) || this.open.has(shnum)) continue;
      const share = this.version.shares.find((s) => s.shnum === shnum && !this.dropped.has(s));
      if (share !== undefined) out.push(share);
    }
    return out;
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
        const [chain, tree] = await this.fetch(share, [ranges.shareHashChain, ranges.blockHashTree], signal);
        return this.opened(share, chain!, tree!);
      } catch (error) {
        throwIfAborted(`read of mutable file ${this.si}`, signal);
        await this.drop(share, error);
      }
    }
    return undefined;
  }

  private opened(share: ServermapShare, chain: Uint8Array, tree: Uint8Array): OpenShare {
    const open = { share, hashes: verifyShareHashes(this.header, share.shnum, chain, tree) };
    this.open.set(share.shnum, open);
    return open;
  }

  /** The checked blocks of segments [from, to] of `share`, opening it first if it is not open. */
  private async readBlocks(
    share: ServermapShare,
    from: number,
    to: number,
    signal: AbortSignal | undefined,
  ): Promise<SegmentBlock[]> {
    const ranges = shareRanges(this.header);
    const first = ranges.block(from);
    const last = ranges.block(to);
    const start = first.offset;
    const span = { offset: start, length: last.offset + last.length - start };
    let open = this.open.get(share.shnum);
    let bytes: Uint8Array;
    if (open?.share === share) {
      [bytes] = (await this.fetch(share, [span], signal)) as [Uint8Array];
    } else {
      const got = await this.fetch(share, [ranges.shareHashChain, ranges.blockHashTree, span], signal);
      open = this.opened(share, got[0]!, got[1]!);
      bytes = got[2]!;
    }
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

  /**
   * The bytes of each range of `share`, in order: from what the servermap read where that has
   * them, else from the server, in one request per run of ranges whose gaps are at most
   * SPAN_GAP_BYTES (an SDMF share's chain, tree and blocks lie end to end), all at once.
   */
  private async fetch(
    share: ServermapShare,
    ranges: readonly ShareRange[],
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array[]> {
    const { prefix } = share;
    const out: (Uint8Array | undefined)[] = ranges.map((r) =>
      r.offset + r.length <= prefix.length ? prefix.subarray(r.offset, r.offset + r.length) : undefined,
    );
    const missing = ranges.map((r, i) => ({ r, i })).filter(({ i }) => out[i] === undefined);
    missing.sort((a, b) => a.r.offset - b.r.offset);
    const spans: { offset: number; end: number; members: typeof missing }[] = [];
    for (const m of missing) {
      const last = spans.at(-1);
      if (last !== undefined && m.r.offset - last.end <= SPAN_GAP_BYTES) {
        last.end = Math.max(last.end, m.r.offset + m.r.length);
        last.members.push(m);
      } else spans.push({ offset: m.r.offset, end: m.r.offset + m.r.length, members: [m] });
    }
    const call = callOptions(share.server, signal);
    await Promise.all(
      spans.map(async (span) => {
        const bytes = await share.server.client.readMutable(
          this.storageIndex,
          share.shnum,
          span.offset,
          span.end - span.offset,
          call,
        );
        for (const { r, i } of span.members) {
          out[i] = bytes.subarray(r.offset - span.offset, r.offset - span.offset + r.length);
        }
      }),
    );
    return out as Uint8Array[];
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
