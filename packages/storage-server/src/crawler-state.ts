import { open, readFile, rename, rm, stat } from "node:fs/promises";

/** Bucket, share and byte counts, as Tahoe's lease checker keeps them. */
export interface SpaceCounts {
  buckets: number;
  shares: number;
  /** The share files' sizes. */
  sharebytes: number;
  /** What they take on disk (st_blocks * 512), bucket directories included for whole buckets. */
  diskbytes: number;
}

/** One category, over all shares and by kind (a bucket's kind is its last share's, as in Tahoe). */
export interface ShareTally {
  all: SpaceCounts;
  mutable: SpaceCounts;
  immutable: SpaceCounts;
}

/**
 * Tahoe's space-recovered categories: examined (looked at), original (would go if every lease
 * ran its own 31 days), configured (would go under [storage]expire.*, enabled or not) and
 * actual (removed: configured with expire.enabled).
 */
export const SPACE_CATEGORIES = ["examined", "original", "configured", "actual"] as const;
export type SpaceCategory = (typeof SPACE_CATEGORIES)[number];
export type SpaceRecovered = Record<SpaceCategory, ShareTally>;

/** A share file the crawler could not judge: it is left alone and listed for the operator. */
export interface CrawlerCorruptShare {
  storageIndex: string;
  shareNumber: number;
  problem: string;
}

/** What one cycle has seen so far (Tahoe's lease checker "cycle-to-date"). */
export interface CycleTally {
  space: SpaceRecovered;
  /** Shares left alone because their container could not be read; `list` holds the first ones. */
  corrupt: { count: number; list: CrawlerCorruptShare[] };
  /** Shares by their number of leases: "0", "1", "2", ... */
  leasesPerShare: Record<string, number>;
  /**
   * Leases by whole days since their last renewal: "0", "1", ...; the key LEASE_AGE_DAYS_KEPT
   * also counts every older lease (so the histogram has a bounded number of keys).
   */
  leaseAgeDays: Record<string, number>;
}

export interface FinishedCycle {
  cycle: number;
  startedAt: number;
  finishedAt: number;
  tally: CycleTally;
}

/** The crawler's position and tallies; saved after every slice, so a restart resumes where it was. */
export interface CrawlerState {
  version: 2;
  /** Cycles begun since the state file was created; the first is 1. */
  cycle: number;
  /** ms since the epoch (the server's clock); undefined while waiting for the next cycle. */
  cycleStartedAt?: number;
  /** Index into the 1024 two-character prefixes of storage/shares; 1024 once the cycle is done. */
  prefixIndex: number;
  /** The last storage index done within that prefix. */
  lastBucket?: string;
  tally: CycleTally;
  /** When the next cycle may begin (ms since the epoch), after one has finished. */
  nextCycleAt?: number;
  /** The most recent finished cycles, newest first. */
  history: FinishedCycle[];
}

export const CORRUPT_LISTED = 100;
export const HISTORY_KEPT = 10;
/** Lease ages past this many days are counted together, in the histogram's last key. */
export const LEASE_AGE_DAYS_KEPT = 3650;
const STATE_FILE_LIMIT = 4 * 1024 * 1024;

const emptyCounts = (): SpaceCounts => ({ buckets: 0, shares: 0, sharebytes: 0, diskbytes: 0 });
const emptyShareTally = (): ShareTally => ({
  all: emptyCounts(),
  mutable: emptyCounts(),
  immutable: emptyCounts(),
});

export function emptyCycleTally(): CycleTally {
  return {
    space: {
      examined: emptyShareTally(),
      original: emptyShareTally(),
      configured: emptyShareTally(),
      actual: emptyShareTally(),
    },
    corrupt: { count: 0, list: [] },
    leasesPerShare: {},
    leaseAgeDays: {},
  };
}

export function initialState(): CrawlerState {
  return { version: 2, cycle: 0, prefixIndex: 0, tally: emptyCycleTally(), history: [] };
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function isSpaceCounts(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Record<string, unknown>;
  return ["buckets", "shares", "sharebytes", "diskbytes"].every((k) => isCount(c[k]));
}

function isShareTally(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const t = v as Record<string, unknown>;
  return isSpaceCounts(t.all) && isSpaceCounts(t.mutable) && isSpaceCounts(t.immutable);
}

const isHistogram = (v: unknown, maxKeys: number): boolean =>
  typeof v === "object" &&
  v !== null &&
  Object.keys(v).length <= maxKeys &&
  Object.entries(v).every(([k, n]) => /^\d{1,6}$/.test(k) && isCount(n));

function isCycleTally(v: unknown): v is CycleTally {
  if (typeof v !== "object" || v === null) return false;
  const t = v as Record<string, unknown>;
  const space = t.space as Record<string, unknown> | undefined;
  const corrupt = t.corrupt as { count?: unknown; list?: unknown } | undefined;
  return (
    typeof space === "object" &&
    space !== null &&
    SPACE_CATEGORIES.every((c) => isShareTally(space[c])) &&
    isHistogram(t.leaseAgeDays, LEASE_AGE_DAYS_KEPT + 1) &&
    typeof corrupt === "object" &&
    corrupt !== null &&
    isCount(corrupt.count) &&
    Array.isArray(corrupt.list) &&
    corrupt.list.length <= CORRUPT_LISTED &&
    isHistogram(t.leasesPerShare, 100_000)
  );
}

/** The state as saved, or a reason it cannot be used (the crawler then starts a fresh cycle). */
export function parseState(text: string): CrawlerState | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  const s = value as Partial<CrawlerState> | null;
  // Version 1 (before Tahoe's space-recovered categories) is not read: a fresh cycle begins.
  if (typeof s !== "object" || s === null || s.version !== 2) return "it is not version 2 of the format";
  if (!isCount(s.cycle) || !isCount(s.prefixIndex) || s.prefixIndex > 1024)
    return "its position is not valid";
  if (s.lastBucket !== undefined && !/^[a-z2-7]{26}$/.test(s.lastBucket))
    return "its last bucket is not valid";
  if (s.cycleStartedAt !== undefined && !isCount(s.cycleStartedAt)) return "its cycle start is not valid";
  if (s.nextCycleAt !== undefined && !isCount(s.nextCycleAt)) return "its next cycle time is not valid";
  if (!isCycleTally(s.tally)) return "its cycle tally is not valid";
  if (!Array.isArray(s.history) || s.history.length > HISTORY_KEPT) return "its history is not valid";
  for (const h of s.history) {
    if (!isCount(h?.cycle) || !isCount(h.startedAt) || !isCount(h.finishedAt) || !isCycleTally(h.tally)) {
      return "its history is not valid";
    }
  }
  return s as CrawlerState;
}

/** Reads the state file; missing gives undefined, unusable gives the reason. */
export async function loadState(path: string): Promise<CrawlerState | string | undefined> {
  let text: string;
  try {
    // Ten cycles of tallies with their 100 listed damaged shares stay far below this.
    const { size } = await stat(path);
    if (size > STATE_FILE_LIMIT) return `it is ${size} bytes, over the ${STATE_FILE_LIMIT}-byte limit`;
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return `it cannot be read: ${(error as Error).message}`;
  }
  return parseState(text);
}

/** Writes a temporary file, syncs it and renames it over the old one: a crash leaves one or the other whole. */
export async function saveState(path: string, state: CrawlerState): Promise<void> {
  const temporary = `${path}.tmp`;
  const fh = await open(temporary, "w", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(state)}\n`);
    await fh.sync();
  } catch (error) {
    await fh.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await fh.close();
  await rename(temporary, path);
}
