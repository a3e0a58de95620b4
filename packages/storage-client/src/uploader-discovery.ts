import type { Logger } from "@lafs/interface";
import { permutedOrder } from "@lafs/placement";
import type { UploadServer } from "./grid-server.js";
import { askForShares } from "./server-selection.js";
import type { ServerState } from "./uploader-servers.js";

/** Version answers are reused for a while: the limit changes only as the server fills up. */
const VERSION_MAX_AGE_MS = 30_000;
const versionCache = new WeakMap<object, { at: number; maximumImmutableShareSize: number }>();

/**
 * Each server's `maximum-immutable-share-size`, from a recent version answer or a new query
 * (all at once: they are small). A server that does not answer is left out: allocate decides.
 */
async function shareSizeLimits<T extends { readonly server: UploadServer }>(
  servers: readonly T[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Map<T, number>> {
  const out = new Map<T, number>();
  const now = Date.now();
  await Promise.all(
    servers.map(async (st) => {
      const client = st.server.client;
      let known = versionCache.get(client);
      if (known === undefined || now - known.at > VERSION_MAX_AGE_MS) {
        try {
          const v = await client.version({
            timeoutMs,
            ...(signal ? { signal } : {}),
            ...(st.server.lost ? { serverLost: st.server.lost } : {}),
          });
          known = { at: now, maximumImmutableShareSize: v.maximumImmutableShareSize };
          versionCache.set(client, known);
        } catch {
          return;
        }
      }
      out.set(st, known.maximumImmutableShareSize);
    }),
  );
  return out;
}

export interface DiscoveryOptions {
  storageIndex: Uint8Array;
  n: number;
  shareSize: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  logger: Logger;
  /** The upload's cancellation error, thrown once `signal` is aborted. */
  aborted: () => Error;
  /** A server that failed its query (not merely slow): the upload's failure handling. */
  serverFailed: (st: ServerState, error: unknown) => void;
}

/** The connected, allowed servers in the file's permuted order. */
function usableInOrder(states: readonly ServerState[], si: Uint8Array): ServerState[] {
  return permutedOrder(
    si,
    states
      .filter((st) => st.server.connected && st.server.allowed !== false)
      .map((st) => ({ id: st.server.id, permutationSeed: st.server.permutationSeed, st })),
  ).map((entry) => entry.st);
}

/**
 * Tahoe's discovery (wire-formats §6.2 step 2) is this, then askExistingShares. A server whose
 * version answer caps immutable shares below this file's share size is
 * read-only for this upload, as in Tahoe's server selection. Versions come from a cache of
 * recent answers, so this usually sends nothing.
 */
export async function checkShareSizeLimits(
  states: readonly ServerState[],
  options: DiscoveryOptions,
): Promise<void> {
  const { storageIndex: si, shareSize, signal, logger } = options;
  const limits = await shareSizeLimits(
    usableInOrder(states, si).filter(
      (st) => st.writable && st.server.maximumImmutableShareSize === undefined,
    ),
    options.timeoutMs,
    signal,
  );
  if (signal?.aborted) throw options.aborted();
  for (const [st, limit] of limits) {
    if (limit < shareSize) {
      st.writable = false;
      // Servers report their free space as this limit (Tahoe's and ours): below a share, it is full.
      logger.warn(
        { server: st.server.id, limit, shareSize },
        `server ${st.label} is full: room for ${limit} bytes, a share of this file needs ${shareSize}`,
      );
    }
  }
}

/**
 * The first 2N usable servers, plus required ones, are asked which shares they hold; the
 * answers go into each state's `existing`. A server too slow to answer is read-only for this
 * upload. Returns whether the answers changed anything placement sees: a share found, a server
 * read-only or failed (false for a file no server holds any of, the usual case).
 */
export async function askExistingShares(
  states: readonly ServerState[],
  options: DiscoveryOptions,
): Promise<boolean> {
  const { storageIndex: si, n, signal } = options;
  const ask: ServerState[] = [];
  let writable = 0;
  for (const st of usableInOrder(states, si)) {
    if (writable < 2 * n) {
      ask.push(st);
      if (st.writable) writable++;
    } else if (st.server.required) ask.push(st);
  }
  const answers = await askForShares(
    si,
    ask.map((st) => ({ ...st.server, state: st })),
    { timeoutMs: options.timeoutMs, signal },
  );
  if (signal?.aborted) throw options.aborted();
  let changed = false;
  for (const answer of answers) {
    const st = answer.server.state;
    if (answer.ok) {
      for (const sn of answer.shares) {
        if (sn < n && !st.corrupt.has(sn)) {
          st.existing.add(sn);
          changed = true;
        }
      }
    } else if (answer.timedOut) {
      // Tahoe's rule: a slow server may still hold shares, but gets no new ones.
      changed ||= st.writable;
      st.writable = false;
    } else {
      changed = true;
      options.serverFailed(st, answer.error);
    }
  }
  return changed;
}
