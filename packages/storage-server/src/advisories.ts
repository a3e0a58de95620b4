import { mkdir, open, readdir, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { storageFull } from "./error-answers.js";
import { StorageServerError } from "./errors.js";
import type { ShareKind } from "./share-files.js";

/**
 * Bounds on the corruption advisories a server keeps (Tahoe keeps every one). The `reason`
 * limit is the longest text whose CBOR body `{"reason": text}` (1 + 7 + 3 bytes of framing)
 * fits Tahoe's 32768-byte advisory body limit.
 */
export const ADVISORY_LIMITS = {
  /** Advisory files in corruption-advisories/. */
  count: 1000,
  /** Their total size. */
  bytes: 8 * 1024 * 1024,
  /** Advisories about one storage index. */
  perStorageIndex: 32,
  /** UTF-8 bytes of `reason`. */
  reasonBytes: 32768 - 11,
} as const;

export interface AdvisoryTally {
  /** Advisory files kept (those found at start, plus those received since). */
  count: number;
  bytes: number;
  /** Advisories refused since start because a bound was reached. */
  refused: number;
}

/** One advisory as the operator sees it listed (the newest RECENT_LISTED of them). */
export interface AdvisoryRecord {
  /** The file in corruption-advisories/. */
  file: string;
  kind: string;
  storageIndex: string;
  shareNumber: number;
  /** The client's reason, cut at REASON_SHOWN characters. */
  reason: string;
  /** ms since the epoch: when it was written. */
  receivedAt: number;
}

export const RECENT_LISTED = 20;
const REASON_SHOWN = 500;
/** What is read of each listed advisory file: the header lines and the start of the reason. */
const HEAD_READ = 4096;

/** An advisory file in Tahoe's format ("report: Share Corruption", type, storage_index, share_number, a blank line, the reason). */
export function parseAdvisory(file: string, text: string, receivedAt: number): AdvisoryRecord {
  const [head = "", ...rest] = text.split("\n\n");
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(head)?.[1] ?? "";
  const nameMatch = NAME.exec(file);
  const shareNumber = Number(field("share_number") || /-(\d+)(?:\.\d+)?$/.exec(file)?.[1] || Number.NaN);
  return {
    file,
    kind: field("type") || "unknown",
    storageIndex: field("storage_index") || nameMatch?.[1] || "",
    shareNumber: Number.isSafeInteger(shareNumber) ? shareNumber : -1,
    reason: rest.join("\n\n").replace(/\n$/, "").slice(0, REASON_SHOWN),
    receivedAt,
  };
}

async function readAdvisory(dir: string, file: string): Promise<AdvisoryRecord | undefined> {
  try {
    const fh = await open(join(dir, file), "r");
    try {
      const { mtimeMs } = await fh.stat();
      const buf = Buffer.alloc(HEAD_READ);
      const { bytesRead } = await fh.read(buf, 0, HEAD_READ, 0);
      return parseAdvisory(file, buf.subarray(0, bytesRead).toString("utf8"), Math.floor(mtimeMs));
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

const NAME = /--([a-z2-7]{26})-(?:0|[1-9][0-9]{0,2})(?:\.[0-9]+)?$/;

function advisoriesFull(why: string): StorageServerError {
  return new StorageServerError(
    "TAHOE_ERR_STORAGE_SERVER_ADVISORIES_FULL",
    507,
    `corruption advisory not stored: ${why}`,
    {
      hint: `a server keeps at most ${ADVISORY_LIMITS.count} advisories, ${ADVISORY_LIMITS.bytes} bytes in all and ${ADVISORY_LIMITS.perStorageIndex} per storage index; its operator reads and removes them in storage/corruption-advisories`,
    },
  );
}

/**
 * Corruption advisories as Tahoe stores them (one text file per report), counted and bounded.
 * An advisory is written only when the space above reserved_space holds it, like a share;
 * once written, its bytes are used space, which `available-space` no longer reports.
 */
export function createAdvisoryStore(o: {
  dir: string;
  now: () => number;
  /** Bytes a new file may take: free space above reserved_space, less uploads in progress. */
  space: () => Promise<number>;
}) {
  let tally = { count: 0, bytes: 0, perSi: new Map<string, number>() };
  let refused = 0;
  /** The newest advisories, newest first. */
  let recent: AdvisoryRecord[] = [];
  let loaded: Promise<void> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  /** Counts what is on disk: at start, and again before refusing (the operator may have cleared some). */
  async function rescan(): Promise<void> {
    const next = { count: 0, bytes: 0, perSi: new Map<string, number>() };
    let names: string[] = [];
    try {
      names = await readdir(o.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    for (const name of names) {
      const size = await stat(join(o.dir, name)).then(
        (s) => (s.isFile() ? s.size : -1),
        () => -1,
      );
      if (size < 0) continue;
      next.count++;
      next.bytes += size;
      const si = NAME.exec(name)?.[1];
      if (si !== undefined) next.perSi.set(si, (next.perSi.get(si) ?? 0) + 1);
    }
    tally = next;
    // Names begin with the UTC time written, so the last names are the newest.
    const newest = names
      .filter((n) => NAME.test(n))
      .sort()
      .reverse()
      .slice(0, RECENT_LISTED);
    const records = await Promise.all(newest.map((n) => readAdvisory(o.dir, n)));
    recent = records.filter((r): r is AdvisoryRecord => r !== undefined);
  }

  function overLimit(si: string, size: number): string | undefined {
    if (tally.count + 1 > ADVISORY_LIMITS.count) {
      return `this server already keeps ${tally.count} advisories, its limit`;
    }
    if (tally.bytes + size > ADVISORY_LIMITS.bytes) {
      return `this server's advisories take ${tally.bytes} bytes; ${size} more would pass its ${ADVISORY_LIMITS.bytes}-byte limit`;
    }
    const forSi = tally.perSi.get(si) ?? 0;
    if (forSi + 1 > ADVISORY_LIMITS.perStorageIndex) {
      return `this server already keeps ${forSi} advisories about storage index ${si}, its limit`;
    }
    return undefined;
  }

  /** Counts what is already on disk, once. */
  function load(): Promise<void> {
    loaded ??= rescan();
    return loaded;
  }

  async function write(kind: ShareKind, si: string, shnum: number, reason: string): Promise<string> {
    await load();
    const nowMs = o.now();
    const text = `report: Share Corruption\ntype: ${kind}\nstorage_index: ${si}\nshare_number: ${shnum}\n\n${reason}\n`;
    const size = Buffer.byteLength(text, "utf8");
    if (overLimit(si, size) !== undefined) await rescan();
    const why = overLimit(si, size);
    if (why !== undefined) {
      refused++;
      throw advisoriesFull(why);
    }
    const what = `a corruption advisory about share ${shnum} of ${si} (${size} bytes)`;
    if ((await o.space()) < size) throw storageFull(what);
    await mkdir(o.dir, { recursive: true });
    // No colons: the directory may be copied to systems that refuse them in names.
    const stamp = new Date(nowMs).toISOString().replace(/:/g, "").replace(/Z$/, "");
    for (let n = 0; ; n++) {
      const path = join(o.dir, `${stamp}--${si}-${shnum}${n === 0 ? "" : `.${n}`}`);
      try {
        await writeFile(path, text, { flag: "wx", mode: 0o600 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || n > 100) {
          // A disk that filled up half-way leaves no half advisory behind.
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") await rm(path, { force: true });
          throw error;
        }
        continue;
      }
      tally.count++;
      tally.bytes += size;
      tally.perSi.set(si, (tally.perSi.get(si) ?? 0) + 1);
      recent = [parseAdvisory(basename(path), text, nowMs), ...recent].slice(0, RECENT_LISTED);
      return path;
    }
  }

  return {
    /** Stores one advisory (one at a time, so two cannot both take the last place); returns its path. */
    write(kind: ShareKind, si: string, shnum: number, reason: string): Promise<string> {
      const result = queue.then(() => write(kind, si, shnum, reason));
      queue = result.catch(() => undefined);
      return result;
    },
    /** Counts what is already on disk; call at start. */
    load,
    tally(): AdvisoryTally {
      return { count: tally.count, bytes: tally.bytes, refused };
    },
    /** The newest advisories kept (at most RECENT_LISTED), newest first. */
    recent(): AdvisoryRecord[] {
      return recent.map((r) => ({ ...r }));
    },
  };
}
