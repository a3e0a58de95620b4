// @noble/hashes: audited pure JS, synchronous (WebCrypto's digest is async and would make
// placement async), and the same code in Node and in the simulator's browser bundle.
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { base32Decode } from "./base32.js";
import { PlacementInputError } from "./errors.js";

const V0_SERVER_ID = /^v0-([a-z2-7]{52})$/;

/**
 * The permutation seed of a server (wire-formats §2.14): the announcement's
 * `permutation-seed-base32` if present, else the decoded key of a `v0-` server id, else
 * SHA-256 of the id. Tahoe derives it the same way, so both order servers alike.
 */
export function permutationSeedFor(serverId: string, permutationSeedBase32?: string): Uint8Array {
  if (permutationSeedBase32 !== undefined && permutationSeedBase32 !== "") {
    const seed = base32Decode(permutationSeedBase32);
    if (!seed || seed.length === 0) {
      throw new PlacementInputError(
        "TAHOE_ERR_PLACEMENT_PERMUTATION_SEED",
        `server ${serverId}: permutation-seed-base32 '${permutationSeedBase32}' is not Tahoe base32`,
        { hint: "A permutation seed is lower-case base32 (a-z, 2-7) without '=' padding, as announced." },
      );
    }
    return seed;
  }
  const v0 = V0_SERVER_ID.exec(serverId);
  const key = v0 ? base32Decode(v0[1]!) : undefined;
  return key ?? sha256(utf8ToBytes(serverId));
}

/** The sort key of a server for one storage index: SHA1(storage index || permutation seed). */
export function permutationKey(storageIndex: Uint8Array, permutationSeed: Uint8Array): Uint8Array {
  const input = new Uint8Array(storageIndex.length + permutationSeed.length);
  input.set(storageIndex);
  input.set(permutationSeed, storageIndex.length);
  return sha1(input);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/**
 * Servers in Tahoe's permuted order for a storage index: ascending SHA1(SI || seed), so
 * each file spreads over a different slice of the grid. Ties (same seed) fall back to
 * the server id so the order never depends on input order.
 */
export function permutedOrder<T extends { readonly id: string; readonly permutationSeed: Uint8Array }>(
  storageIndex: Uint8Array,
  servers: readonly T[],
): T[] {
  const keyed = servers.map((server) => ({
    server,
    key: permutationKey(storageIndex, server.permutationSeed),
  }));
  keyed.sort(
    (a, b) =>
      compareBytes(a.key, b.key) || (a.server.id < b.server.id ? -1 : a.server.id > b.server.id ? 1 : 0),
  );
  return keyed.map((entry) => entry.server);
}
