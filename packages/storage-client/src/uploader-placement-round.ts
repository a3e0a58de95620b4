import { randomBytes } from "node:crypto";
import { PlacementRefusedError, type ServerPlan } from "@lafs/placement";
import { isStorageClientError } from "./errors.js";
import { type BucketWriter, createBucketWriter } from "./uploader-bucket.js";
import { sendAbort, serverFailed } from "./uploader-failures.js";
import { heldShares, type ServerState } from "./uploader-servers.js";
import { abortedError, place, reasonOf, type Upload } from "./uploader-state.js";

function newBucket(up: Upload, st: ServerState, shareNumber: number, uploadSecret: Uint8Array): BucketWriter {
  return createBucketWriter({
    client: st.server.client,
    storageIndex: up.si,
    shareNumber,
    uploadSecret,
    batchSize: up.batchSize,
    maxInFlight: up.maxInFlight,
    signal: up.signal,
    onFailure: (error) => serverFailed(up, st, error),
    onSent: (bytes) => {
      up.bytesSent += bytes;
      up.writeRequests++;
    },
  });
}

/**
 * Allocates one server's share of the plan: new shares, and lease renewal of those it already
 * holds. Returns whether the round changed anything (a server now read-only or dead).
 */
async function allocateOn(up: Upload, plan: ServerPlan, created: BucketWriter[]): Promise<boolean> {
  const { si, shareSize, logger } = up;
  const st = up.byId.get(plan.id)!;
  const have = heldShares(st);
  const fresh = plan.newShares.filter((sn) => !have.has(sn));
  const renew = st.renewed ? [] : plan.keptShares.filter((sn) => st.existing.has(sn));
  if (fresh.length === 0 && renew.length === 0) return false;
  const uploadSecret = randomBytes(20);
  try {
    const result = await st.server.client.allocate(
      si,
      { shareNumbers: [...fresh, ...renew], allocatedSize: shareSize, uploadSecret, ...st.lease },
      st.server.lost ? { serverLost: st.server.lost } : undefined,
    );
    st.renewed = true;
    for (const sn of result.alreadyHave) if (sn < up.options.n && !st.corrupt.has(sn)) st.existing.add(sn);
    for (const sn of result.allocated) {
      const b = newBucket(up, st, sn, uploadSecret);
      st.buckets.set(sn, b);
      created.push(b);
    }
    const got = new Set([...result.allocated, ...result.alreadyHave]);
    if (!fresh.some((sn) => !got.has(sn))) return false;
    // Another upload holds them, or the server is out of room: Tahoe treats it as read-only.
    st.writable = false;
    return true;
  } catch (error) {
    if (isStorageClientError(error, "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL")) {
      // A 507 may follow a partial allocation; an allocate that got nothing made no bucket.
      if (error.status === 507) for (const sn of fresh) sendAbort(up, st, sn, uploadSecret);
      st.writable = false;
      logger.warn({ server: st.server.id, error: reasonOf(error) }, `server ${st.label} is full`);
    } else {
      // The server may have allocated before the answer was lost.
      for (const sn of fresh) sendAbort(up, st, sn, uploadSecret);
      serverFailed(up, st, error);
    }
    return true;
  }
}

/**
 * Places, then allocates, until every allocate got what it asked for. Each round that changes
 * anything marks a server read-only or dead, so this ends. Throws PlacementRefusedError.
 * Allocations are not cancelled by the caller's signal: each must answer (or time out) so
 * that every bucket it made is known and can be aborted; one whose outcome is unknown gets an
 * abort for every share it asked for.
 */
export async function placeAndAllocate(up: Upload): Promise<BucketWriter[]> {
  const created: BucketWriter[] = [];
  for (;;) {
    const placement = place(up);
    if (!placement.ok) throw new PlacementRefusedError(placement.refusals);
    const changes = await Promise.all(
      placement.servers.filter((plan) => plan.candidate).map((plan) => allocateOn(up, plan, created)),
    );
    if (up.signal?.aborted) throw abortedError(up);
    if (!changes.includes(true)) return created;
  }
}
