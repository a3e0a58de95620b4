import { bucketLeaseSecrets } from "@lafs/crypto";
import type { LeaseSecrets } from "./client.js";
import { UploadError } from "./transfer-errors.js";

const LEASE_SECRET_BYTES = 32;
const LEASE_SEED_BYTES = 20;

/**
 * The per-server lease secrets Tahoe-LAFS clients send (wire-formats §2.13), so a Tahoe client
 * using the same `private/secret` renews the same leases. `leaseSecret` is the node's 32-byte
 * `private/secret`; `leaseSeed` is the server's 20-byte Foolscap tub id (from its
 * anonymous-storage-FURL), even over HTTP.
 */
export function deriveLeaseSecrets(
  leaseSecret: Uint8Array,
  storageIndex: Uint8Array,
  leaseSeed: Uint8Array,
): LeaseSecrets {
  if (leaseSecret.length !== LEASE_SECRET_BYTES) {
    throw new UploadError(
      "TAHOE_ERR_UPLOAD_ARGUMENT",
      `the lease secret is ${leaseSecret.length} bytes, not ${LEASE_SECRET_BYTES}`,
      { hint: "pass the decoded contents of BASEDIR/private/secret (32 bytes)" },
    );
  }
  if (storageIndex.length !== 16) {
    throw new UploadError(
      "TAHOE_ERR_UPLOAD_ARGUMENT",
      `the storage index is ${storageIndex.length} bytes, not 16`,
      {
        hint: "this is a bug in the caller of the uploader",
      },
    );
  }
  if (leaseSeed.length !== LEASE_SEED_BYTES) {
    throw new UploadError(
      "TAHOE_ERR_UPLOAD_ARGUMENT",
      `the server's lease seed is ${leaseSeed.length} bytes, not ${LEASE_SEED_BYTES}`,
      {
        hint: "the lease seed is the server's tub id: the base32 part of its anonymous-storage-FURL between pb:// and @, decoded (20 bytes)",
      },
    );
  }
  return bucketLeaseSecrets(leaseSecret, storageIndex, leaseSeed);
}
