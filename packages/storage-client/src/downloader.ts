import { base32Encode } from "@lafs/crypto";
import {
  type ByteRange,
  createChkDecoder,
  formatCap,
  type ImmutableCap,
  isCorruptShareError,
  parseImmutableCap,
  type ShareReader,
  storageIndexOfKey,
  type WorkerPool,
} from "@lafs/immutable";
import { type Logger, silentLogger } from "@lafs/interface";
import { serverLabel } from "@lafs/placement";
import type { CallOptions } from "./client.js";
import type { GridServer } from "./grid-server.js";
import { askForShares, connectedInPermutedOrder, SHARE_QUERY_TIMEOUT_MS } from "./server-selection.js";
import { DownloadError } from "./transfer-errors.js";

export interface DownloadOptions {
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
  /** Timeout of each "which shares do you have" query; default 15 s. */
  readonly queryTimeoutMs?: number | undefined;
  /** Share queries in flight at once; default 10. */
  readonly queryConcurrency?: number | undefined;
  /** Told about every corrupt share found, once its advisory was sent (or failed to send). */
  readonly onCorruptShare?: ((report: CorruptShareReport) => void) | undefined;
  /**
   * A share read fails (and the download switches to another share) when its server sends
   * nothing for this long; default 10 s. A server the liveness probe finds hung is dropped
   * sooner (GridServer.lost).
   */
  readonly readIdleTimeoutMs?: number | undefined;
  /**
   * Takes a verify cap (URI:CHK-Verifier:) and yields the file's crypttext, every block and
   * segment checked as usual: what a repairer without the key re-encodes. Off by default, so a
   * verify cap given for a download is refused in words.
   */
  readonly crypttext?: boolean | undefined;
  /** Where the decoder checks block and segment hashes (ChkDecoderOptions.workers); default here. */
  readonly workers?: WorkerPool | false | undefined;
  /**
   * Shares up to this many bytes are read whole as the download opens, blocks and all
   * (ChkDecoderOptions.wholeShareBytes, default 1 MiB); 0 for a download that will read only a
   * small range of the file, which then fetches just the segments it touches.
   */
  readonly wholeShareBytes?: number | undefined;
}

/** See DownloadOptions.readIdleTimeoutMs. */
export const READ_IDLE_TIMEOUT_MS = 10_000;

/** A share that failed verification, and whether its server took our corruption advisory. */
export interface CorruptShareReport {
  readonly serverId: string;
  readonly shareNumber: number;
  readonly reason: string;
  readonly advised: boolean;
  readonly adviseError?: string | undefined;
}

/** Where one share was found. */
export interface ShareLocation {
  readonly serverId: string;
  readonly shareNumber: number;
}

/**
 * An immutable file being read. `read` streams the plaintext of a byte range, fetching only
 * the segments it touches; every block is verified and a failing or corrupt share is replaced
 * by another (the corrupt one's server gets an advisory). Several reads may run one after the
 * other on the same download; shares stay open between them.
 */
