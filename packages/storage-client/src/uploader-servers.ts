import type { PlacementServer } from "@lafs/placement";
import { serverLabel } from "@lafs/placement";
import type { LeaseSecrets } from "./client.js";
import type { UploadServer } from "./grid-server.js";
import { deriveLeaseSecrets } from "./lease-secrets.js";
import type { BucketWriter } from "./uploader-bucket.js";

/** What one upload knows about one storage server, changed as answers and failures come in. */
export interface ServerState {
  readonly server: UploadServer;
  readonly lease: LeaseSecrets;
  readonly label: string;
  alive: boolean;
  writable: boolean;
  /** Complete shares the server holds (its answer to the query or to allocate). */
  readonly existing: Set<number>;
  /** Shares it holds that a verify found corrupt: never counted as existing. */
  readonly corrupt: ReadonlySet<number>;
  /** Shares this upload allocated on it. */
  readonly buckets: Map<number, BucketWriter>;
  renewed: boolean;
  failure: string | undefined;
  /** The server said it is full: it keeps what it completed, takes nothing new. */
  full: boolean;
}

/**
 * Every server's state at the start of an upload, secrets included: a bad lease seed fails the
 * upload before any request. A server whose known share-size limit is below `shareSize` is
 * read-only from the start, and so is one holding a share in `corruptShares` (by server id).
 */
export function initialServerStates(
  servers: readonly UploadServer[],
  leaseSecret: Uint8Array,
  storageIndex: Uint8Array,
  shareSize: number,
  corruptShares?: ReadonlyMap<string, readonly number[]>,
): ServerState[] {
  return servers.map((server) => {
    const corrupt = new Set(corruptShares?.get(server.id) ?? []);
    return {
      server,
      lease: deriveLeaseSecrets(leaseSecret, storageIndex, server.leaseSeed),
      label: serverLabel(server),
      alive: true,
      // A server with a corrupt share would answer "already have" for its number: placement
      // (which has no per-share refusal) must not count on it for new shares.
      writable:
        corrupt.size === 0 &&
        (server.maximumImmutableShareSize === undefined || server.maximumImmutableShareSize >= shareSize),
      existing: new Set<number>(),
      corrupt,
      buckets: new Map<number, BucketWriter>(),
      renewed: false,
      failure: undefined,
      full: false,
    };
  });
}

export function sorted(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Shares a live server holds or is being sent. */
export function heldShares(st: ServerState): Set<number> {
  const out = new Set(st.existing);
  for (const [sn, b] of st.buckets) if (!b.failed) out.add(sn);
  return out;
}

/** The servers as @lafs/placement sees them now. */
export function placementServers(states: readonly ServerState[]): PlacementServer[] {
  return states.map((st) => ({
    id: st.server.id,
    nickname: st.server.nickname,
    permutationSeed: st.server.permutationSeed,
    connected: st.server.connected && st.alive,
    writable: st.writable,
    existingShares: sorted(heldShares(st)),
    allowed: st.server.allowed ?? true,
    required: st.server.required ?? false,
  }));
}

/**
 * The shares each live, connected, allowed server holds, by server id: with `onlyComplete`
 * only those fully written (what counts for happiness at the end), else also those in flight.
 */
export function liveHoldings(states: readonly ServerState[], onlyComplete: boolean): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const st of states) {
    if (!st.alive || !st.server.connected || st.server.allowed === false) continue;
    const shares = new Set(st.existing);
    for (const [sn, b] of st.buckets) if (!b.failed && (!onlyComplete || b.complete)) shares.add(sn);
    if (shares.size > 0) out.set(st.server.id, sorted(shares));
  }
  return out;
}
