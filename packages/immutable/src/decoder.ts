import { createHash } from "node:crypto";
import { netstring, taggedHash } from "@lafs/crypto";
import { createCtrCipher } from "./aes-ctr.js";
import { type ChkReadCap, type ChkVerifyCap, parseChkReadCap } from "./caps.js";
import { CorruptShareError, ImmutableError, isCorruptShareError } from "./errors.js";
import { freeNow } from "./free-buffer.js";
import type { ChkPlan } from "./plan.js";
import { checkCrypttextTree, type OpenedShare, openShare, type ShareReader } from "./share-reader.js";
import type { Ueb } from "./ueb.js";
import { createErasureCoder, type ErasureCoder } from "./zfec/index.js";

const BLOCK_TAG = "allmydata_encoded_subshare_v1";
const CRYPTTEXT_SEGMENT_TAG = "allmydata_crypttext_segment_v1";
/** SHA256d(netstring(tag) || pieces joined), without joining them. */
function taggedHashOfPieces(tag: string, pieces: readonly Uint8Array[]): Buffer {
  const inner = createHash("sha256").update(netstring(tag));
  for (const piece of pieces) inner.update(piece);
  return createHash("sha256").update(inner.digest()).digest();
}

/**
 * A read asks each share for a run of consecutive blocks at once, up to this many bytes: one
 * request per 512 KiB rather than per block (64 KiB at 2-of-N), since per request the client,
 * the TLS connection and the server each pay more than for the bytes (docs/performance.md,
 * "Download speed (issue 23)"). Small ranges still fetch only the segments they touch.
 */
export const RUN_BYTES = 512 * 1024;
/** Runs being fetched at once during a read: the current one and one ahead. */
const RUNS_AHEAD = 2;

export interface ChkDecoderOptions {
  /**
   * Told about every share the decoder gave up on (corrupt, or its server failed), then it moves
   * on; `reader` is the one that failed, as given to createChkDecoder.
   */
  readonly onShareFailure?: ((shareNumber: number, error: unknown, reader: ShareReader) => void) | undefined;
  /** Bytes of each share asked for in one read (a run of whole blocks, at least one); default RUN_BYTES. */
  readonly runBytes?: number | undefined;
}

/** A plaintext byte range [start, end); either end may be left out. */
export interface ByteRange {
  readonly start?: number | undefined;
  readonly end?: number | undefined;
}

/**
 * Reads a CHK file from any k of its shares. Every block is checked against its share's block
 * hash tree before use, and every segment against the crypttext hash tree after decoding; a
 * failing share is dropped for the next candidate with another share number (or the same
 * number on another server). Only the segments a range touches are fetched.
 */
export interface ChkDecoder {
  /** With a verify cap the decoder yields the file's checked crypttext (a repairer's input). */
  readonly cap: ChkReadCap | ChkVerifyCap;
  readonly size: number;
  /**
   * The plaintext of `range`, streamed one block (or less) at a time. Each chunk is a new
   * buffer of its own, which the caller may free with freeNow once it has written it out.
   */
  read(range?: ByteRange): AsyncGenerator<Uint8Array, void, undefined>;
  /** The plaintext of `range` in one buffer. */
  readAll(range?: ByteRange): Promise<Buffer>;
  /** The shares in use now (after any switches). */
  activeShares(): number[];
  /**
   * Opens k shares and checks their UEB against the cap (its hash, size, k and N) without
   * reading any data: a download calls it before it answers success, so an edited cap fails
   * even when the range it asks for is empty. Reads do this on their own otherwise.
   */
  open(): Promise<void>;
}

/**
 * The crypttext of a run of segments, each as pieces, and which buffers the decoder may free
 * once the run's plaintext is out.
 */
interface DecodedRun {
  readonly segments: readonly (readonly Uint8Array[])[];
  readonly owned: readonly Uint8Array[];
}

