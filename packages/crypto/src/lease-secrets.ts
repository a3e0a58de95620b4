import { taggedHash, taggedPairHash } from "./hash.js";

export interface BucketLeaseSecrets {
  readonly renewSecret: Uint8Array;
  readonly cancelSecret: Uint8Array;
}

/**
 * The lease secrets a Tahoe-LAFS client sends one server for one storage index (wire-formats
 * §2.13), the same chain for immutable and mutable shares: so a Tahoe client using the same
 * `private/secret` renews the same leases. `clientSecret` is the node's 32-byte `private/secret`,
 * `serverSeed` the server's 20-byte Foolscap tub id (even over HTTP). Callers check the lengths.
 */
export function bucketLeaseSecrets(
  clientSecret: Uint8Array,
  storageIndex: Uint8Array,
  serverSeed: Uint8Array,
): BucketLeaseSecrets {
  // The node secret is the *tag* of the first hash, not its value: Tahoe's quirk, kept for compatibility.
  const clientRenew = taggedHash(clientSecret, "allmydata_client_renewal_secret_v1");
  const clientCancel = taggedHash(clientSecret, "allmydata_client_cancel_secret_v1");
  const fileRenew = taggedPairHash("allmydata_file_renewal_secret_v1", clientRenew, storageIndex);
  const fileCancel = taggedPairHash("allmydata_file_cancel_secret_v1", clientCancel, storageIndex);
  return {
    renewSecret: taggedPairHash("allmydata_bucket_renewal_secret_v1", fileRenew, serverSeed),
    cancelSecret: taggedPairHash("allmydata_bucket_cancel_secret_v1", fileCancel, serverSeed),
  };
}
