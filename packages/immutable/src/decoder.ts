import { type ChkReadCap, type ChkVerifyCap, parseChkReadCap } from "./caps.js";
import { type DecodeRunInput, type DecodeRunOutput, decodeRun, movableBuffers } from "./decode-task.js";
import { CorruptShareError, ImmutableError, isCorruptShareError } from "./errors.js";
import { freeNow } from "./free-buffer.js";
import type { ChkPlan } from "./plan.js";
import { checkCrypttextTree, type OpenedShare, openShare, type ShareReader } from "./share-reader.js";
import type { Ueb } from "./ueb.js";
import { siblingModule, type WorkerPool } from "./worker-pool.js";

const DECODE_TASK = siblingModule("decode-task.js", import.meta.url);
/**
 * Runs with fewer crypttext bytes than this are decoded in the calling thread: posting to a
 * worker costs more than hashing a few KiB (a small file stays as quick as before).
 */
const WORKER_MIN_BYTES = 64 * 1024;

/**
 * A read asks each share for a run of consecutive blocks at once, up to this many bytes: one
 * request (and one worker task) per 2 MiB rather than per block (512 KiB at 2-of-N with 1 MiB
 * segments, 64 KiB with 128 KiB ones), since per request the client, the TLS connection and
 * the server each pay more than for the bytes. On an idle 2-core machine 2 MiB cost the client
 * and servers 17% less CPU per GiB than 1 MiB and downloaded 15% faster; a fresh client's
 * VmHWM over a 1 GiB download was up to 12 MB higher, the bench's peak was not
 * (docs/performance.md, "Issue 23: request sizes (session 4)"). Small ranges still fetch only
 * the segments they touch.
 */
export const RUN_BYTES = 2 * 1024 * 1024;
/**
 * A share of at most this many bytes is read whole, header to UEB, in one request: a small
 * file then takes one round trip after the servers said which shares they hold, where a
 * header, its tail and then the blocks take two, and a second connection to each server (over
 * Tor a round trip is most of a small download). The blocks are one run's worth at most.
 */
