import { createHash, type Hash } from "node:crypto";
import { netstring } from "@lafs/crypto";

const CONVERGENCE_TAG_PREFIX = "allmydata_immutable_content_to_key_with_added_secret_v1+";

/**
 * The tag of the convergent key hash: the prefix, netstring(secret), netstring("k,n,segsize").
 * The segment size is the effective one (planChk), so the same file with another maximum
 * segment size gets another key.
 */
export function convergenceTag(secret: Uint8Array, k: number, n: number, segmentSize: number): Buffer {
  return Buffer.concat([
    Buffer.from(CONVERGENCE_TAG_PREFIX, "ascii"),
    netstring(secret),
    netstring(`${k},${n},${segmentSize}`),
  ]);
}

/** Incremental tagged_hash(tag, plaintext, 16): feed the plaintext in order, then `digest`. */
export interface ConvergenceHasher {
  update(plaintext: Uint8Array): void;
  /** The 16-byte AES key. */
  digest(): Buffer;
}

export function createConvergenceHasher(
  secret: Uint8Array,
  k: number,
  n: number,
  segmentSize: number,
): ConvergenceHasher {
  const inner: Hash = createHash("sha256").update(netstring(convergenceTag(secret, k, n, segmentSize)));
  return {
    update: (plaintext) => {
      inner.update(plaintext);
    },
    digest: () => createHash("sha256").update(inner.digest()).digest().subarray(0, 16),
  };
}
