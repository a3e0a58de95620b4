import { base32Encode } from "@lafs/crypto";
import {
  type ChkReadCap,
  type ChkVerifyCap,
  formatCap,
  type ImmutableCap,
  openShare,
  parseImmutableCap,
  type ShareReader,
  storageIndexOfKey,
  verifyChkShare,
} from "@lafs/immutable";
import type { CallOptions } from "../client.js";
import type { UploadServer } from "../grid-server.js";
import { deriveLeaseSecrets } from "../lease-secrets.js";
import { askForShares, connectedInPermutedOrder, SHARE_QUERY_TIMEOUT_MS } from "../server-selection.js";
import {
  type CheckOptions,
  type CheckResults,
  type CorruptShare,
  happinessOf,
  literalResults,
} from "./results.js";

export interface ImmutableCheckOptions extends CheckOptions {
  /** The node's 32-byte `private/secret`, for add-lease. */
  readonly leaseSecret: Uint8Array;
  /** Send a corruption advisory for each corrupt share verify finds (default true). */
  readonly advise?: boolean | undefined;
}

interface FoundShare {
  readonly server: UploadServer;
  readonly shareNumber: number;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export function storageIndexOfChk(cap: ChkReadCap | ChkVerifyCap): Uint8Array {
  return cap.kind === "chk" ? storageIndexOfKey(cap.key) : cap.storageIndex;
}

export function shareReaderFor(
  server: UploadServer,
  si: Uint8Array,
  shareNumber: number,
  signal?: AbortSignal,
): ShareReader {
  const call: CallOptions = {};
  if (signal) call.signal = signal;
  if (server.lost) call.serverLost = server.lost;
  return {
    shareNumber,
    freshReads: true,
    read: (offset, length) => server.client.read(si, shareNumber, offset, length, call),
  };
}

/** Every share every connected server holds (all asked: a check wants the whole picture). */
async function findShares(
  si: Uint8Array,
  servers: readonly UploadServer[],
  options: CheckOptions,
): Promise<{ found: FoundShare[]; responding: UploadServer[] }> {
  const ordered = connectedInPermutedOrder(si, servers);
  const answers = await askForShares(si, ordered, {
    timeoutMs: options.queryTimeoutMs ?? SHARE_QUERY_TIMEOUT_MS,
    signal: options.signal,
  });
  const found: FoundShare[] = [];
  const responding: UploadServer[] = [];
  for (const answer of answers) {
    if (!answer.ok) continue;
    responding.push(answer.server);
    for (const shareNumber of answer.shares) found.push({ server: answer.server, shareNumber });
  }
  return { found, responding };
}

/**
 * Tahoe's immutable checker: asks every connected server which shares of the file it holds
 * (check), or also reads and checks every byte of each (verify: header, UEB against the cap,
 * hash chain, block and crypttext hash trees, every block). A corrupt share's server gets a
 * corruption advisory, as the downloader sends. With addLease, our lease on every server
 * that holds a share is renewed. Healthy means all N share numbers are held by good shares.
 */
export async function checkImmutable(
  cap: string | ImmutableCap,
  servers: readonly UploadServer[],
  options: ImmutableCheckOptions,
): Promise<CheckResults> {
  const parsed = typeof cap === "string" ? parseImmutableCap(cap) : cap;
  if (parsed.kind === "lit") return literalResults();
  const si = storageIndexOfChk(parsed);
  const siText = base32Encode(si);
  const { found, responding } = await findShares(si, servers, options);
  const wrong = found.filter((f) => f.shareNumber >= parsed.n);
  let good = found.filter((f) => f.shareNumber < parsed.n);
  const corrupt: CorruptShare[] = [];
  if (options.verify) {
    const verdicts = await Promise.all(
      good.map(async (f) => {
        try {
          await verifyChkShare(parsed, shareReaderFor(f.server, si, f.shareNumber, options.signal));
          return undefined;
        } catch (error) {
          return reasonOf(error);
        }
      }),
    );
    const advisories: Promise<unknown>[] = [];
    good = good.filter((f, i) => {
      const reason = verdicts[i];
      if (reason === undefined) return true;
      corrupt.push({ serverId: f.server.id, storageIndex: siText, shareNumber: f.shareNumber, reason });
      if (options.advise === false) return false;
      advisories.push(
        f.server.client
          .adviseCorrupt("immutable", si, f.shareNumber, reason.slice(0, 10_000))
          .catch(() => undefined),
      );
      return false;
    });
    await Promise.all(advisories);
  }
  const leaseFailures: { serverId: string; reason: string }[] = [];
  if (options.addLease) {
    const holders = [...new Map(found.map((f) => [f.server.id, f.server])).values()];
    await Promise.all(
      holders.map(async (server) => {
        try {
          const secrets = deriveLeaseSecrets(options.leaseSecret, si, server.leaseSeed);
          await server.client.addOrRenewLease(si, secrets, options.signal ? { signal: options.signal } : {});
        } catch (error) {
          leaseFailures.push({ serverId: server.id, reason: reasonOf(error) });
        }
      }),
    );
  }
  const sharemap = new Map<number, string[]>();
  for (const f of [...good].sort((a, b) => a.shareNumber - b.shareNumber)) {
    const ids = sharemap.get(f.shareNumber) ?? [];
    ids.push(f.server.id);
    sharemap.set(f.shareNumber, ids);
  }
  for (const ids of sharemap.values()) ids.sort();
  const sharesGood = sharemap.size;
  const healthy = sharesGood >= parsed.n;
  const recoverable = sharesGood >= parsed.k;
  return {
    storageIndex: siText,
    summary: healthy ? "Healthy" : `Not Healthy: ${sharesGood} shares (enc ${parsed.k}-of-${parsed.n})`,
    healthy,
    recoverable,
    sharesGood,
    sharesNeeded: parsed.k,
    sharesExpected: parsed.n,
    happiness: happinessOf(sharemap),
    goodShareHosts: new Set(good.map((f) => f.server.id)).size,
    wrongShares: wrong.length,
    corruptShares: corrupt,
    serversResponding: responding.map((s) => s.id).sort(),
    sharemap,
    recoverableVersions: recoverable ? 1 : 0,
    unrecoverableVersions: recoverable || sharesGood === 0 ? 0 : 1,
    leaseFailures,
  };
}

/** The segment size the file was encoded with (from a good share's UEB): repair must match it. */
export async function segmentSizeOf(
  cap: ChkReadCap | ChkVerifyCap,
  results: CheckResults,
  servers: readonly UploadServer[],
  signal?: AbortSignal,
): Promise<number> {
  const si = storageIndexOfChk(cap);
  const byId = new Map(servers.map((s) => [s.id, s]));
  let lastError: unknown;
  for (const [shareNumber, ids] of results.sharemap) {
    for (const id of ids) {
      const server = byId.get(id);
      if (server === undefined) continue;
      try {
        const share = await openShare(shareReaderFor(server, si, shareNumber, signal), cap);
        return share.plan.segmentSize;
      } catch (error) {
        lastError = error;
      }
    }
  }
  throw lastError ?? new Error(`no readable share of ${formatCap(cap).slice(0, 20)}…`);
}
