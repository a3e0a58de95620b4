import { permutedOrder } from "@lafs/placement";
import type { CallOptions } from "./client.js";
import { isStorageClientError } from "./errors.js";
import type { GridServer } from "./grid-server.js";

/** Tahoe's timeout for "do you have shares of this file?" (wire-formats §5.8). */
export const SHARE_QUERY_TIMEOUT_MS = 15_000;

/** One server's answer to `GET …/shares`. */
export type ShareQueryAnswer<T extends GridServer> =
  | { readonly server: T; readonly ok: true; readonly shares: readonly number[] }
  | { readonly server: T; readonly ok: false; readonly timedOut: boolean; readonly error: unknown };

export interface ShareQueryOptions {
  readonly timeoutMs?: number | undefined;
  /** Queries in flight at once; default 10, like Tahoe's share finder. */
  readonly concurrency?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Stop starting new queries once this returns true for the answers so far. */
  readonly enough?: ((answers: readonly ShareQueryAnswer<GridServer>[]) => boolean) | undefined;
}

/**
 * Asks servers, in the order given, which shares of `storageIndex` they hold, a few at a time.
 * Answers come back in the order of `servers` (servers never asked are left out); a failed
 * query is an answer too, so callers can say which servers were unreachable.
 */
export async function askForShares<T extends GridServer>(
  storageIndex: Uint8Array,
  servers: readonly T[],
  options: ShareQueryOptions = {},
): Promise<ShareQueryAnswer<T>[]> {
  const call: CallOptions = { timeoutMs: options.timeoutMs ?? SHARE_QUERY_TIMEOUT_MS };
  if (options.signal) call.signal = options.signal;
  const answers: (ShareQueryAnswer<T> | undefined)[] = new Array(servers.length);
  const done: ShareQueryAnswer<T>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < servers.length && !(options.enough?.(done) ?? false) && !options.signal?.aborted) {
      const i = next++;
      const server = servers[i]!;
      let answer: ShareQueryAnswer<T>;
      try {
        const shares = await server.client.listImmutableShares(
          storageIndex,
          server.lost ? { ...call, serverLost: server.lost } : call,
        );
        answer = { server, ok: true, shares: [...shares].sort((a, b) => a - b) };
      } catch (error) {
        const timedOut = isStorageClientError(error, "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT");
        answer = { server, ok: false, timedOut, error };
      }
      answers[i] = answer;
      done.push(answer);
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? 10);
  await Promise.all(Array.from({ length: Math.min(concurrency, servers.length) }, worker));
  return answers.filter((a): a is ShareQueryAnswer<T> => a !== undefined);
}

/** The connected servers in the permuted order for this storage index (wire-formats §2.14). */
export function connectedInPermutedOrder<T extends GridServer>(
  storageIndex: Uint8Array,
  servers: readonly T[],
): T[] {
  return permutedOrder(
    storageIndex,
    servers.filter((s) => s.connected),
  );
}