export const WHOLE_SHARE_BYTES = 1024 * 1024;
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
  /** Shares up to this many bytes are read whole (0: never); default WHOLE_SHARE_BYTES. */
  readonly wholeShareBytes?: number | undefined;
  /**
   * Where the block and segment hashes are checked: a worker pool (sharedWorkerPool(), say), so
   * the thread that reads from the network does not hash; or false, the default, for the
   * calling thread. A worker made a 100 MiB download about 1.5x as fast on an idle 2-core
   * machine and slower on a loaded one, for about 10 MB more RSS (its isolate), so it is off by
   * default (docs/performance.md, "Issue 23: download (session 3)"; `[client] download.worker`).
   */
  readonly workers?: WorkerPool | false | undefined;
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
   * buffer of its own (a Uint8Array, not always a Buffer), which the caller may free with freeNow once it has written it out.
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
      // All k at once, each checked against the cap on its own (the UEB hash), so they agree:
      // one round trip for the lot, not one share after another.
      const wholeUpTo = options.wholeShareBytes ?? WHOLE_SHARE_BYTES;
      const opened = await Promise.allSettled(picks.map((r) => openShare(r, readCap, known, { wholeUpTo })));
      opened.forEach((result, i) => {
        if (result.status === "rejected") {
          fail(picks[i]!, result.reason);
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

  /** Blocks from..to (inclusive) of one share in one read; hashes are checked by decodeRun. */
  async function fetchBlocks(
    share: OpenedShare,
    plan: ChkPlan,
    from: number,
    to: number,
  ): Promise<Uint8Array> {
    const sizeOf = (s: number) => (s === plan.numSegments - 1 ? plan.tailBlockSize : plan.blockSize);
    const offset = share.header.data + from * plan.blockSize;
    const length = (to - from) * plan.blockSize + sizeOf(to);
    const { whole } = share;
    const bytes =
      whole !== undefined && offset + length <= whole.length
        ? whole.subarray(offset, offset + length)
        : await share.reader.read(offset, length);
    if (bytes.length !== length) {
      const s = Math.min(to, from + Math.floor(bytes.length / plan.blockSize));
      const got = Math.max(0, bytes.length - (s - from) * plan.blockSize);
      throw new CorruptShareError(
        "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED",
        share.shareNumber,
        `block ${s} is ${Math.min(got, sizeOf(s))} bytes, expected ${sizeOf(s)} at offset ${share.header.data + s * plan.blockSize}`,
      );
    }
    return bytes;
  }

  /**
   * decodeRun's hash checks on a worker (moving the replies there and back, or copies of them),
   * then the output here; or all of it here. Only the hashing moves: a buffer made on the worker
   * and freed on this thread grows the worker's malloc arena, which cost more memory and CPU
   * than the AES it would save (docs/performance.md, "Issue 23: download (session 2)").
   */
  async function decodeOnce(input: DecodeRunInput, fresh: ReadonlySet<Uint8Array>): Promise<DecodeRunOutput> {
    const bytes = input.shares.reduce((sum, share) => sum + share.length, 0);
    const pool = options.workers ?? false;
    if (pool === false || bytes < WORKER_MIN_BYTES) {
      return decodeRun({ ...input, mode: "output", ownsShares: input.shares.every((b) => fresh.has(b)) })
        .value;
    }
    // A reply that is not ours alone, or only part of its buffer, goes as a copy: a move would
    // take the rest of the buffer with it.
    const shares = input.shares.map((b) =>
      fresh.has(b) && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b),
    );
    const checked = await pool.run<DecodeRunOutput>(
      DECODE_TASK,
      "decodeRun",
      { ...input, shares, mode: "check", ownsShares: true },
      movableBuffers(shares),
    );
    if (checked.kind !== "checked") return checked;
    return decodeRun({ ...input, shares: checked.shares, mode: "output", checked: true, ownsShares: true })
      .value;
  }

  /** Reads and run fetches under way: a run fetched ahead can outlive the read that asked for it. */
  let busy = 0;
  /**
   * Shares read whole are held for their blocks until no read or fetch is left, then freed if
   * the reader says its reads are its own; a later read fetches the blocks again.
   */
  const idle = () => {
    busy -= 1;
    if (busy > 0) return;
    for (const share of active)
      if (share.whole !== undefined && share.reader.freshReads) freeNow(share.whole);
  };

  /**
   * The output bytes of segments from..to ([outFrom, outTo) of their crypttext, decrypted unless
   * the cap is a verify cap), every block and segment checked. A share with a bad block is
   * dropped for another and the run decoded again.
   */
  async function fetchRun(from: number, to: number, outFrom: number, outTo: number): Promise<Uint8Array[]> {
    busy += 1;
    try {
      return await fetchRunNow(from, to, outFrom, outTo);
    } finally {
      idle();
    }
  }

  async function fetchRunNow(
    from: number,
    to: number,
    outFrom: number,
    outTo: number,
  ): Promise<Uint8Array[]> {
    const got = new Map<number, Uint8Array>();
    /** Fetched replies the decoder may free once used (see ShareReader.freshReads). */
    const fresh = new Set<Uint8Array>();
    const forget = (sn: number) => {
      const bytes = got.get(sn);
      got.delete(sn);
      if (bytes !== undefined && fresh.delete(bytes)) freeNow(bytes);
    };
    for (;;) {
      const { plan, crypttextTree } = await fillActive();
      // Concurrent fetches may each have replaced a failed share: k of them are enough.
      const todo = active.slice(0, k).filter((share) => !got.has(share.shareNumber));
      const results = await Promise.allSettled(todo.map((share) => fetchBlocks(share, plan, from, to)));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") {
          got.set(todo[i]!.shareNumber, r.value);
          if (todo[i]!.reader.freshReads) fresh.add(r.value);
        } else fail(todo[i]!.reader, r.reason, todo[i]);
      });
      if (active.length < k) continue;
      const usedShares = active.slice(0, k).sort((a, b) => a.shareNumber - b.shareNumber);
      const used = usedShares.map((share) => share.shareNumber);
      if (used.some((sn) => !got.has(sn))) continue;
      const leaves = (tree: readonly Uint8Array[]) => {
        const first = tree.length - (tree.length + 1) / 2;
        return Buffer.concat(tree.slice(first + from, first + to + 1));
      };
      const shares = used.map((sn) => got.get(sn)!);
      const result = await decodeOnce(
        {
          k,
          n: readCap.n,
          shareNumbers: used,
          shares,
          blockHashes: usedShares.map((share) => leaves(share.blockTree)),
          segmentHashes: leaves(crypttextTree),
          from,
          to,
          numSegments: plan.numSegments,
          segmentSize: plan.segmentSize,
          tailSize: plan.tailSize,
          blockSize: plan.blockSize,
          tailBlockSize: plan.tailBlockSize,
          key: readCap.kind === "chk" ? readCap.key : undefined,
          outFrom,
          outTo,
          mode: "output",
          ownsShares: false,
        },
        fresh,
      );
      if (result.kind === "checked") throw new Error("decodeRun answered a check where output was asked");
      if (result.kind === "bad-segment") {
        throw new ImmutableError(
          "TAHOE_ERR_IMMUTABLE_CRYPTTEXT_HASH",
          `segment ${result.segment} decoded from shares ${used.join(", ")} does not match the crypttext hash tree`,
          {
            hint: "Every block matched its share's hashes, so the shares were encoded wrongly; try other shares and report this.",
          },
        );
      }
      if (result.kind === "bad-blocks") {
        // The replies came back (moved or copied to the worker and back): ours to free.
        used.forEach((sn, i) => {
          const back = result.shares[i]!;
          const before = got.get(sn)!;
          got.set(sn, back);
          if (back !== before) {
            fresh.delete(before);
            fresh.add(back);
          }
        });
        for (const { share: i, segment: s } of result.bad) {
          const share = usedShares[i]!;
          const start = share.header.data + s * plan.blockSize;
          const size = s === plan.numSegments - 1 ? plan.tailBlockSize : plan.blockSize;
          forget(share.shareNumber);
          fail(
            share.reader,
            new CorruptShareError(
              "TAHOE_ERR_IMMUTABLE_BLOCK_HASH",
              share.shareNumber,
              `block ${s} (bytes ${start}..${start + size - 1}) does not match its block hash`,
            ),
            share,
          );
        }
        continue;
      }
      // Replies of shares not used (a share replaced half-way) are done with.
      for (const sn of [...got.keys()]) if (!used.includes(sn)) forget(sn);
      return result.pieces;
    }
  }

  async function* read(range: ByteRange = {}): AsyncGenerator<Uint8Array, void, undefined> {
    busy += 1;
    try {
      yield* readRange(range);
    } finally {
      idle();
    }
  }

  async function* readRange(range: ByteRange): AsyncGenerator<Uint8Array, void, undefined> {
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
    const perRun = Math.max(1, Math.floor((options.runBytes ?? RUN_BYTES) / plan.blockSize));
    // A run is fetched (and decoded) ahead, so every server always has a request to answer while
    // the consumer takes the current one; memory stays at RUNS_AHEAD runs.
    const ahead: Promise<Uint8Array[]>[] = [];
    let fetched = first;
    const topUp = () => {
      while (fetched <= last && ahead.length < RUNS_AHEAD) {
        const runEnd = Math.min(last, fetched + perRun - 1);
        const runStartByte = fetched * plan.segmentSize;
        const runEndByte = Math.min(size, (runEnd + 1) * plan.segmentSize);
        const p = fetchRun(
          fetched,
          runEnd,
          Math.max(start, runStartByte) - runStartByte,
          Math.min(end, runEndByte) - runStartByte,
        );
        fetched += perRun;
        // Keep a later fetch from being an unhandled rejection while the consumer holds this one.
        p.catch(() => {});
        ahead.push(p);
      }
    };
    for (let runStart = first; runStart <= last; runStart += perRun) {
      topUp();
      const pieces = await ahead.shift()!;
      topUp();
      // Each piece is a new buffer of its own (the decrypted output): the consumer may free it.
      for (const piece of pieces) yield piece;
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