export interface Download {
  readonly cap: string;
  readonly size: number;
  /** Plaintext of [start, end) (end exclusive, clipped to the size). */
  read(range?: ByteRange): AsyncGenerator<Uint8Array, void, undefined>;
  readAll(range?: ByteRange): Promise<Buffer>;
  /** Every share found, in the order they are tried (primary shares first, then permuted order). */
  readonly locations: readonly ShareLocation[];
  /** The shares in use now. */
  activeShares(): ShareLocation[];
  /** Corrupt shares found so far. */
  corruptShares(): readonly CorruptShareReport[];
  /** Resolves when every corruption advisory sent so far has been answered. */
  settled(): Promise<void>;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** At most five names, then a count: a message about a large grid stays readable. */
function nameSome(labels: readonly string[]): string {
  return labels.length <= 5
    ? labels.join(", ")
    : `${labels.slice(0, 5).join(", ")} and ${labels.length - 5} more`;
}

interface ShareFate {
  readonly loc: { readonly server: GridServer; readonly shareNumber: number };
  readonly corrupt: boolean;
  readonly reason: string;
  readonly code: unknown;
}

/** Codes that mean a share disagrees with the cap's UEB hash, size, k or N. */
const CAP_MISMATCH = new Set(["TAHOE_ERR_IMMUTABLE_UEB_HASH", "TAHOE_ERR_IMMUTABLE_UEB"]);

/**
 * Tahoe's NotEnoughSharesError in words: every share found, how many are still good, how many
 * were corrupt or unreachable, and how many are needed, with each bad share's server and reason.
 */
function notEnoughGoodShares(
  cap: { readonly k: number; readonly size: number },
  siText: string,
  located: readonly { readonly server: GridServer; readonly shareNumber: number }[],
  fates: readonly ShareFate[],
  cause: unknown,
): DownloadError {
  const bad = new Set(fates.map((f) => f.loc));
  const good = new Set(located.filter((l) => !bad.has(l)).map((l) => l.shareNumber)).size;
  const corrupt = fates.filter((f) => f.corrupt);
  const unreachable = fates.filter((f) => !f.corrupt);
  const servers = new Set(located.map((l) => l.server.id)).size;
  const details = fates.map((f) => `share ${f.loc.shareNumber} on ${serverLabel(f.loc.server)}: ${f.reason}`);
  const capMismatch =
    corrupt.length > 0 &&
    corrupt.length === fates.length &&
    corrupt.every((f) => CAP_MISMATCH.has(String(f.code)));
  return new DownloadError(
    "TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES",
    `not enough good shares of ${cap.size}-byte file ${siText}: found ${located.length} share(s) on ${servers} server(s), ${good} good, ${corrupt.length} corrupt` +
      (unreachable.length > 0 ? `, ${unreachable.length} unreachable` : "") +
      `, ${cap.k} needed` +
      (details.length > 0 ? ` (${nameSome(details)})` : ""),
    {
      hint: capMismatch
        ? "every share disagrees with the cap's UEB hash, size, k or N: the cap was probably edited or mistyped; copy the whole cap again"
        : "the corrupt shares were reported to their servers; try again when the unreachable servers are back, or repair the file from a grid that still has enough good shares",
      cause,
    },
  );
}

function literalDownload(cap: string, data: Uint8Array): Download {
  const slice = (range: ByteRange = {}) => {
    const start = Math.max(0, range.start ?? 0);
    const end = Math.min(range.end ?? data.length, data.length);
    return Buffer.from(data.subarray(start, Math.max(start, end)));
  };
  return {
    cap,
    size: data.length,
    async *read(range) {
      const bytes = slice(range);
      if (bytes.length > 0) yield bytes;
    },
    readAll: async (range) => slice(range),
    locations: [],
    activeShares: () => [],
    corruptShares: () => [],
    settled: async () => {},
  };
}

/**
 * Finds the shares of an immutable file and returns a Download for it. A `URI:LIT:` cap needs
 * no server. For `URI:CHK:` the connected servers are asked, in the permuted order of the
 * storage index and a few at a time, which shares they hold, until all N share numbers are
 * found or every server has answered; fewer than k distinct shares is
 * TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES, naming the servers that did not answer.
 */
export async function openDownload(
  cap: string | ImmutableCap,
  servers: readonly GridServer[],
  options: DownloadOptions = {},
): Promise<Download> {
  const parsed = typeof cap === "string" ? parseImmutableCap(cap) : cap;
  const capText = typeof cap === "string" ? cap.trim() : undefined;
  if (parsed.kind === "lit") return literalDownload(capText ?? formatCap(parsed), parsed.data);
  if (parsed.kind !== "chk" && !options.crypttext) {
    throw new DownloadError(
      "TAHOE_ERR_DOWNLOAD_CAP",
      "a URI:CHK-Verifier: cap cannot be downloaded: it has no decryption key",
      {
        hint: "use the file's read cap (URI:CHK:…); a verify cap can only check shares",
      },
    );
  }
  const logger = (options.logger ?? silentLogger).child({ component: "downloader" });
  const si = parsed.kind === "chk" ? storageIndexOfKey(parsed.key) : parsed.storageIndex;
  const siText = base32Encode(si);
  const { signal } = options;
  const ordered = connectedInPermutedOrder(si, servers);
  const answers = await askForShares(si, ordered, {
    timeoutMs: options.queryTimeoutMs ?? SHARE_QUERY_TIMEOUT_MS,
    concurrency: options.queryConcurrency,
    signal,
    enough: (sofar) => new Set(sofar.flatMap((a) => (a.ok ? a.shares : []))).size >= parsed.n,
  });
  if (signal?.aborted) {
    throw new DownloadError("TAHOE_ERR_DOWNLOAD_ABORTED", `download of ${siText} cancelled`, {
      hint: "the download was cancelled on purpose",
      cause: signal.reason,
    });
  }
  const located: { server: GridServer; shareNumber: number }[] = [];
  for (const answer of answers) {
    if (!answer.ok) continue;
    for (const shareNumber of answer.shares) {
      if (shareNumber < parsed.n) located.push({ server: answer.server, shareNumber });
    }
  }
  const distinct = new Set(located.map((l) => l.shareNumber));
  if (distinct.size < parsed.k) {
    const failures = answers
      .filter((a) => !a.ok)
      .map((a) => {
        const code = (a.error as { code?: unknown } | undefined)?.code;
        return `${serverLabel(a.server)}${typeof code === "string" ? ` (${code})` : ""}`;
      });
    const disconnected = servers.length - ordered.length;
    throw new DownloadError(
      "TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES",
      `found ${distinct.size} distinct share(s) of ${parsed.size}-byte file ${siText} on ${new Set(located.map((l) => l.server.id)).size} server(s), need ${parsed.k}; asked ${answers.length} of ${servers.length} server(s)` +
        (disconnected > 0 ? ` (${disconnected} not connected)` : "") +
        (failures.length > 0 ? `; no answer from ${nameSome(failures)}` : ""),
      {
        hint: "wait until more storage servers are connected and try again; if they all answered, the file is lost unless another grid holds it",
      },
    );
  }
  logger.debug({ si: siText, shares: located.length, distinct: distinct.size }, "shares located");

  const idleTimeoutMs = options.readIdleTimeoutMs ?? READ_IDLE_TIMEOUT_MS;
  // The decoder reports failures by reader; activeShares() reports share numbers, and it keeps
  // one reader per number active at a time, so the last reader used for a number is the one in use.
  const lastUsed = new Map<number, { server: GridServer; shareNumber: number }>();
  const locationOf = new Map<ShareReader, { server: GridServer; shareNumber: number }>();
  const readers: ShareReader[] = located.map((loc) => {
    const call: CallOptions = { idleTimeoutMs };
    if (signal) call.signal = signal;
    if (loc.server.lost) call.serverLost = loc.server.lost;
    const reader: ShareReader = {
      shareNumber: loc.shareNumber,
      // Each read is a reply body of its own (see StorageClient.read).
      freshReads: true,
      read: (offset, length) => {
        lastUsed.set(loc.shareNumber, loc);
        return loc.server.client.read(si, loc.shareNumber, offset, length, call);
      },
    };
    locationOf.set(reader, loc);
    return reader;
  });
  const reports: CorruptShareReport[] = [];
  const advisories: Promise<void>[] = [];
  /** Every share given up on, and why: the error when too few good ones remain says them all. */
  const fates: ShareFate[] = [];

  const onShareFailure = (shareNumber: number, error: unknown, reader: ShareReader) => {
    const loc = locationOf.get(reader);
    if (loc === undefined) return;
    const reason = reasonOf(error);
    const corrupt = isCorruptShareError(error);
    fates.push({ loc, corrupt, reason, code: (error as { code?: unknown }).code });
    if (!corrupt) {
      logger.warn(
        { server: loc.server.id, share: shareNumber, error: reason },
        "share unreadable, switching",
      );
      return;
    }
    logger.warn({ server: loc.server.id, share: shareNumber, error: reason }, "corrupt share, switching");
    const report = (advised: boolean, adviseError?: string) => {
      const r: CorruptShareReport = { serverId: loc.server.id, shareNumber, reason, advised, adviseError };
      reports.push(r);
      options.onCorruptShare?.(r);
    };
    advisories.push(
      loc.server.client.adviseCorrupt("immutable", si, shareNumber, reason.slice(0, 10_000)).then(
        () => report(true),
        (adviseFailure: unknown) => report(false, reasonOf(adviseFailure)),
      ),
    );
  };

  const decoder = createChkDecoder(parsed, readers, {
    onShareFailure,
    workers: options.workers,
    wholeShareBytes: options.wholeShareBytes,
  });
  /** The decoder ran out of shares: say how many were found, good, bad and needed. */
  const explain = (error: unknown): unknown => {
    if (signal?.aborted) {
      return new DownloadError("TAHOE_ERR_DOWNLOAD_ABORTED", `download of ${siText} cancelled`, {
        hint: "the download was cancelled on purpose",
        cause: signal.reason,
      });
    }
    const ranOut =
      isCorruptShareError(error) ||
      (error as { code?: unknown } | undefined)?.code === "TAHOE_ERR_IMMUTABLE_NOT_ENOUGH_SHARES";
    if (!ranOut) return error;
    return notEnoughGoodShares(parsed, siText, located, fates, error);
  };
  try {
    // The UEB is checked against the cap before anyone is told the download started.
    await decoder.open();
  } catch (error) {
    throw explain(error);
  }
  async function* read(range?: ByteRange): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* decoder.read(range);
    } catch (error) {
      throw explain(error);
    }
  }
  return {
    cap: capText ?? formatCap(parsed),
    size: decoder.size,
    read,
    readAll: async (range) => {
      const parts: Uint8Array[] = [];
      for await (const part of read(range)) parts.push(part);
      return Buffer.concat(parts);
    },
    locations: [...located]
      .sort((a, b) => a.shareNumber - b.shareNumber)
      .map((l) => ({ serverId: l.server.id, shareNumber: l.shareNumber })),
    activeShares: () =>
      decoder.activeShares().flatMap((sn) => {
        const loc = lastUsed.get(sn);
        return loc ? [{ serverId: loc.server.id, shareNumber: sn }] : [];
      }),
    corruptShares: () => [...reports],
    settled: async () => {
      while (advisories.length > 0) await Promise.all(advisories.splice(0));
    },
  };
}
