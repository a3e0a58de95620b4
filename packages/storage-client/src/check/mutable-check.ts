import { base32Encode } from "@lafs/crypto";
import { type Logger, silentLogger } from "@lafs/interface";
import { formatMutableCap, type MutableCap, mutableLeaseSecrets, parseMutableCap } from "@lafs/mutable";
import { openMutableFile, overwriteMutableFile } from "../mutable/files.js";
import type { MutableGridOptions } from "../mutable/grid.js";
import { type ServerMap, updateServermap } from "../mutable/servermap.js";
import { SHARE_QUERY_TIMEOUT_MS } from "../server-selection.js";
import { verifyMutableVersion } from "./mutable-verify.js";
import type { CheckAndRepairResults, CheckOptions, CheckResults, CorruptShare } from "./results.js";
import { happinessOf } from "./results.js";

export interface MutableCheckOptions extends CheckOptions {
  readonly leaseSecret: Uint8Array;
  readonly logger?: Logger | undefined;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Tahoe's mutable checker counters, from a servermap (and a full read of the best version with verify). */
function resultsOf(
  map: ServerMap,
  corrupt: CorruptShare[],
  leaseFailures: CheckResults["leaseFailures"],
): CheckResults {
  const siText = base32Encode(map.storageIndex);
  const best = map.best;
  const k = best?.header.k ?? map.versions[0]?.header.k ?? 0;
  const n = best?.header.n ?? map.versions[0]?.header.n ?? 0;
  const corruptKeys = new Set(corrupt.map((c) => `${c.serverId}/${c.shareNumber}`));
  const sharemap = new Map<number, string[]>();
  for (const share of best?.shares ?? []) {
    if (corruptKeys.has(`${share.server.id}/${share.shnum}`)) continue;
    const ids = sharemap.get(share.shnum) ?? [];
    ids.push(share.server.id);
    sharemap.set(share.shnum, ids);
  }
  for (const ids of sharemap.values()) ids.sort();
  const sorted = new Map([...sharemap].sort((a, b) => a[0] - b[0]));
  const sharesGood = sorted.size;
  const recoverableVersions = map.versions.filter((v) => v.recoverable).length;
  const unrecoverableVersions = map.versions.length - recoverableVersions;
  // Shares of other versions than the best are "wrong shares", as Tahoe counts them.
  const wrongShares = map.shares.filter((s) => best === undefined || !best.shares.includes(s)).length;
  const recoverable = best !== undefined && sharesGood >= k;
  const healthy = recoverable && sharesGood >= n && recoverableVersions === 1 && unrecoverableVersions === 0;
  const allCorrupt: CorruptShare[] = [
    ...map.badShares.map((b) => ({
      serverId: b.server.id,
      storageIndex: siText,
      shareNumber: b.shnum,
      reason: b.reason,
    })),
    ...corrupt,
  ];
  // Tahoe's words (mutable/checker.py): "Unhealthy: " and the problems, corrupt shares named
  // by the server's short name and share number.
  const problems: string[] = [];
  if (unrecoverableVersions > 0) problems.push("some versions are unrecoverable");
  if (recoverableVersions === 0) problems.push("no versions are recoverable");
  if (recoverableVersions > 1) problems.push("multiple versions are recoverable");
  if (best?.recoverable && sharesGood < n) problems.push(`${sharesGood} shares (enc ${k}-of-${n})`);
  if (allCorrupt.length > 0) {
    // Tahoe's server name: the first 8 characters of the id after its "v0-".
    const named = allCorrupt
      .map((c) => ({ short: c.serverId.replace(/^v0-/, "").slice(0, 8), sn: c.shareNumber }))
      .sort((a, b) => (a.short < b.short ? -1 : a.short > b.short ? 1 : a.sn - b.sn));
    problems.push("Corrupt Shares:", ...named.map((c) => `${c.short}-sh${c.sn}`));
  }
  const summary = healthy ? "Healthy" : `Unhealthy: ${problems.join(" ")}`;
  return {
    storageIndex: siText,
    summary,
    healthy,
    recoverable,
    sharesGood,
    sharesNeeded: k,
    sharesExpected: n,
    happiness: happinessOf(sorted),
    goodShareHosts: new Set([...sorted.values()].flat()).size,
    wrongShares,
    corruptShares: allCorrupt,
    serversResponding: map.answered.map((s) => s.id).sort(),
    sharemap: sorted,
    shareIdPrefix:
      best === undefined
        ? undefined
        : `seq${best.header.seqnum}-${base32Encode(best.header.rootHash).slice(0, 4)}-`,
    recoverableVersions,
    unrecoverableVersions,
    leaseFailures,
  };
}

/**
 * Checks a mutable file (SDMF or MDMF): every connected server is asked for its shares and
 * each share's signed header is checked (bad ones are advised as corrupt by the servermap).
 * verify also reads every share of the newest recoverable version and checks its share hash
 * chain, block hash tree and every block (no key needed: a verify cap will do). addLease renews our lease on every server
 * that holds a share.
 */
export async function checkMutable(
  capText: string,
  grid: Pick<MutableGridOptions, "servers">,
  options: MutableCheckOptions,
): Promise<CheckResults> {
  const cap: MutableCap = parseMutableCap(capText.trim());
  const logger = options.logger ?? silentLogger;
  const map = await updateServermap(cap, {
    servers: grid.servers,
    signal: options.signal,
    logger,
    queryTimeoutMs: options.queryTimeoutMs ?? SHARE_QUERY_TIMEOUT_MS,
    forWrite: false,
  });
  const corrupt: CorruptShare[] = [];
  if (options.verify && map.best !== undefined) {
    const siText = base32Encode(map.storageIndex);
    for (const { share, reason } of await verifyMutableVersion(
      map.storageIndex,
      map.best,
      logger,
      options.signal,
    )) {
      corrupt.push({ serverId: share.server.id, storageIndex: siText, shareNumber: share.shnum, reason });
    }
  }
  const leaseFailures: { serverId: string; reason: string }[] = [];
  if (options.addLease) {
    const holders = [...new Map(map.shares.map((s) => [s.server.id, s.server])).values()];
    await Promise.all(
      holders.map(async (server) => {
        try {
          const secrets = mutableLeaseSecrets(options.leaseSecret, map.storageIndex, server.leaseSeed);
          await server.client.addOrRenewLease(
            map.storageIndex,
            secrets,
            options.signal ? { signal: options.signal } : {},
          );
        } catch (error) {
          leaseFailures.push({ serverId: server.id, reason: reasonOf(error) });
        }
      }),
    );
  }
  return resultsOf(map, corrupt, leaseFailures);
}

/**
 * Tahoe's mutable repair: a file that is not healthy gets its newest recoverable version
 * published again (next seqnum) to every server placement gives it, which fills missing
 * shares and replaces stale ones. Needs the write cap, as in Tahoe; a healthy file is left alone.
 */
export async function checkAndRepairMutable(
  capText: string,
  grid: MutableGridOptions,
  options: MutableCheckOptions,
): Promise<CheckAndRepairResults> {
  const pre = await checkMutable(capText, grid, options);
  const cap = parseMutableCap(capText.trim());
  const base = { storageIndex: pre.storageIndex, preRepair: pre, sharesPlaced: new Map() };
  if (pre.healthy) {
    return { ...base, repairAttempted: false, repairSuccessful: false, postRepair: pre };
  }
  if (cap.kind !== "write") {
    return {
      ...base,
      repairAttempted: false,
      repairSuccessful: false,
      postRepair: pre,
      repairProblem: "repairing a mutable file needs its write cap (Tahoe: repair requires a writecap)",
    };
  }
  let problem: string | undefined;
  if (!pre.recoverable) problem = "no recoverable version: nothing to republish";
  else {
    try {
      const writeCap = formatMutableCap(cap);
      const handle = await openMutableFile({ ...grid, cap: writeCap });
      const parts: Uint8Array[] = [];
      for await (const part of handle.read(undefined, grid.signal)) parts.push(part);
      await overwriteMutableFile({ ...grid, writeCap, contents: Buffer.concat(parts) });
    } catch (error) {
      problem = reasonOf(error);
    }
  }
  const post = await checkMutable(capText, grid, { ...options, addLease: false });
  return {
    ...base,
    repairAttempted: true,
    repairSuccessful: problem === undefined && post.healthy,
    postRepair: post,
    repairProblem: problem ?? (post.healthy ? undefined : post.summary),
  };
}
