import { base32Encode } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import {
  checkstringReadVector,
  type MutableFormat,
  publishTestVector,
  type ShareWrite,
  type SlotTestVector,
} from "@lafs/mutable";
import { serverLabel } from "@lafs/placement";
import type { UploadServer } from "../grid-server.js";
import type { TestVector } from "../messages.js";
import { mutableError, reasonOf, throwIfAborted } from "./errors.js";
import { callOptions, slotSecrets } from "./grid.js";
import type { ServerMap } from "./servermap.js";

/**
 * Share data per read-test-write request. The whole share goes in one request when it fits
 * (as Tahoe sends it); a larger MDMF share is sent as several, blocks first, so each request
 * stays well under a server's body limit (64 MiB on ours). The header, which readers and the
 * test vectors key on, is always in the last request.
 */
export const PUBLISH_REQUEST_BYTES = 32 * 1024 * 1024;

/** One share to write on one server, and what the server must hold there first. */
export interface PublishTarget {
  readonly server: UploadServer;
  readonly shnum: number;
  readonly test: SlotTestVector;
}

export interface PublishJob {
  readonly storageIndex: Uint8Array;
  readonly format: MutableFormat;
  readonly k: number;
  readonly writeEnablerMaster: Uint8Array;
  readonly leaseSecret: Uint8Array;
  /** The checkstring of the version being written. */
  readonly newCheckstring: Uint8Array;
  readonly writesFor: (shnum: number) => readonly ShareWrite[];
  readonly goal: readonly PublishTarget[];
  /**
   * Servers a share may move to when its server fails (whole-share publishes only: an
   * in-place update's writes make sense only on top of the old share). Permuted order.
   */
  readonly rehomeTo?: readonly UploadServer[] | undefined;
  /** `serverId:shnum` of every share the servermap saw; any other share that appears is a surprise. */
  readonly known: ReadonlySet<string>;
  readonly signal?: AbortSignal | undefined;
  readonly logger: Logger;
}

export interface PublishResult {
  readonly placed: readonly { readonly serverId: string; readonly shnum: number }[];
  /** Bytes of share data sent, per server id (write vectors only). */
  readonly bytesWritten: ReadonlyMap<string, number>;
}

export function locationKey(server: UploadServer, shnum: number): string {
  return `${server.id}:${shnum}`;
}

/**
 * Tahoe's update_goal: every share the servermap knows (good or bad) is rewritten where it
 * is, tested against the checkstring seen there; each remaining share number, ascending, goes
 * to the server with the fewest shares so far, ties broken by permuted order.
 */
export function placementGoal(
  map: ServerMap | undefined,
  servers: readonly UploadServer[],
  n: number,
): PublishTarget[] {
  const goal: PublishTarget[] = [];
  if (map !== undefined) {
    for (const s of map.shares) {
      if (s.shnum < n)
        goal.push({ server: s.server, shnum: s.shnum, test: publishTestVector(s.head.header.checkstring) });
    }
    for (const b of map.badShares) {
      if (b.shnum < n)
        goal.push({ server: b.server, shnum: b.shnum, test: publishTestVector(b.checkstring) });
    }
  }
  const homed = new Set(goal.map((t) => t.shnum));
  const counts = new Map<string, number>();
  for (const t of goal) counts.set(t.server.id, (counts.get(t.server.id) ?? 0) + 1);
  for (let shnum = 0; shnum < n; shnum++) {
    if (homed.has(shnum)) continue;
    const server = leastLoaded(servers, counts);
    if (server === undefined) break;
    counts.set(server.id, (counts.get(server.id) ?? 0) + 1);
    goal.push({ server, shnum, test: publishTestVector() });
  }
  return goal;
}

function leastLoaded(
  servers: readonly UploadServer[],
  counts: ReadonlyMap<string, number>,
  exclude: ReadonlySet<string> = new Set(),
): UploadServer | undefined {
  let best: UploadServer | undefined;
  for (const server of servers) {
    if (exclude.has(server.id)) continue;
    if (best === undefined || (counts.get(server.id) ?? 0) < (counts.get(best.id) ?? 0)) best = server;
  }
  return best;
}