/** Blocks from..to of one share, fetched in one read: the reply, and each block as a view of it. */
interface FetchedBlocks {
  readonly bytes: Uint8Array;
  readonly blocks: readonly Uint8Array[];
}

interface DecodeState {
  plan: ChkPlan;
  ueb: Ueb;
  crypttextTree: readonly Uint8Array[];
}

export function createChkDecoder(
  cap: ChkReadCap | ChkVerifyCap | string,
  shares: readonly ShareReader[],
  options: ChkDecoderOptions = {},
): ChkDecoder {
  const readCap = typeof cap === "string" ? parseChkReadCap(cap) : cap;
  const { k } = readCap;
  // Primary shares first: with shares 0..k-1 decoding is a copy.
  const candidates = [...shares].sort((a, b) => a.shareNumber - b.shareNumber);
  const active: OpenedShare[] = [];
  const failures: { shareNumber: number; error: unknown }[] = [];
  let state: DecodeState | undefined;
  let coder: ErasureCoder | undefined;

  /**
   * `share` is the active share that failed: concurrent segment fetches can see one share fail
   * together, and only the first report counts (a replacement may carry the same number).
   */
  const fail = (reader: ShareReader, error: unknown, share?: OpenedShare) => {
    if (share !== undefined) {
      const i = active.indexOf(share);
      if (i === -1) return;
      active.splice(i, 1);
    }
    const { shareNumber } = reader;
    failures.push({ shareNumber, error });
    options.onShareFailure?.(shareNumber, error, reader);
  };

  const outOfShares = (): Error => {
    const last = failures.at(-1)?.error;
    if (isCorruptShareError(last) && failures.length + active.length >= shares.length) {
      // Nothing left to switch to: the caller sees which share broke.
      return last;
    }
    const tried = failures.map(
      (f) => `share ${f.shareNumber}: ${(f.error as Error)?.message ?? String(f.error)}`,
    );
    return new ImmutableError(
      "TAHOE_ERR_IMMUTABLE_NOT_ENOUGH_SHARES",
      `need ${k} good shares of ${readCap.size}-byte file, have ${active.length} and no more candidates` +
        (tried.length > 0 ? ` (failed: ${tried.join("; ")})` : ""),
      {
        hint: "Fetch shares from more servers, or repair the file from a node that still has enough shares.",
        cause: last,
      },
    );
  };

  let filling: Promise<DecodeState> | undefined;
  /** One refill at a time: a concurrent fetch waits for the share being opened, not past it. */
  function fillActive(): Promise<DecodeState> {
    if (active.length >= k && state !== undefined) return Promise.resolve(state);
    filling ??= fillActiveNow().finally(() => {
      filling = undefined;
    });
    return filling;
  }

  async function fillActiveNow(): Promise<DecodeState> {
    while (active.length < k || state === undefined) {
      const inUse = new Set(active.map((s) => s.shareNumber));
      const picks: ShareReader[] = [];
      for (const c of candidates) {
        if (picks.length >= Math.max(1, k - active.length)) break;
        if (!inUse.has(c.shareNumber)) {
          inUse.add(c.shareNumber);
          picks.push(c);
        }
      }
      if (picks.length === 0) throw outOfShares();
      for (const p of picks) candidates.splice(candidates.indexOf(p), 1);
      const known = state === undefined ? undefined : { plan: state.plan, ueb: state.ueb };
      // The first share fixes the plan; later ones are checked against it in parallel.
      const toOpen = known === undefined ? picks.slice(0, 1) : picks;
      candidates.unshift(...picks.slice(toOpen.length));
      const opened = await Promise.allSettled(toOpen.map((r) => openShare(r, readCap, known)));
      opened.forEach((result, i) => {
        if (result.status === "rejected") {
          fail(toOpen[i]!, result.reason);
          return;
        }
        const share = result.value;
        if (state === undefined) {
          try {
            checkCrypttextTree(share);
          } catch (error) {
            fail(share.reader, error);
            return;
          }
          state = { plan: share.plan, ueb: share.ueb, crypttextTree: share.crypttextTree };
        }
        active.push(share);
      });
    }
    return state;
  }

  /** Blocks from..to (inclusive) of one share in one read, each checked against its block hash. */
  async function fetchBlocks(
    share: OpenedShare,
    plan: ChkPlan,
    from: number,
    to: number,
  ): Promise<FetchedBlocks> {
    const sizeOf = (s: number) => (s === plan.numSegments - 1 ? plan.tailBlockSize : plan.blockSize);
    const offset = share.header.data + from * plan.blockSize;
    const length = (to - from) * plan.blockSize + sizeOf(to);
    const bytes = await share.reader.read(offset, length);
    if (bytes.length !== length) {
      const s = Math.min(to, from + Math.floor(bytes.length / plan.blockSize));
      const got = Math.max(0, bytes.length - (s - from) * plan.blockSize);
      throw new CorruptShareError(
        "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED",
        share.shareNumber,
        `block ${s} is ${Math.min(got, sizeOf(s))} bytes, expected ${sizeOf(s)} at offset ${share.header.data + s * plan.blockSize}`,
      );
    }
    const leaves = share.blockTree.length - (share.blockTree.length + 1) / 2;
    const blocks: Uint8Array[] = [];
    for (let s = from; s <= to; s++) {
      const at = (s - from) * plan.blockSize;
      const block = bytes.subarray(at, at + sizeOf(s));
      if (!taggedHash(BLOCK_TAG, block).equals(share.blockTree[leaves + s]!)) {
        const start = share.header.data + s * plan.blockSize;
        throw new CorruptShareError(
          "TAHOE_ERR_IMMUTABLE_BLOCK_HASH",
          share.shareNumber,
          `block ${s} (bytes ${start}..${start + block.length - 1}) does not match its block hash`,
        );
      }
      blocks.push(block);
    }
    return { bytes, blocks };
  }

  /**
   * The crypttext of segments from..to as the decoded blocks' own bytes (the last one cut to the
   * segment's end), every block and segment checked. The blocks are hashed and decrypted where
   * they lie: joining them would allocate a segment-sized buffer per segment, and at 1 GiB that
   * churn is what keeps the client's RSS high (docs/performance.md, "Memory (issue 8)").
   */
  async function fetchRun(from: number, to: number): Promise<DecodedRun> {
    const got = new Map<number, FetchedBlocks>();
    /** Fetched replies the decoder may free once used (see ShareReader.freshReads). */
    const fresh = new Set<Uint8Array>();
    for (;;) {
      const { plan, crypttextTree } = await fillActive();
      // Concurrent fetches may each have replaced a failed share: k of them are enough.
      const todo = active.slice(0, k).filter((share) => !got.has(share.shareNumber));
      const results = await Promise.allSettled(todo.map((share) => fetchBlocks(share, plan, from, to)));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") {
          got.set(todo[i]!.shareNumber, r.value);
          if (todo[i]!.reader.freshReads) fresh.add(r.value.bytes);
        } else fail(todo[i]!.reader, r.reason, todo[i]);
      });
      if (active.length < k) continue;
      const used = active
        .slice(0, k)
        .map((share) => share.shareNumber)
        .sort((a, b) => a - b);
      if (used.some((sn) => !got.has(sn))) continue;
      coder ??= createErasureCoder(k, readCap.n, { implementation: "fast" });
      const segments: Uint8Array[][] = [];
      // The replies of the shares used; recovered blocks are the coder's own, added below.
      const owned = used.map((sn) => got.get(sn)!.bytes).filter((bytes) => fresh.has(bytes));
      for (let s = from; s <= to; s++) {
        const blocks = used.map((sn) => got.get(sn)!.blocks[s - from]!);
        const primary = coder.decode(blocks, used);
        for (const block of primary) if (!blocks.includes(block)) owned.push(block);
        const length = s === plan.numSegments - 1 ? plan.tailSize : plan.segmentSize;
        const pieces: Uint8Array[] = [];
        let at = 0;
        for (const block of primary) {
          if (at >= length) break;
          const take = Math.min(block.length, length - at);
          pieces.push(take === block.length ? block : block.subarray(0, take));
          at += take;
        }
        const leaf = crypttextTree[crypttextTree.length - (crypttextTree.length + 1) / 2 + s]!;
        if (!taggedHashOfPieces(CRYPTTEXT_SEGMENT_TAG, pieces).equals(leaf)) {
          throw new ImmutableError(
            "TAHOE_ERR_IMMUTABLE_CRYPTTEXT_HASH",
            `segment ${s} decoded from shares ${used.join(", ")} does not match the crypttext hash tree`,
            {
              hint: "Every block matched its share's hashes, so the shares were encoded wrongly; try other shares and report this.",
            },
          );
        }
        segments.push(pieces);
      }
      // Replies of shares not used (a share replaced half-way) are done with.
      for (const [sn, fetched] of got)
        if (!used.includes(sn) && fresh.has(fetched.bytes)) freeNow(fetched.bytes);
      return { segments, owned };
    }
  }

  async function* read(range: ByteRange = {}): AsyncGenerator<Uint8Array, void, undefined> {
    const size = readCap.size;
    const start = range.start ?? 0;
    const end = Math.min(range.end ?? size, size);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) {
      throw new ImmutableError(
        "TAHOE_ERR_IMMUTABLE_RANGE",
        `bad byte range ${start}..${range.end} of a ${size}-byte file`,
        {
          hint: "Give 0 <= start <= end; end is exclusive and is clipped to the file size.",
        },
      );
    }
    if (start === end) return;
    const { plan } = await fillActive();
    const first = Math.floor(start / plan.segmentSize);
    const last = Math.floor((end - 1) / plan.segmentSize);
    // A verify cap has no key: the checked crypttext is the output (repair re-encodes it as is).
    const cipher =
      readCap.kind === "chk" ? createCtrCipher(readCap.key, start) : { update: (b: Uint8Array) => b.slice() };
    const perRun = Math.max(1, Math.floor((options.runBytes ?? RUN_BYTES) / plan.blockSize));
    // A run is fetched ahead, so every server always has a request to answer while the
    // consumer takes the current one; memory stays at RUNS_AHEAD runs.
    const ahead: Promise<DecodedRun>[] = [];
    let fetched = first;
    const topUp = () => {
      while (fetched <= last && ahead.length < RUNS_AHEAD) {
        const p = fetchRun(fetched, Math.min(last, fetched + perRun - 1));
        fetched += perRun;
        // Keep a later fetch from being an unhandled rejection while the consumer holds this one.
        p.catch(() => {});
        ahead.push(p);
      }
    };
    for (let runStart = first; runStart <= last; runStart += perRun) {
      topUp();
      const { segments, owned } = await ahead.shift()!;
      topUp();
      for (let i = 0; i < segments.length; i++) {
        let pieceStart = (runStart + i) * plan.segmentSize;
        for (const piece of segments[i]!) {
          const from = Math.max(start, pieceStart) - pieceStart;
          const to = Math.min(end, pieceStart + piece.length) - pieceStart;
          pieceStart += piece.length;
          if (to > from) yield cipher.update(piece.subarray(from, to));
        }
      }
      // The plaintext is the cipher's own new buffers: the crypttext is done with.
      for (const buffer of owned) freeNow(buffer);
    }
  }

  return {
    cap: readCap,
    size: readCap.size,
    read,
    async readAll(range) {
      const parts: Uint8Array[] = [];
      for await (const part of read(range)) parts.push(part);
      return Buffer.concat(parts);
    },
    activeShares: () => active.map((s) => s.shareNumber).sort((a, b) => a - b),
    open: async () => {
      await fillActive();
    },
  };
}
