import { type ChkSharesEncoding, type ShareWrite, uebHash } from "@lafs/immutable";
import { UploadError } from "./transfer-errors.js";
import type { BucketWriter } from "./uploader-bucket.js";
import { serverFailed } from "./uploader-failures.js";
import { abortedError, type Upload, what } from "./uploader-state.js";

/**
 * Queues one write's bytes on every bucket of their share, and releases each share's bytes
 * back to the encoder once every bucket sending them has had them acknowledged (at once for
 * shares this pass does not send), so the encoder frees its buffers without waiting for GC.
 */
function sendWrite(write: ShareWrite, byShare: ReadonlyMap<number, readonly BucketWriter[]>): void {
  for (let sn = 0; sn < write.data.length; sn++) {
    const list = byShare.get(sn);
    if (list === undefined) {
      write.release(sn);
      continue;
    }
    let left = list.length;
    const acked = () => {
      if (--left === 0) write.release(sn);
    };
    for (const b of list) b.write(write.offset, write.data[sn]!, acked);
  }
}

/** Throws what stopped the upload: the caller's cancel, or a failure recorded meanwhile. */
function throwIfStopped(up: Upload): void {
  if (up.signal?.aborted) up.fatal ??= abortedError(up);
  if (up.fatal) throw up.fatal;
}

/**
 * A re-encoding for replacement shares must give the same file. The trailer ends with the UEB:
 * it is compared before it goes out, so no inconsistent share completes.
 */
function checkSameFile(
  up: Upload,
  pass: ChkSharesEncoding,
  write: ShareWrite,
  expectedUebHash: Uint8Array,
): void {
  const { plan } = pass;
  if (write.offset !== plan.layout.plaintextHashTree) return;
  const trailer = write.data[0]!;
  if (uebHash(trailer.subarray(trailer.length - plan.uebSize)).equals(expectedUebHash)) return;
  throw new UploadError(
    "TAHOE_ERR_UPLOAD_SOURCE_CHANGED",
    expectedUebHash === up.options.expectedUebHash
      ? `upload of ${what(up)}: the encoded shares' UEB hash is not the cap's (repair re-encoded the file differently); no share was completed`
      : `upload of ${what(up)}: the file changed while it was being uploaded (re-encoding it for replacement shares gave another file)`,
    {
      hint: "upload it again when nothing is writing to it",
      failedServers: up.failed.map((s) => s.server.id),
    },
  );
}

/** A bucket that was sent every byte yet never heard "complete" counts as its server failing. */
function failIncomplete(up: Upload, buckets: readonly BucketWriter[]): void {
  for (const b of buckets) {
    if (!b.failed && !b.complete) {
      const st = up.states.find((s) => s.buckets.get(b.shareNumber) === b)!;
      serverFailed(
        up,
        st,
        new Error(
          `share ${b.shareNumber}: every byte was written but the server did not report the share complete`,
        ),
      );
    }
  }
}

/**
 * Runs one encoding pass, sending each share's bytes to the buckets given. Back-pressure: after
 * each write the encoder waits while any live bucket holds more than maxBuffered bytes.
 */
export async function pumpSegments(
  up: Upload,
  pass: ChkSharesEncoding,
  buckets: BucketWriter[],
  expectedUebHash?: Uint8Array,
): Promise<void> {
  const byShare = new Map<number, BucketWriter[]>();
  for (const b of buckets) byShare.set(b.shareNumber, [...(byShare.get(b.shareNumber) ?? []), b]);
  const { maxBuffered } = up;
  for await (const write of pass.writes()) {
    throwIfStopped(up);
    if (expectedUebHash !== undefined) checkSameFile(up, pass, write, expectedUebHash);
    sendWrite(write, byShare);
    const waits = buckets
      .filter((b) => !b.failed && b.buffered() > maxBuffered)
      .map((b) => b.drainTo(maxBuffered));
    if (waits.length > 0) await Promise.all(waits);
  }
  for (const b of buckets) b.flush();
  await Promise.all(buckets.map((b) => b.settled()));
  throwIfStopped(up);
  failIncomplete(up, buckets);
  throwIfStopped(up);
}