/** Splits a share's writes into requests of at most PUBLISH_REQUEST_BYTES, keeping their order. */
function requestsOf(writes: readonly ShareWrite[]): ShareWrite[][] {
  const requests: ShareWrite[][] = [];
  let current: ShareWrite[] = [];
  let size = 0;
  for (const w of writes) {
    if (current.length > 0 && size + w.data.length > PUBLISH_REQUEST_BYTES) {
      requests.push(current);
      current = [];
      size = 0;
    }
    current.push(w);
    size += w.data.length;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

class Surprise {
  constructor(readonly detail: string) {}
}

/**
 * Writes a version's shares with test-and-set (Tahoe's Publish._push): one read-test-write per
 * share (more for a share too large for one request), each testing that the server still holds
 * what the servermap saw and reading back every share's checkstring on that server. A failed
 * test, or a share nobody knew about that holds another version, means another writer is at
 * work: the publish stops and throws TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE (Tahoe's
 * UncoordinatedWriteError). A server that fails loses its shares to other servers when
 * `rehomeTo` is given. Fewer than k share numbers placed is TAHOE_ERR_MUTABLE_NOT_ENOUGH_SERVERS.
 */
export async function publishShares(job: PublishJob): Promise<PublishResult> {
  const si = base32Encode(job.storageIndex);
  const readVector = [checkstringReadVector(job.format)];
  const checkLength = readVector[0]!.size;
  const queues = new Map<string, PublishTarget[]>();
  const running = new Map<string, Promise<void>>();
  const badServers = new Set<string>();
  const failures: string[] = [];
  const placed: PublishTarget[] = [];
  const bytesWritten = new Map<string, number>();
  const counts = new Map<string, number>();
  let surprise: Surprise | undefined;

  const writeTarget = async (t: PublishTarget) => {
    const secrets = slotSecrets(t.server, job.storageIndex, job.writeEnablerMaster, job.leaseSecret);
    const requests = requestsOf(job.writesFor(t.shnum));
    for (let i = 0; i < requests.length; i++) {
      throwIfAborted(`publish of mutable file ${si}`, job.signal);
      if (surprise !== undefined) return;
      // Later requests of a split share find what the earlier ones left at offset 0: the old
      // checkstring (the header is written last), or zeros in a share this publish created.
      const test: TestVector =
        i === 0 || t.test.specimen.length > 0
          ? t.test
          : { offset: 0, size: checkLength, specimen: new Uint8Array(checkLength) };
      const result = await t.server.client.readTestWrite(
        job.storageIndex,
        secrets,
        { testWriteVectors: new Map([[t.shnum, { test: [test], write: requests[i]! }]]), readVector },
        callOptions(t.server, job.signal),
      );
      if (!result.success) {
        const seen = result.data.get(t.shnum)?.[0];
        throw new Surprise(
          `share ${t.shnum} on ${serverLabel(t.server)} no longer holds what the servermap saw (${describeCheckstring(seen)})`,
        );
      }
      const sent = requests[i]!.reduce((sum, w) => sum + w.data.length, 0);
      bytesWritten.set(t.server.id, (bytesWritten.get(t.server.id) ?? 0) + sent);
      for (const [shnum, [checkstring]] of result.data) {
        if (shnum === t.shnum || job.known.has(locationKey(t.server, shnum))) continue;
        if (checkstring !== undefined && !Buffer.from(checkstring).equals(job.newCheckstring)) {
          throw new Surprise(
            `${serverLabel(t.server)} holds share ${shnum}, which the servermap did not see (${describeCheckstring(checkstring)})`,
          );
        }
      }
    }
    placed.push(t);
  };

  const enqueue = (t: PublishTarget) => {
    const queue = queues.get(t.server.id) ?? [];
    queue.push(t);
    queues.set(t.server.id, queue);
    counts.set(t.server.id, (counts.get(t.server.id) ?? 0) + 1);
    if (!running.has(t.server.id)) running.set(t.server.id, run(t.server));
  };

  const run = async (server: UploadServer) => {
    // Let enqueue() finish registering this worker before it can end.
    await Promise.resolve();
    const queue = queues.get(server.id)!;
    while (queue.length > 0 && surprise === undefined && !job.signal?.aborted) {
      const t = queue.shift()!;
      try {
        await writeTarget(t);
      } catch (error) {
        if (error instanceof Surprise) {
          surprise ??= error;
          job.logger.warn(
            { si, server: server.id, share: t.shnum, detail: error.detail },
            "uncoordinated write",
          );
          break;
        }
        if (job.signal?.aborted) break;
        badServers.add(server.id);
        failures.push(`${serverLabel(server)}: ${reasonOf(error)}`);
        job.logger.warn(
          { si, server: server.id, share: t.shnum, error: reasonOf(error) },
          "share write failed",
        );
        for (const lost of [t, ...queue.splice(0)]) rehome(lost);
        break;
      }
    }
    running.delete(server.id);
  };

  const rehome = (lost: PublishTarget) => {
    if (job.rehomeTo === undefined) return;
    // A share number already written, or queued on a good server, has a home (Tahoe's update_goal).
    const queued = (t: PublishTarget) => t.shnum === lost.shnum && !badServers.has(t.server.id);
    if (placed.some((t) => t.shnum === lost.shnum) || [...queues.values()].some((q) => q.some(queued)))
      return;
    const server = leastLoaded(job.rehomeTo, counts, badServers);
    if (server === undefined) return;
    enqueue({ server, shnum: lost.shnum, test: publishTestVector() });
  };

  for (const t of job.goal) enqueue(t);
  while (running.size > 0) await Promise.all([...running.values()]);
  throwIfAborted(`publish of mutable file ${si}`, job.signal);
  if (surprise !== undefined) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE",
      `another writer changed mutable file ${si} during this write: ${surprise.detail}`,
      "Two writers changed the file at once (Tahoe's UncoordinatedWriteError); the other writer's version may have won. Read the file again and redo the change.",
    );
  }
  const distinct = new Set(placed.map((t) => t.shnum)).size;
  if (distinct < job.k) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SERVERS",
      `placed ${distinct} share number(s) of mutable file ${si}, but k=${job.k} are needed to read it` +
        (failures.length > 0
          ? ` (failed: ${failures.slice(0, 5).join("; ")})`
          : job.goal.length === 0
            ? " (no usable storage server)"
            : ""),
      "Wait until more storage servers are connected and try again.",
    );
  }
  job.logger.debug(
    { si, placed: placed.length, distinct, failed: failures.length },
    "mutable shares published",
  );
  return { placed: placed.map((t) => ({ serverId: t.server.id, shnum: t.shnum })), bytesWritten };
}

function describeCheckstring(checkstring: Uint8Array | undefined): string {
  if (checkstring === undefined || checkstring.length === 0) return "no share there";
  if (checkstring.length < 9) return `${checkstring.length} bytes`;
  const seqnum = Buffer.from(checkstring).readBigUInt64BE(1);
  return `found version ${checkstring[0]} seqnum ${seqnum}`;
}
