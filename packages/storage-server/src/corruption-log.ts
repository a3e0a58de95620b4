import { basename, dirname, relative } from "node:path";
import type { Logger } from "@lafs/interface";

/** A share file this server found damaged. The file itself is left as it is. */
export interface CorruptShareRecord {
  /** Absolute path of the share file. */
  path: string;
  storageIndex: string;
  shareNumber: number;
  /** What the container claims to be, or "unknown" when its header says neither. */
  kind: "immutable" | "mutable" | "unknown";
  /** What is wrong, in words. */
  problem: string;
  /** ms since the epoch. */
  firstSeen: number;
  lastSeen: number;
}

/** The most records kept; more damaged files are counted, not listed. */
export const MAX_CORRUPTION_RECORDS = 1000;

export interface CorruptionLog {
  /** Records a damaged share; the first sighting of each (path, problem) is a WARN line. */
  report(path: string, kind: CorruptShareRecord["kind"], problem: string): void;
  /** Damaged share files seen since the server started (listed or not). */
  count(): number;
  /** The records kept, oldest first. */
  records(): CorruptShareRecord[];
}

export function createCorruptionLog(o: {
  sharesDir: string;
  logger: Logger;
  now: () => number;
}): CorruptionLog {
  const byPath = new Map<string, CorruptShareRecord>();
  const unlisted = new Set<string>();
  return {
    report(path, kind, problem) {
      const known = byPath.get(path);
      if (known !== undefined && known.problem === problem) {
        known.lastSeen = o.now();
        return;
      }
      if (known === undefined && unlisted.has(path)) return;
      const shareNumber = Number(basename(path));
      const storageIndex = basename(dirname(path));
      o.logger.warn(
        { path, si: storageIndex, shnum: shareNumber, kind, problem },
        `damaged share file ${relative(o.sharesDir, path)} (left in place): ${problem}`,
      );
      if (known !== undefined) {
        known.problem = problem;
        known.kind = kind;
        known.lastSeen = o.now();
        return;
      }
      // Bounded: past the limit a path is only remembered (a few bytes) so it is counted once.
      if (byPath.size >= MAX_CORRUPTION_RECORDS) {
        if (unlisted.size < 100 * MAX_CORRUPTION_RECORDS) unlisted.add(path);
        return;
      }
      const seen = o.now();
      byPath.set(path, { path, storageIndex, shareNumber, kind, problem, firstSeen: seen, lastSeen: seen });
    },
    count: () => byPath.size + unlisted.size,
    records: () => [...byPath.values()].map((r) => ({ ...r })),
  };
}
