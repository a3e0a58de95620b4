import { lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The local side of `tahoe backup`: the tree under LOCAL as Tahoe's collect_backup_targets sees
 * it, deepest first so every directory comes after its children, and the stat metadata Tahoe
 * stores with each entry.
 */

export type SkipReason = "permission" | "encoding" | "symlink" | "special";

export type BackupTarget =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "directory"; readonly path: string }
  | { readonly kind: "skip"; readonly path: string; readonly isDir: boolean; readonly why: SkipReason };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

// The walk uses the synchronous calls, as Tahoe does: a CLI has nothing else to run meanwhile, and
// on a busy machine a thread-pool round trip per stat cost seconds per thousand files.

/** Names in a directory, or why it cannot be listed (Tahoe skips the whole directory then). */
function listNames(dir: string): string[] | "permission" | "encoding" {
  let raw: Buffer[];
  try {
    raw = readdirSync(dir, { encoding: "buffer" });
  } catch {
    return "permission";
  }
  const names: string[] = [];
  for (const name of raw) {
    try {
      names.push(strictUtf8.decode(name));
    } catch {
      return "encoding";
    }
  }
  // Sorted so -v output and the order of uploads repeat from run to run.
  return names.sort();
}

/** Every target under ROOT (then ROOT itself), children of a directory before the directory. */
export async function collectBackupTargets(
  root: string,
  keep: (name: string) => boolean,
): Promise<BackupTarget[]> {
  const targets: BackupTarget[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = listNames(dir);
    if (typeof names === "string") {
      targets.push({ kind: "skip", path: dir, isDir: true, why: names });
      return;
    }
    for (const name of names.filter(keep)) {
      const path = join(dir, name);
      let link: ReturnType<typeof lstatSync> | undefined;
      try {
        link = lstatSync(path);
      } catch {
        link = undefined;
      }
      if (link?.isSymbolicLink()) {
        targets.push({ kind: "skip", path, isDir: false, why: "symlink" });
      } else if (link?.isDirectory()) {
        await walk(path);
      } else if (link?.isFile()) {
        targets.push({ kind: "file", path });
      } else {
        targets.push({ kind: "skip", path, isDir: false, why: "special" });
      }
    }
    targets.push({ kind: "directory", path: dir });
  };
  await walk(root);
  return targets;
}

/**
 * Python's fnmatch.translate as a RegExp: `*`, `?`, `[seq]`, `[!seq]`, matched against the
 * whole name, case-sensitively (Tahoe compiles the translation with re, no normcase).
 */
export function globToRegExp(pattern: string): RegExp {
  let out = "";
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    i += 1;
    if (c === "*") out += "[\\s\\S]*";
    else if (c === "?") out += "[\\s\\S]";
    else if (c === "[") {
      let j = i;
      if (pattern[j] === "!") j += 1;
      if (pattern[j] === "]") j += 1;
      while (j < pattern.length && pattern[j] !== "]") j += 1;
      if (j >= pattern.length) {
        out += "\\[";
        continue;
      }
      let body = pattern.slice(i, j).replace(/[\\\]]/g, "\\$&");
      i = j + 1;
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      else if (body.startsWith("^")) body = `\\${body}`;
      out += `[${body}]`;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^(?:${out})$`, "u");
}

/** Tahoe's filter_listdir: a name is left out when any pattern matches it. */
export function excludeFilter(patterns: readonly string[]): (name: string) => boolean {
  const regexps = patterns.map(globToRegExp);
  return (name) => !regexps.some((r) => r.test(name));
}

/** A local file or directory as the backup records it. */
export interface LocalStat {
  /** What Tahoe's get_local_metadata stores with the child: os.stat's fields Linux has, in Tahoe's order. */
  readonly metadata: Record<string, number>;
  /** What the backupdb compares: the size and whole-second times (Tahoe's s[ST_MTIME], an int). */
  readonly size: number;
  readonly mtime: number;
  readonly ctime: number;
}

const NS = 1_000_000_000n;
/** tv_sec of a nanosecond time: floor division, as the kernel splits negative times. */
const wholeSeconds = (ns: bigint) => Number(ns / NS - (ns % NS < 0n ? 1n : 0n));
/** Python's float st_mtime: tv_sec + tv_nsec * 1e-9, in doubles. */
const floatSeconds = (ns: bigint) => wholeSeconds(ns) + Number(((ns % NS) + NS) % NS) * 1e-9;

export async function localStat(path: string): Promise<LocalStat> {
  const s = statSync(path, { bigint: true });
  return {
    metadata: {
      ctime: floatSeconds(s.ctimeNs),
      mtime: floatSeconds(s.mtimeNs),
      st_mode: Number(s.mode),
      st_ino: Number(s.ino),
      st_dev: Number(s.dev),
      st_uid: Number(s.uid),
      st_gid: Number(s.gid),
    },
    size: Number(s.size),
    mtime: wholeSeconds(s.mtimeNs),
    ctime: wholeSeconds(s.ctimeNs),
  };
}
