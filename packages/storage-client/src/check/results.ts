/** A share the verifier found bad: its server, storage index (base32) and number. */
export interface CorruptShare {
  readonly serverId: string;
  readonly storageIndex: string;
  readonly shareNumber: number;
  readonly reason: string;
}

/**
 * What a check found, with Tahoe-LAFS's counters (ICheckResults): the web API turns it into
 * Tahoe's JSON (json_check_results).
 */
export interface CheckResults {
  /** Base32 storage index; "" for a LIT file, which has no shares. */
  readonly storageIndex: string;
  readonly summary: string;
  readonly healthy: boolean;
  readonly recoverable: boolean;
  readonly sharesGood: number;
  readonly sharesNeeded: number;
  readonly sharesExpected: number;
  readonly happiness: number;
  readonly goodShareHosts: number;
  readonly wrongShares: number;
  readonly corruptShares: readonly CorruptShare[];
  readonly serversResponding: readonly string[];
  /** Share number -> ids of the servers holding a good copy (sorted). */
  readonly sharemap: ReadonlyMap<number, readonly string[]>;
  /**
   * Mutable files: Tahoe names shares by version, `seq{N}-{root hash, 4 base32 chars}-sh{shnum}`;
   * this is the part before `sh`. Undefined for immutable files (plain share numbers).
   */
  readonly shareIdPrefix?: string | undefined;
  readonly recoverableVersions: number;
  readonly unrecoverableVersions: number;
  /** Servers whose lease renewal failed (add-lease), and why. */
  readonly leaseFailures: readonly { readonly serverId: string; readonly reason: string }[];
}

/** Tahoe's ICheckAndRepairResults: the check before, what repair did, the check after. */
export interface CheckAndRepairResults {
  readonly storageIndex: string;
  readonly repairAttempted: boolean;
  readonly repairSuccessful: boolean;
  readonly preRepair: CheckResults;
  readonly postRepair: CheckResults;
  /** Why repair failed or was not tried, in words; undefined when it worked or was not needed. */
  readonly repairProblem?: string | undefined;
  /** Shares repair wrote, by server id. */
  readonly sharesPlaced: ReadonlyMap<string, readonly number[]>;
}

export interface CheckOptions {
  /** Download and check every block of every share, not just ask who holds what. */
  readonly verify?: boolean | undefined;
  /** Renew our lease on every share found (GBS add-or-renew-lease). */
  readonly addLease?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Timeout of each "which shares do you have" query; default 15 s. */
  readonly queryTimeoutMs?: number | undefined;
}

/** Servers-of-happiness of a share map: a maximum matching of shares to distinct servers. */
export function happinessOf(sharemap: ReadonlyMap<number, readonly string[]>): number {
  const owner = new Map<string, number>();
  const tryShare = (sn: number, seen: Set<string>): boolean => {
    for (const server of sharemap.get(sn) ?? []) {
      if (seen.has(server)) continue;
      seen.add(server);
      const other = owner.get(server);
      if (other === undefined || tryShare(other, seen)) {
        owner.set(server, sn);
        return true;
      }
    }
    return false;
  };
  let matched = 0;
  for (const sn of sharemap.keys()) if (tryShare(sn, new Set())) matched++;
  return matched;
}

/** A LIT file holds its data in the cap: always healthy, nothing to ask (Tahoe answers None). */
export function literalResults(): CheckResults {
  return {
    storageIndex: "",
    summary: "Healthy (LIT)",
    healthy: true,
    recoverable: true,
    sharesGood: 0,
    sharesNeeded: 0,
    sharesExpected: 0,
    happiness: 0,
    goodShareHosts: 0,
    wrongShares: 0,
    corruptShares: [],
    serversResponding: [],
    sharemap: new Map(),
    recoverableVersions: 1,
    unrecoverableVersions: 0,
    leaseFailures: [],
  };
}
