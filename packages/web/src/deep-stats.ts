import type { WalkedDirectory, WalkedNode } from "./deep-walk.js";

/** Tahoe's DeepStats.API_VERSION: raised when a field is removed or changes meaning. */
const API_VERSION = 1;

const COUNTERS = [
  "count-immutable-files",
  "count-mutable-files",
  "count-literal-files",
  "count-files",
  "count-directories",
  "count-unknown",
  "size-immutable-files",
  "size-literal-files",
  "size-directories",
  "largest-directory",
  "largest-directory-children",
  "largest-immutable-file",
] as const;

type Counter = (typeof COUNTERS)[number];

/** Tahoe's DeepStats results: the counters, and the histogram as sorted [min, max, count] rows. */
export type DeepStatsResults = { "api-version": number } & Record<Counter, number> & {
    "size-files-histogram": [number, number, number][];
  };

/**
 * The histogram's buckets as Tahoe's which_bucket makes them: (0,0), (1,3), then each next one
 * from the last upper bound + 1 to the next power of sqrt(10) (pyutil's next_power_of_k, the same
 * float products), two per decade: (4,10), (11,31), (32,100), (101,316)...
 */
const BUCKETS: [number, number][] = [
  [0, 0],
  [1, 3],
];

function nextPowerOf(n: number, k: number): number {
  let p = 1;
  while (p < n) p *= k;
  return p;
}

export function sizeBucket(size: number): [number, number] {
  for (let i = 0; ; i++) {
    if (i >= BUCKETS.length) {
      const lower = (BUCKETS[i - 1] as [number, number])[1] + 1;
      BUCKETS.push([lower, Math.trunc(nextPowerOf(lower, Math.sqrt(10)))]);
    }
    const bucket = BUCKETS[i] as [number, number];
    if (bucket[0] <= size && size <= bucket[1]) return bucket;
  }
}

/**
 * Tahoe's DeepStats (allmydata/deep_stats.py): what every deep traversal counts. As in Tahoe, a
 * mutable file's size is not known without reading it, so it is counted but not sized
 * (size-mutable-files stays absent); a CHK or LIT file's size is in its cap.
 */
export class DeepStats {
  private readonly stats: Record<Counter, number>;
  private readonly histogram = new Map<number, { bucket: [number, number]; count: number }>();

  constructor() {
    this.stats = Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Record<Counter, number>;
  }

  addNode(node: WalkedNode): void {
    const s = this.stats;
    if (node.type === "unknown") s["count-unknown"] += 1;
    else if (node.type === "directory") s["count-directories"] += 1;
    else if (node.mutable) {
      s["count-files"] += 1;
      s["count-mutable-files"] += 1;
    } else {
      s["count-files"] += 1;
      const size = node.size ?? 0;
      const bucket = sizeBucket(size);
      const row = this.histogram.get(bucket[0]) ?? { bucket, count: 0 };
      row.count += 1;
      this.histogram.set(bucket[0], row);
      if (node.literal) {
        s["count-literal-files"] += 1;
        s["size-literal-files"] += size;
      } else {
        s["count-immutable-files"] += 1;
        s["size-immutable-files"] += size;
        s["largest-immutable-file"] = Math.max(s["largest-immutable-file"], size);
      }
    }
  }

  /** Tahoe's enter_directory: once a directory's children are read. */
  enterDirectory(dir: WalkedDirectory): void {
    const s = this.stats;
    if (dir.size !== undefined) {
      s["size-directories"] += dir.size;
      s["largest-directory"] = Math.max(s["largest-directory"], dir.size);
    }
    s["largest-directory-children"] = Math.max(s["largest-directory-children"], dir.children);
  }

  results(): DeepStatsResults {
    const rows = [...this.histogram.values()]
      .map(({ bucket, count }): [number, number, number] => [bucket[0], bucket[1], count])
      .sort((a, b) => a[0] - b[0]);
    return { "api-version": API_VERSION, ...this.stats, "size-files-histogram": rows };
  }
}
