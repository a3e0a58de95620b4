import { open, readdir, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@lafs/interface";
import { CorruptContainerError } from "./container-errors.js";
import type { CorruptionLog } from "./corruption-log.js";
import {
  CORRUPT_LISTED,
  type CrawlerState,
  type CycleTally,
  emptyCycleTally,
  type FinishedCycle,
  HISTORY_KEPT,
  initialState,
  LEASE_AGE_DAYS_KEPT,
  loadState,
  SPACE_CATEGORIES,
  type SpaceCategory,
  type SpaceRecovered,
  saveState,
} from "./crawler-state.js";
import { readImmutableContainer } from "./immutable-container.js";
import { judgeShare, type LeaseExpiryPolicy, leaseRenewedAt } from "./lease-expiry.js";
import type { Lease } from "./leases.js";
import { readMutableContainer } from "./mutable-container.js";
import { bucketDir, type StorageLayout, sharePath } from "./paths.js";
import type { ShareFiles, ShareKind } from "./share-files.js";

/** How hard the crawler may work. Tahoe's crawler works 1 s slices at 10% of the time. */
export interface LeaseCrawlerPacing {
  /** Before the first slice after start, so start-up is not slowed (Tahoe: 5 minutes). */
  startDelayMs?: number;
  /** A slice stops after this long (default 100 ms)... */
  sliceMs?: number;
  /** ...or after this many share files and directory reads (default 200), whichever comes first. */
  opsPerSlice?: number;
  /** The share of time spent working (default 0.1): a slice of t ms is followed by t*(1/f - 1) ms of sleep. */
  busyFraction?: number;
  /** The least sleep between slices (default 10 ms). */
  minSleepMs?: number;
  /** A new cycle begins at most this long after the previous one began (Tahoe: 12 hours). */
  cycleIntervalMs?: number;
  /** The position is saved after a slice when this long has passed since the last save (and always at a cycle's end and at stop). */
  saveEveryMs?: number;
}

const PACING_DEFAULTS: Required<LeaseCrawlerPacing> = {
  startDelayMs: 5 * 60_000,
  sliceMs: 100,
  opsPerSlice: 200,
  busyFraction: 0.1,
  minSleepMs: 10,
  cycleIntervalMs: 12 * 60 * 60_000,
  saveEveryMs: 1000,
};

/** The crawler's state file, under storage/ (Tahoe's own lease_checker.state is another format). */
export const CRAWLER_STATE_FILE = "lease-crawler-state.json";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
/** The 1024 two-character directories of storage/shares, in the order Tahoe's crawler visits them. */
const PREFIXES = [...BASE32].flatMap((a) => [...BASE32].map((b) => a + b)).sort();
/** While waiting for the next cycle, the clock is looked at this often. */
const WAIT_POLL_MS = 1000;

export interface LeaseCrawlerStatus {
  policy: LeaseExpiryPolicy;
  /** starting: within the start delay; crawling: in a cycle; waiting: for the next cycle. */
  state: "starting" | "crawling" | "waiting" | "stopped";
  cycle: number;
  cycleStartedAt?: number;
  /** Of the current cycle, 0..1 (prefix directories done / 1024). */
  progress: number;
  /** The storage index last examined in this cycle. */
  lastBucket?: string;
  cycleToDate: CycleTally;
  /**
   * Tahoe's estimated-remaining-cycle and estimated-current-cycle space-recovered: this cycle so
   * far scaled by the part not yet done, and so far plus that. Only while a cycle is under way
   * and past its first prefix (before, Tahoe answers None).
   */
  estimatedRemaining?: SpaceRecovered;
  estimatedCycle?: SpaceRecovered;
  nextCycleAt?: number;
  /** Finished cycles, newest first (at most 10). */
  history: FinishedCycle[];
  /** Slices run since start; the most share files and directory reads one slice took. */
  slices: number;
  largestSliceOps: number;
  /** The last thing that went wrong (a directory that could not be read, a state file not saved). */
  problem?: string;
}

export interface LeaseCrawler {
  start(): void;
  stop(): Promise<void>;
  status(): LeaseCrawlerStatus;
}

const DAY_SECONDS = 24 * 60 * 60;

/** A share file's size and what it takes on disk (Tahoe: st_blocks * 512). */
interface FileSpace {
  sharebytes: number;
  diskbytes: number;
}

function addShare(space: SpaceRecovered, category: SpaceCategory, kind: ShareKind, file: FileSpace): void {
  for (const counts of [space[category].all, space[category][kind]]) {
    counts.shares++;
    counts.sharebytes += file.sharebytes;
    counts.diskbytes += file.diskbytes;
  }
}

/** A whole bucket in a category, with its directory's own disk space (Tahoe's increment_bucketspace; 0 for examined). */
function addBucket(
  space: SpaceRecovered,
  category: SpaceCategory,
  kind: ShareKind | undefined,
  dirDiskbytes: number,
): void {
  const tallies = kind === undefined ? [space[category].all] : [space[category].all, space[category][kind]];
  for (const counts of tallies) {
    counts.buckets++;
    counts.diskbytes += dirDiskbytes;
  }
}

/** Tahoe's estimate: `so far` scaled by (1 - p) / p for the rest of the cycle, p the part done. */
function estimates(
  space: SpaceRecovered,
  done: number,
): { estimatedRemaining: SpaceRecovered; estimatedCycle: SpaceRecovered } | undefined {
  if (!(done > 0) || done >= 1) return undefined;
  const m = (1 - done) / done;
  const scale = (f: (n: number) => number) =>
    Object.fromEntries(
      SPACE_CATEGORIES.map((c) => [
        c,
        Object.fromEntries(
          (["all", "mutable", "immutable"] as const).map((k) => [
            k,
            Object.fromEntries(Object.entries(space[c][k]).map(([name, n]) => [name, f(n)])),
          ]),
        ),
      ]),
    ) as unknown as SpaceRecovered;
  return { estimatedRemaining: scale((n) => n * m), estimatedCycle: scale((n) => n + n * m) };
}

/**
 * Tahoe-LAFS's lease checker: walks storage/shares one bucket at a time under the bucket's
 * lock, in slices bounded in time and work with sleeps between, so requests keep being
 * answered. It counts what it examines and what the policy would remove, removes it when
 * expire.enabled is set, and saves its position after every slice.
 */
export function createLeaseCrawler(o: {
  layout: StorageLayout;
  shareFiles: ShareFiles;
  lock: <T>(key: string, task: () => Promise<T>) => Promise<T>;
  now: () => number;
  logger: Logger;
  corruption: CorruptionLog;
  policy: LeaseExpiryPolicy;
  pacing?: LeaseCrawlerPacing;
}): LeaseCrawler {
  const pacing = { ...PACING_DEFAULTS, ...o.pacing };
  const statePath = join(o.layout.root, CRAWLER_STATE_FILE);
  const log = o.logger;
  let state: CrawlerState = initialState();
  let phase: LeaseCrawlerStatus["state"] = "starting";
  let stopping = false;
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let pending: string[] | undefined;
  let slices = 0;
  let largestSliceOps = 0;
  let problem: string | undefined;
  let lastSave = 0;

  function sleep(ms: number): Promise<void> {
    if (stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  }

  function trouble(message: string, error: unknown): void {
    problem = `${message}: ${error instanceof Error ? error.message : String(error)}`;
    log.warn({ err: error }, `lease crawler: ${message}`);
  }

  async function load(): Promise<void> {
    const loaded = await loadState(statePath);
    if (typeof loaded === "string") {
      log.warn({ file: statePath }, `lease crawler: state file not used (${loaded}); a new cycle begins`);
    } else if (loaded !== undefined) {
      state = loaded;
      if (state.cycleStartedAt !== undefined) {
        log.info(
          { cycle: state.cycle, prefix: PREFIXES[state.prefixIndex], lastBucket: state.lastBucket },
          "lease crawler: resuming the cycle where it was",
        );
      }
    }
  }

  async function save(): Promise<void> {
    try {
      await saveState(statePath, state);
    } catch (error) {
      trouble(`could not save ${statePath}`, error);
    }
  }

  function beginCycle(): void {
    state.cycle++;
    state.cycleStartedAt = o.now();
    state.prefixIndex = 0;
    delete state.lastBucket;
    delete state.nextCycleAt;
    state.tally = emptyCycleTally();
    pending = undefined;
    log.info({ cycle: state.cycle, expire: o.policy }, "lease crawler: cycle started");
  }

  function finishCycle(): void {
    const startedAt = state.cycleStartedAt ?? o.now();
    const finished: FinishedCycle = {
      cycle: state.cycle,
      startedAt,
      finishedAt: o.now(),
      tally: state.tally,
    };
    state.history = [finished, ...state.history].slice(0, HISTORY_KEPT);
    delete state.cycleStartedAt;
    delete state.lastBucket;
    state.nextCycleAt = startedAt + pacing.cycleIntervalMs;
    state.tally = emptyCycleTally();
    phase = "waiting";
    const { examined, configured, actual } = finished.tally.space;
    log.info(
      {
        cycle: finished.cycle,
        examined: examined.all,
        configured: configured.all,
        actual: actual.all,
        corrupt: finished.tally.corrupt.count,
        enabled: o.policy.enabled,
      },
      o.policy.enabled
        ? `lease crawler: cycle done; removed ${actual.all.shares} of ${examined.all.shares} shares (${actual.all.sharebytes} bytes)`
        : `lease crawler: cycle done; expire.enabled is false, so nothing removed; it would remove ${configured.all.shares} of ${examined.all.shares} shares (${configured.all.sharebytes} bytes)`,
    );
  }

  /** The next storage index of the current prefix after the last one done; undefined when the prefix is done. */
  async function nextBucket(): Promise<{ si?: string; ops: number }> {
    if (pending !== undefined) return { ...(pending.length > 0 ? { si: pending.shift()! } : {}), ops: 0 };
    const prefix = PREFIXES[state.prefixIndex]!;
    let names: string[] = [];
    try {
      names = await readdir(join(o.layout.shares, prefix));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR")
        trouble(`could not list ${join(o.layout.shares, prefix)}`, error);
    }
    const after = state.lastBucket;
    pending = names
      .filter((n) => /^[a-z2-7]{26}$/.test(n) && n.startsWith(prefix) && (after === undefined || n > after))
      .sort();
    return { ...(pending.length > 0 ? { si: pending.shift()! } : {}), ops: 1 };
  }

  async function readLeases(path: string, kind: ShareKind): Promise<{ leases: Lease[]; file: FileSpace }> {
    const fh = await open(path, "r");
    try {
      const { size, blocks } = await fh.stat();
      const container =
        kind === "immutable" ? await readImmutableContainer(path, fh) : await readMutableContainer(path, fh);
      return { leases: container.leases, file: { sharebytes: size, diskbytes: blocks * 512 } };
    } finally {
      await fh.close();
    }
  }

  function noteLeaseAges(leases: readonly Lease[], nowSeconds: number): void {
    const ages = state.tally.leaseAgeDays;
    for (const lease of leases) {
      // A lease renewed "in the future" (a clock set back) counts as renewed today.
      const days = Math.max(0, Math.floor((nowSeconds - leaseRenewedAt(lease)) / DAY_SECONDS));
      const key = String(Math.min(days, LEASE_AGE_DAYS_KEPT));
      ages[key] = (ages[key] ?? 0) + 1;
    }
  }

  function noteCorrupt(si: string, shnum: number, problemText: string): void {
    const corrupt = state.tally.corrupt;
    corrupt.count++;
    if (corrupt.list.length < CORRUPT_LISTED) {
      corrupt.list.push({ storageIndex: si, shareNumber: shnum, problem: problemText });
    }
  }

  /**
   * Judges every share of one bucket, under its lock, into Tahoe's categories; the number of
   * share files looked at. A share that cannot be read is kept in every category.
   */
  async function crawlBucket(si: string): Promise<number> {
    const kinds = await o.shareFiles.kinds(si);
    const nowSeconds = Math.floor(o.now() / 1000);
    const space = state.tally.space;
    // Shares each category would keep; a bucket none of them keeps counts as a whole bucket.
    const keeps: Record<Exclude<SpaceCategory, "examined">, number> = {
      original: 0,
      configured: 0,
      actual: 0,
    };
    let seen = 0;
    let bucketKind: ShareKind | undefined;
    for (const [shnum, kind] of kinds) {
      const path = sharePath(o.layout.shares, si, shnum);
      if (kind === undefined) {
        // shareFiles already told the corruption log.
        noteCorrupt(si, shnum, "neither an immutable nor a mutable container");
        seen++;
        keeps.original++;
        keeps.configured++;
        keeps.actual++;
        continue;
      }
      let leases: Lease[];
      let file: FileSpace;
      try {
        ({ leases, file } = await readLeases(path, kind));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        const why = error instanceof CorruptContainerError ? error.problem : (error as Error).message;
        if (error instanceof CorruptContainerError) o.corruption.report(path, kind, why);
        noteCorrupt(si, shnum, why);
        seen++;
        keeps.original++;
        keeps.configured++;
        keeps.actual++;
        continue;
      }
      seen++;
      bucketKind = kind;
      addShare(space, "examined", kind, file);
      const t = state.tally;
      t.leasesPerShare[String(leases.length)] = (t.leasesPerShare[String(leases.length)] ?? 0) + 1;
      noteLeaseAges(leases, nowSeconds);
      const verdict = judgeShare(kind, leases, o.policy, nowSeconds);
      if (verdict.originalExpired) addShare(space, "original", kind, file);
      else keeps.original++;
      if (verdict.wouldRemove) addShare(space, "configured", kind, file);
      else keeps.configured++;
      if (verdict.remove) {
        await rm(path, { force: true });
        addShare(space, "actual", kind, file);
        log.info(
          { si, shnum, kind, bytes: file.sharebytes },
          "lease crawler: removed a share whose leases have all expired",
        );
      } else keeps.actual++;
    }
    if (seen === 0) return Math.max(1, kinds.size);
    const dir = bucketDir(o.layout.shares, si);
    addBucket(space, "examined", bucketKind, 0);
    const whole = (["original", "configured", "actual"] as const).filter((c) => keeps[c] === 0);
    // The directory's own blocks count only for a whole bucket: most buckets are kept, and
    // they cost no extra stat.
    if (whole.length > 0) {
      const dirDiskbytes = await stat(dir).then(
        (st) => st.blocks * 512,
        () => 0,
      );
      for (const category of whole) addBucket(space, category, bucketKind, dirDiskbytes);
    }
    // A bucket left empty goes too, as Tahoe removes it; one holding anything else stays.
    if (keeps.actual === 0) await rmdir(dir).catch(() => undefined);
    return Math.max(1, kinds.size);
  }

  /** Works until the slice's time or work budget is spent, or the cycle is done; the work done. */
  async function slice(): Promise<number> {
    const started = performance.now();
    let ops = 0;
    while (state.prefixIndex < PREFIXES.length && !stopping) {
      if (ops >= pacing.opsPerSlice || performance.now() - started >= pacing.sliceMs) break;
      const next = await nextBucket();
      ops += next.ops;
      if (next.si === undefined) {
        state.prefixIndex++;
        delete state.lastBucket;
        pending = undefined;
        continue;
      }
      const si = next.si;
      try {
        ops += await o.lock(`bucket/${si}`, () => crawlBucket(si));
      } catch (error) {
        ops++;
        trouble(`could not examine bucket ${si}`, error);
      }
      state.lastBucket = si;
    }
    return ops;
  }

  async function run(): Promise<void> {
    await load();
    await sleep(pacing.startDelayMs);
    while (!stopping) {
      if (state.cycleStartedAt === undefined) {
        const wait = (state.nextCycleAt ?? 0) - o.now();
        if (wait > 0) {
          phase = "waiting";
          await sleep(Math.min(wait, WAIT_POLL_MS));
          continue;
        }
        beginCycle();
      }
      phase = "crawling";
      const started = performance.now();
      const ops = await slice();
      slices++;
      largestSliceOps = Math.max(largestSliceOps, ops);
      const finished = state.prefixIndex >= PREFIXES.length;
      if (finished) finishCycle();
      // A save costs an fsync; a crash loses at most saveEveryMs of work, which is done again.
      if (finished || stopping || performance.now() - lastSave >= pacing.saveEveryMs) {
        await save();
        lastSave = performance.now();
      }
      const elapsed = performance.now() - started;
      await sleep(Math.max(pacing.minSleepMs, elapsed * (1 / pacing.busyFraction - 1)));
    }
  }

  return {
    start() {
      if (running !== undefined) return;
      stopping = false;
      running = run().catch((error) => trouble("stopped by an unexpected error", error));
    },

    async stop() {
      stopping = true;
      wake?.();
      await running;
      running = undefined;
      phase = "stopped";
    },

    status() {
      const s = structuredClone(state);
      const progress = s.cycleStartedAt === undefined ? 0 : s.prefixIndex / PREFIXES.length;
      return {
        policy: { ...o.policy },
        state: phase,
        cycle: s.cycle,
        ...(s.cycleStartedAt === undefined ? {} : { cycleStartedAt: s.cycleStartedAt }),
        progress,
        ...(s.lastBucket === undefined ? {} : { lastBucket: s.lastBucket }),
        cycleToDate: s.tally,
        ...(s.cycleStartedAt === undefined ? {} : estimates(s.tally.space, progress)),
        ...(s.nextCycleAt === undefined ? {} : { nextCycleAt: s.nextCycleAt }),
        history: s.history,
        slices,
        largestSliceOps,
        ...(problem === undefined ? {} : { problem }),
      };
    },
  };
}
