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

/** Segments being fetched at once during a read: the current one and two ahead. */
const READ_AHEAD = 3;

export interface ChkDecoderOptions {
  /**
   * Told about every share the decoder gave up on (corrupt, or its server failed), then it moves
   * on; `reader` is the one that failed, as given to createChkDecoder.
   */
  readonly onShareFailure?: ((shareNumber: number, error: unknown, reader: ShareReader) => void) | undefined;
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

/** A segment's crypttext as pieces, and which of their buffers the decoder may free after use. */
interface DecodedSegment {
  readonly pieces: readonly Uint8Array[];
  readonly owned: readonly Uint8Array[];
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

  async function fetchBlock(share: OpenedShare, plan: ChkPlan, s: number): Promise<Uint8Array> {
    const bs = s === plan.numSegments - 1 ? plan.tailBlockSize : plan.blockSize;
    const offset = share.header.data + s * plan.blockSize;
    const block = await share.reader.read(offset, bs);
    if (block.length !== bs) {
      throw new CorruptShareError(
        "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED",
        share.shareNumber,
        `block ${s} is ${block.length} bytes, expected ${bs} at offset ${offset}`,
      );
    }
    const leaf = share.blockTree[share.blockTree.length - (share.blockTree.length + 1) / 2 + s]!;
    if (!taggedHash(BLOCK_TAG, block).equals(leaf)) {
      throw new CorruptShareError(
        "TAHOE_ERR_IMMUTABLE_BLOCK_HASH",
        share.shareNumber,
        `block ${s} (bytes ${offset}..${offset + bs - 1}) does not match its block hash`,
      );
    }
    return block;
  }

  /**
   * The crypttext of segment s as the decoded blocks' own bytes (the last one cut to the
   * segment's end), every block and the segment checked. The blocks are hashed and decrypted
   * where they lie: joining them would allocate a segment-sized buffer per segment, and at
   * 1 GiB that churn is what keeps the client's RSS high (docs/performance.md, "Memory (issue 8)").
   */
  async function fetchSegment(s: number): Promise<DecodedSegment> {
    const got = new Map<number, Uint8Array>();
    /** Fetched blocks the decoder may free once used (see ShareReader.freshReads). */
    const fresh = new Set<Uint8Array>();
    for (;;) {
      const { plan, crypttextTree } = await fillActive();
      // Concurrent fetches may each have replaced a failed share: k of them are enough.
      const todo = active.slice(0, k).filter((share) => !got.has(share.shareNumber));
      const results = await Promise.allSettled(todo.map((share) => fetchBlock(share, plan, s)));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") {
          got.set(todo[i]!.shareNumber, r.value);
          if (todo[i]!.reader.freshReads) fresh.add(r.value);
        } else fail(todo[i]!.reader, r.reason, todo[i]);
      });
      if (active.length < k) continue;
      const used = active
        .slice(0, k)
        .map((share) => share.shareNumber)
        .sort((a, b) => a - b);
      if (used.some((sn) => !got.has(sn))) continue;
      coder ??= createErasureCoder(k, readCap.n, { implementation: "fast" });
      const blocks = used.map((sn) => got.get(sn)!);
      const primary = coder.decode(blocks, used);
      // Recovered blocks are the coder's own; fetched parity blocks are done with once decoded.
      const owned = primary.filter((block) => fresh.has(block) || !blocks.includes(block));
      for (const block of blocks) if (!primary.includes(block) && fresh.has(block)) freeNow(block);
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
      return { pieces, owned };
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
    // A few segments are fetched ahead, so every server always has a request to answer while
    // the consumer takes the current one; memory stays at READ_AHEAD segments.
    const ahead: Promise<DecodedSegment>[] = [];
    let fetched = first;
    const topUp = () => {
      while (fetched <= last && ahead.length < READ_AHEAD) {
        const p = fetchSegment(fetched++);
        // Keep a later fetch from being an unhandled rejection while the consumer holds this one.
        p.catch(() => {});
        ahead.push(p);
      }
    };
    for (let s = first; s <= last; s++) {
      topUp();
      const { pieces, owned } = await ahead.shift()!;
      topUp();
      let pieceStart = s * plan.segmentSize;
      for (const piece of pieces) {
        const from = Math.max(start, pieceStart) - pieceStart;
        const to = Math.min(end, pieceStart + piece.length) - pieceStart;
        pieceStart += piece.length;
        if (to > from) yield cipher.update(piece.subarray(from, to));
      }
      // The plaintext is the cipher's own new buffer: the crypttext blocks are done with.
      for (const block of owned) freeNow(block);
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
