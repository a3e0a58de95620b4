import { LEASE_DURATION_SECONDS, type Lease } from "./leases.js";
import type { ShareKind } from "./share-files.js";

/** [storage]expire.*, as Tahoe-LAFS's lease checker reads them (storage/expirer.py). */
export interface LeaseExpiryPolicy {
  /** expire.enabled: false only reports what would be removed. */
  enabled: boolean;
  mode: "age" | "cutoff-date";
  /** expire.override_lease_duration in seconds; age mode. Unset: the lease's own 31 days. */
  overrideLeaseDurationSeconds?: number;
  /** expire.cutoff_date in seconds since the epoch; cutoff-date mode. */
  cutoffDateSeconds?: number;
  /** expire.immutable, expire.mutable: which kinds of share expiry applies to. */
  immutable: boolean;
  mutable: boolean;
}

export const DEFAULT_EXPIRY_POLICY: LeaseExpiryPolicy = {
  enabled: false,
  mode: "age",
  immutable: true,
  mutable: true,
};

/** When the lease was granted or last renewed: every grant or renewal runs 31 days. */
export function leaseRenewedAt(lease: Lease): number {
  return lease.expiration - LEASE_DURATION_SECONDS;
}

/**
 * Whether one lease has expired under the policy, at `nowSeconds`. Age mode: the lease is
 * older than the override duration, or, without one, past its own expiration time (Tahoe
 * compares the age with the absolute expiration time there, which never expires anything;
 * its documentation says the lease's own duration applies). Cutoff-date mode: last renewed
 * before the cutoff.
 */
export function leaseExpired(lease: Lease, policy: LeaseExpiryPolicy, nowSeconds: number): boolean {
  const renewedAt = leaseRenewedAt(lease);
  if (policy.mode === "cutoff-date") return renewedAt < (policy.cutoffDateSeconds ?? 0);
  const limit = policy.overrideLeaseDurationSeconds ?? LEASE_DURATION_SECONDS;
  return nowSeconds - renewedAt > limit;
}

export interface ShareVerdict {
  /**
   * Every lease is past its own expiration time (Tahoe's "original" category: what would go if
   * each lease ran its own 31 days, whatever the configuration says).
   */
  originalExpired: boolean;
  /** Every lease has expired under the policy's mode (a share with no lease at all counts). */
  expired: boolean;
  /** The policy would remove the share: expired, and expiry applies to its kind. */
  wouldRemove: boolean;
  /** The crawler removes it now: wouldRemove and expire.enabled. */
  remove: boolean;
}

/** A share with any unexpired lease is kept, whatever its other leases say. */
export function judgeShare(
  kind: ShareKind,
  leases: readonly Lease[],
  policy: LeaseExpiryPolicy,
  nowSeconds: number,
): ShareVerdict {
  const originalExpired = leases.every((lease) => lease.expiration <= nowSeconds);
  const expired = leases.every((lease) => leaseExpired(lease, policy, nowSeconds));
  const wouldRemove = expired && (kind === "immutable" ? policy.immutable : policy.mutable);
  return { originalExpired, expired, wouldRemove, remove: wouldRemove && policy.enabled };
}
