import type { ChkSharesEncoding, ChkSharesResult, ShareWrite } from "@lafs/immutable";

/** An encoding pass started early, and how to drop what it made if it is never sent. */
export interface EncodeAhead {
  /** The same pass: its first writes come from what was encoded ahead. */
  readonly encoding: ChkSharesEncoding;
  /** Releases the writes encoded ahead and ends the pass; for an upload that failed before sending. */
  stop(): Promise<void>;
}

/**
 * Encodes a pass's first writes, up to `bytesPerShare` of each share (one PATCH's worth), while
 * the servers are still being asked and allocated: the encoder's CPU then overlaps those round
 * trips, and the first PATCHes go out as soon as the buckets exist instead of a segment later.
 * Memory stays within what the segment pump would buffer per share anyway.
 */
export function encodeAhead(pass: ChkSharesEncoding, bytesPerShare: number): EncodeAhead {
  const writes = pass.writes();
  const ready: ShareWrite[] = [];
  let finished: ChkSharesResult | undefined;
  let taken = false;
  let stopped = false;
  const ahead = (async () => {
    // The questions and allocations go out first: a segment's encoding holds the thread.
    await new Promise((resolve) => setImmediate(resolve));
    if (stopped) return;
    let bytes = 0;
    while (bytes < bytesPerShare) {
      const next = await writes.next();
      if (next.done) {
        finished = next.value;
        return;
      }
      ready.push(next.value);
      bytes += next.value.data[0]?.length ?? 0;
    }
  })();
  // A failure surfaces when the pass is consumed (or is dropped with it by stop).
  ahead.catch(() => undefined);

  async function* primed(): AsyncGenerator<ShareWrite, ChkSharesResult, undefined> {
    taken = true;
    await ahead;
    while (ready.length > 0) yield ready.shift()!;
    if (finished !== undefined) return finished;
    return yield* writes;
  }

  return {
    encoding: {
      plan: pass.plan,
      storageIndex: pass.storageIndex,
      shareSize: pass.shareSize,
      writes: primed,
      result: () => pass.result(),
    },
    async stop() {
      if (taken) return;
      taken = true;
      stopped = true;
      await ahead.catch(() => undefined);
      for (const write of ready.splice(0)) for (let sn = 0; sn < write.data.length; sn++) write.release(sn);
      await writes.return(undefined as unknown as ChkSharesResult).catch(() => undefined);
    },
  };
}
