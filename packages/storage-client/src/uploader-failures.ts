import { isStorageClientError } from "./errors.js";
import type { BucketWriter } from "./uploader-bucket.js";
import type { ServerState } from "./uploader-servers.js";
import { abortedError, place, reasonOf, requiredWords, type Upload, unhappy } from "./uploader-state.js";

const ABORT_TIMEOUT_MS = 5_000;

/**
 * Sent at once, never behind the share's writes: kill() cancels those first. A server found
 * hung gets none: it would only hold the upload up, and it drops the upload itself when idle.
 */
export function sendAbort(up: Upload, st: ServerState, shareNumber: number, uploadSecret: Uint8Array): void {
  if (st.server.lost?.aborted) return;
  up.cleanups.push(
    st.server.client
      .abort(up.si, shareNumber, uploadSecret, { timeoutMs: ABORT_TIMEOUT_MS })
      .catch((error: unknown) =>
        up.logger.debug({ server: st.server.id, share: shareNumber, error: reasonOf(error) }, "abort failed"),
      ),
  );
}

export function abortBucket(up: Upload, st: ServerState, b: BucketWriter): void {
  const wasComplete = b.complete;
  b.kill();
  if (!wasComplete) sendAbort(up, st, b.shareNumber, b.uploadSecret);
}

/** The upload failed: every bucket is stopped, and unfinished ones aborted on their servers. */
export async function abortEverything(up: Upload, error: unknown): Promise<void> {
  up.fatal ??= error instanceof Error ? error : new Error(String(error));
  for (const st of up.states) for (const b of st.buckets.values()) abortBucket(up, st, b);
  await Promise.all(up.cleanups);
}

/** Tahoe re-checks happiness whenever a server drops out; stop early rather than push a doomed file. */
function recheck(up: Upload, error: unknown): void {
  if (up.streaming && up.fatal === undefined) {
    const placement = place(up);
    if (!placement.ok) up.fatal = unhappy(up, requiredWords(placement), error);
  }
}

/**
 * A full server (HTTP 507, or an allocate that got nothing for lack of room) keeps the shares
 * it completed and is read-only from now on: its unfinished shares are aborted and placed on
 * other servers after the main pass, or the upload fails in placement's words naming it.
 */
function serverFull(up: Upload, st: ServerState, error: unknown): void {
  if (up.signal?.aborted) {
    up.fatal ??= abortedError(up);
    return;
  }
  if (!st.alive || st.full) return;
  st.full = true;
  st.writable = false;
  st.failure = reasonOf(error);
  up.failed.push(st);
  up.logger.warn(
    { server: st.server.id, error: st.failure },
    `server ${st.label} is full: its unfinished shares go to other servers`,
  );
  for (const b of st.buckets.values()) if (!b.complete) abortBucket(up, st, b);
  recheck(up, error);
}

export function serverFailed(up: Upload, st: ServerState, error: unknown): void {
  if (up.signal?.aborted) {
    up.fatal ??= abortedError(up);
    return;
  }
  if (isStorageClientError(error, "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL")) {
    serverFull(up, st, error);
    return;
  }
  if (!st.alive) return;
  st.alive = false;
  st.failure = reasonOf(error);
  if (!up.failed.includes(st)) up.failed.push(st);
  up.logger.warn({ server: st.server.id, error: st.failure }, "storage server failed during upload");
  for (const b of st.buckets.values()) abortBucket(up, st, b);
  recheck(up, error);
}

/**
 * The node's liveness probe finding a server hung cancels its writes at once (GridServer.lost).
 * Returns what stops the watching.
 */
export function watchLostServers(up: Upload): () => void {
  const unwatch: (() => void)[] = [];
  for (const st of up.states) {
    const lost = st.server.lost;
    if (lost === undefined) continue;
    const onLost = () =>
      serverFailed(up, st, new Error(`server ${st.label} stopped answering (its liveness probe failed)`));
    if (lost.aborted) {
      st.alive = false;
      continue;
    }
    lost.addEventListener("abort", onLost, { once: true });
    unwatch.push(() => lost.removeEventListener("abort", onLost));
  }
  return () => {
    for (const u of unwatch.splice(0)) u();
  };
}
