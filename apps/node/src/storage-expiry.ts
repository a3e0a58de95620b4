import type { TahoeConfig } from "@lafs/config";
import type { LeaseExpiryPolicy } from "@lafs/storage-server";

/** [storage]expire.* as the storage server's lease crawler takes them (durations and dates in seconds). */
export function expiryPolicy(config: TahoeConfig): LeaseExpiryPolicy {
  const s = config.storage;
  return {
    enabled: s.expireEnabled,
    mode: s.expireMode ?? "age",
    immutable: s.expireImmutable,
    mutable: s.expireMutable,
    ...(s.expireOverrideLeaseDuration === undefined
      ? {}
      : { overrideLeaseDurationSeconds: s.expireOverrideLeaseDuration }),
    ...(s.expireCutoffDate === undefined ? {} : { cutoffDateSeconds: s.expireCutoffDate }),
  };
}
