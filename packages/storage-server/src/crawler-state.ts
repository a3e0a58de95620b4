import { open, readFile, rename, rm, stat } from "node:fs/promises";

/** Share, bucket and byte counts of one category (examined, would remove, removed). */
export interface ShareTally {
  buckets: number;
  shares: number;
  /** Bytes of the share files on disk. */
  bytes: number;
  immutableShares: number;
  mutableShares: number;
}

/** A share file the crawler could not judge: it is left alone and listed for the operator. */
export interface CrawlerCorruptShare {
  storageIndex: string;
  shareNumber: number;
  problem: string;
}

/** What one cycle has seen so far (Tahoe's lease checker "cycle-to-date"). */
export interface CycleTally {
  examined: ShareTally;
  /** Shares the configured policy would remove, even with expire.enabled = false. */
  wouldRemove: ShareTally;
  /** Shares removed (expire.enabled = true only). */
  removed: ShareTally;
  /** Shares left alone because their container could not be read; `list` holds the first ones. */
  corrupt: { count: number; list: CrawlerCorruptShare[] };
  /** Shares by their number of leases: "0", "1", "2", ... */
  leasesPerShare: Record<string, number>;
}

export interface FinishedCycle {
  cycle: number;
  startedAt: number;
  finishedAt: number;
  tally: CycleTally;
}

/** The crawler's position and tallies; saved after every slice, so a restart resumes where it was. */
export interface CrawlerState {
  version: 1;
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
const STATE_FILE_LIMIT = 4 * 1024 * 1024;

const emptyShareTally = (): ShareTally => ({
  buckets: 0,
  shares: 0,
  bytes: 0,
  immutableShares: 0,
  mutableShares: 0,
});

export function emptyCycleTally(): CycleTally {
  return {
    examined: emptyShareTally(),
    wouldRemove: emptyShareTally(),
    removed: emptyShareTally(),
    corrupt: { count: 0, list: [] },
    leasesPerShare: {},
  };
}

export function initialState(): CrawlerState {
  return { version: 1, cycle: 0, prefixIndex: 0, tally: emptyCycleTally(), history: [] };
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function isShareTally(v: unknown): v is ShareTally {
  if (typeof v !== "object" || v === null) return false;
  const t = v as Record<string, unknown>;
  return ["buckets", "shares", "bytes", "immutableShares", "mutableShares"].every((k) => isCount(t[k]));
}

function isCycleTally(v: unknown): v is CycleTally {
  if (typeof v !== "object" || v === null) return false;
  const t = v as Record<string, unknown>;
  const corrupt = t.corrupt as { count?: unknown; list?: unknown } | undefined;
  return (
    isShareTally(t.examined) &&
    isShareTally(t.wouldRemove) &&
    isShareTally(t.removed) &&
    typeof corrupt === "object" &&
    corrupt !== null &&
    isCount(corrupt.count) &&
    Array.isArray(corrupt.list) &&
    corrupt.list.length <= CORRUPT_LISTED &&
    typeof t.leasesPerShare === "object" &&
    t.leasesPerShare !== null &&
    Object.values(t.leasesPerShare).every(isCount)
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
  if (typeof s !== "object" || s === null || s.version !== 1) return "it is not version 1 of the format";
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
