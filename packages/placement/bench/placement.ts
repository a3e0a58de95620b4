// Micro-benchmark of placeShares: `pnpm --filter @lafs/placement bench`.
// Prints ms per call and ratios against baselines measured in the same run: the
// maximum matching of the finished plan alone, and the permuted ordering alone.
import {
  maximumMatching,
  type PlacementRequest,
  type PlacementServer,
  permutationSeedFor,
  permutedOrder,
  placeShares,
} from "../src/index.js";

// mulberry32: a seeded generator, so every run measures the same grid.
let state = 42;
function random(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
function serverId(): string {
  let key = "";
  for (let i = 0; i < 51; i++) key += KEY_ALPHABET[Math.floor(random() * 32)];
  return `v0-${key}a`;
}

/** A grid like a real one: a tenth full, a few disconnected, some holding shares already. */
function grid(count: number, n: number): PlacementServer[] {
  return Array.from({ length: count }, (_, i) => {
    const id = serverId();
    return {
      id,
      nickname: `server-${i}`,
      permutationSeed: permutationSeedFor(id),
      connected: random() > 0.05,
      writable: random() > 0.1,
      existingShares: random() < 0.05 ? [Math.floor(random() * n)] : [],
    };
  });
}

function msPerCall(fn: () => unknown): number {
  for (let i = 0; i < 5; i++) fn();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 400 || calls < 10) {
    fn();
    calls++;
    elapsed = performance.now() - start;
  }
  return elapsed / calls;
}

const storageIndex = Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256));
const rows: string[][] = [["case", "placement ms", "matching ms", "ordering ms", "x matching", "x ordering"]];
for (const [servers, k, happy, n] of [
  [10, 3, 7, 10],
  [100, 3, 7, 10],
  [1000, 3, 7, 10],
  [300, 100, 200, 256],
  [1000, 100, 200, 256],
] as const) {
  const request: PlacementRequest = { storageIndex, servers: grid(servers, n), k, happy, n };
  const placement = placeShares(request);
  const plan = placement.servers.map((s) => [...new Set([...s.keptShares, ...s.newShares])]);
  const placementMs = msPerCall(() => placeShares(request));
  const matchingMs = msPerCall(() => maximumMatching(plan, n));
  const orderingMs = msPerCall(() => permutedOrder(storageIndex, request.servers));
  rows.push([
    `N=${n} k=${k} happy=${happy}, ${servers} servers (happiness ${placement.happiness})`,
    placementMs.toFixed(4),
    matchingMs.toFixed(4),
    orderingMs.toFixed(4),
    (placementMs / matchingMs).toFixed(1),
    (placementMs / orderingMs).toFixed(2),
  ]);
}

// Happiness alone on the worst shape the issue names: 1000 servers x 256 shares, every
// server holding 20 shares skewed towards the low numbers so augmenting paths are long.
const dense = Array.from({ length: 1000 }, () => [
  ...new Set(Array.from({ length: 20 }, () => Math.floor(256 * random() ** 3))),
]);
const denseMs = msPerCall(() => maximumMatching(dense, 256));

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
console.log(`\nhappiness alone, 1000 servers x 256 shares, ~20 shares each: ${denseMs.toFixed(3)} ms`);
