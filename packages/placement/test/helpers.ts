import { createHash } from "node:crypto";
import { base32Encode } from "@lafs/crypto";
import fc from "fast-check";
import { type PlacementServer, permutationSeedFor } from "../src/index.js";

export const STORAGE_INDEX = Uint8Array.from({ length: 16 }, (_, i) => i * 17);

/** A `v0-` server id that is a real 32-byte key's base32, derived from a name for repeatability. */
export function serverIdFor(name: string): string {
  let id = idCache.get(name);
  if (id === undefined) {
    id = `v0-${base32Encode(createHash("sha256").update(name).digest())}`;
    idCache.set(name, id);
  }
  return id;
}
const idCache = new Map<string, string>();

export function makeServer(nickname: string, overrides: Partial<PlacementServer> = {}): PlacementServer {
  const id = overrides.id ?? serverIdFor(nickname);
  let permutationSeed = seedCache.get(id);
  if (permutationSeed === undefined) {
    permutationSeed = permutationSeedFor(id);
    seedCache.set(id, permutationSeed);
  }
  return {
    id,
    nickname,
    permutationSeed,
    connected: true,
    writable: true,
    ...overrides,
  };
}

/**
 * Maximum matching by plain Kuhn augmenting paths: deliberately a different algorithm
 * from the package's Hopcroft–Karp, so the two check each other.
 */
export function kuhnMatchingSize(sharesPerServer: readonly (readonly number[])[]): number {
  const owner = new Map<number, number>();
  const tryServer = (server: number, seen: Set<number>): boolean => {
    for (const share of sharesPerServer[server]!) {
      if (seen.has(share)) continue;
      seen.add(share);
      const current = owner.get(share);
      if (current === undefined || tryServer(current, seen)) {
        owner.set(share, server);
        return true;
      }
    }
    return false;
  };
  let size = 0;
  for (let server = 0; server < sharesPerServer.length; server++) {
    if (tryServer(server, new Set())) size++;
  }
  return size;
}

const seedCache = new Map<string, Uint8Array>();
const NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"];

export interface GridCase {
  k: number;
  happy: number;
  n: number;
  servers: PlacementServer[];
}

/** Random small grids: every combination of connected, writable, allowed, required and held shares. */
export function gridArbitrary(maxServers: number, maxN: number): fc.Arbitrary<GridCase> {
  return fc
    .integer({ min: 1, max: maxN })
    .chain((n) =>
      fc.record({
        n: fc.constant(n),
        happy: fc.integer({ min: 1, max: n }),
        kFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        servers: fc.uniqueArray(
          fc.record({
            name: fc.constantFrom(...NAMES),
            connected: fc.constantFrom(true, true, true, false),
            writable: fc.boolean(),
            allowed: fc.option(fc.boolean(), { nil: undefined }),
            required: fc.option(fc.boolean(), { nil: undefined }),
            existingShares: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: n }),
          }),
          { maxLength: maxServers, selector: (s) => s.name },
        ),
      }),
    )
    .map(({ n, happy, kFraction, servers }) => ({
      n,
      happy,
      k: Math.max(1, Math.ceil(kFraction * happy)),
      servers: servers.map(({ name, ...rest }) => makeServer(name, rest)),
    }));
}
