import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "@lafs/config";
import { type Announcement, type SignedAnnouncement, verifyAnnouncement } from "@lafs/crypto";
import { parse, stringify } from "yaml";
import { IntroducerClientError } from "./errors.js";

/** Tahoe-LAFS's name for an introducer's announcement cache, under BASEDIR/private. */
export function cacheFileName(petname: string): string {
  return `introducer_${petname}_cache.yaml`;
}

export function cacheFilePath(basedir: string, petname: string): string {
  return join(basedir, "private", cacheFileName(petname));
}

export interface CacheLoadResult {
  announcements: Announcement[];
  /** Entries (or the whole file) left out, each naming the file and entry; never fatal. */
  problems: IntroducerClientError[];
}

/**
 * Writes the cache: a YAML list in Tahoe-LAFS's layout (`ann` dict and `key_s` per entry, which
 * Tahoe-LAFS reads) plus `msg` and `sig`, the signed bytes, so a reader re-verifies every entry
 * instead of trusting the file. Written atomically with mode 0600.
 */
export async function saveAnnouncementCache(
  path: string,
  announcements: readonly Announcement[],
): Promise<void> {
  const entries = announcements.map((a) => ({
    ann: a.fields,
    key_s: a.serverId,
    msg: a.signed[0],
    sig: a.signed[1],
  }));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, stringify(entries, { lineWidth: 0 }), { mode: 0o600 });
}

function cacheProblem(path: string, message: string, cause?: unknown): IntroducerClientError {
  return new IntroducerClientError("TAHOE_ERR_INTRODUCER_CLIENT_CACHE", `${path}: ${message}`, {
    hint: "the cache is rebuilt from the introducer; delete the file if this repeats",
    cause,
  });
}

/**
 * Reads a cache written by saveAnnouncementCache. A missing file is an empty cache; a file
 * Tahoe-LAFS wrote (no `msg`/`sig`) cannot be verified and is skipped entry by entry.
 */
export async function loadAnnouncementCache(path: string, maxBytes?: number): Promise<CacheLoadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { announcements: [], problems: [] };
    return {
      announcements: [],
      problems: [cacheProblem(path, `cannot be read (${(error as Error).message})`, error)],
    };
  }
  let entries: unknown;
  try {
    entries = parse(text);
  } catch (error) {
    return { announcements: [], problems: [cacheProblem(path, "is not YAML", error)] };
  }
  if (entries === null || entries === undefined) return { announcements: [], problems: [] };
  if (!Array.isArray(entries)) {
    return { announcements: [], problems: [cacheProblem(path, "is not a list of announcements")] };
  }
  const announcements: Announcement[] = [];
  const problems: IntroducerClientError[] = [];
  entries.forEach((entry: unknown, index: number) => {
    const where = `entry ${index + 1}`;
    if (typeof entry !== "object" || entry === null) {
      problems.push(cacheProblem(path, `${where} is not a mapping`));
      return;
    }
    const { msg, sig, key_s } = entry as Record<string, unknown>;
    if (typeof msg !== "string" || typeof sig !== "string") {
      problems.push(
        cacheProblem(path, `${where} has no signed msg/sig (written by Tahoe-LAFS?), so it is not trusted`),
      );
      return;
    }
    try {
      announcements.push(verifyAnnouncement([msg, sig, String(key_s)] as SignedAnnouncement, { maxBytes }));
    } catch (error) {
      problems.push(cacheProblem(path, `${where}: ${(error as Error).message}`, error));
    }
  });
  return { announcements, problems };
}
