import { constantTimeEqual } from "@lafs/crypto";
import { blake2b } from "./blake2b.js";

/** A lease runs 31 days from grant or renewal (wire-formats §2.11). */
export const LEASE_DURATION_SECONDS = 31 * 24 * 60 * 60;

/** One lease as stored; in v2 containers the secrets are BLAKE2b-256 hashes of the real ones. */
export interface Lease {
  ownerNum: number;
  renewSecret: Uint8Array;
  cancelSecret: Uint8Array;
  /** Seconds since the epoch. */
  expiration: number;
  /** Mutable containers record the granting server's 20-byte node id per lease. */
  nodeId?: Uint8Array;
}

/** The secrets a client presented (X-Tahoe-Authorization lease-renew/cancel-secret). */
export interface LeaseSecrets {
  renew: Uint8Array;
  cancel: Uint8Array;
}

/** Renews the lease whose renew secret matches, or adds one; true when the list changed. */
export function addOrRenewLease(
  leases: Lease[],
  secrets: LeaseSecrets,
  options: { hashed: boolean; ownerNum: number; expiration: number; nodeId?: Uint8Array },
): boolean {
  const presented = options.hashed ? blake2b(secrets.renew) : secrets.renew;
  const existing = leases.find((l) => constantTimeEqual(l.renewSecret, presented));
  if (existing) {
    // A lease is only ever extended, never shortened.
    if (options.expiration <= existing.expiration) return false;
    existing.expiration = options.expiration;
    return true;
  }
  const lease: Lease = {
    ownerNum: options.ownerNum,
    renewSecret: presented,
    cancelSecret: options.hashed ? blake2b(secrets.cancel) : secrets.cancel,
    expiration: options.expiration,
  };
  if (options.nodeId) lease.nodeId = options.nodeId;
  leases.push(lease);
  return true;
}

/** Expiration times are u32 seconds on disk. */
export function leaseExpiration(nowMs: number): number {
  return Math.min(0xffffffff, Math.floor(nowMs / 1000) + LEASE_DURATION_SECONDS);
}
