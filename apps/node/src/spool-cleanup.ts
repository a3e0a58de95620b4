import { lstat, readdir, rm } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import type { Logger } from "@lafs/interface";
import { isPidFileLive, ownStartTime } from "./pid-file.js";

/**
 * An upload spool's name says which process made it: `lafs-upload-PID-START-RANDOM`, START being
 * the process's start time in whole seconds, so a reused pid is not taken for the process that died.
 */
const NODE_SPOOL = /^lafs-upload-(\d{1,10})-(\d{1,12})-[0-9a-f]{16}$/;
/** What spools were named before they carried their process: only this node could have made them in its own tmp/. */
const UNOWNED_SPOOL = /^lafs-spool-[0-9a-f]{16}$/;

let ownPrefix: string | undefined;

/** The name prefix of this process's upload spools (spoolToTempFile adds the random part). */
export function nodeSpoolPrefix(): string {
  // Learnt once: the start time is two synchronous /proc reads, and every upload asks.
  ownPrefix ??= `lafs-upload-${process.pid}-${Math.floor(ownStartTime())}-`;
  return ownPrefix;
}

function isWithin(dir: string, root: string): boolean {
  const rel = relative(root, dir);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function isStale(name: string, tempdirIsPrivate: boolean): boolean {
  const m = NODE_SPOOL.exec(name);
  if (m !== null) return !isPidFileLive({ pid: Number(m[1]), startTime: Number(m[2]) });
  // A tempdir outside the node directory (/tmp, say) may hold another program's lafs-spool- files.
  return tempdirIsPrivate && UNOWNED_SPOOL.test(name);
}

/**
 * Removes the upload spools a killed node left in its tempdir (a 100 MiB upload's spool would
 * stay forever). Called at start, while the node holds running.process, so no spool of this node
 * is being written; a spool of another live process (a second node sharing a tempdir) is left
 * alone. Logs at INFO what was reclaimed.
 */
export async function removeStaleSpools(
  tempdir: string,
  options: { basedir: string; logger: Logger },
): Promise<{ files: number; bytes: number }> {
  let names: string[];
  try {
    names = await readdir(tempdir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { files: 0, bytes: 0 };
    throw error;
  }
  const tempdirIsPrivate = isWithin(tempdir, options.basedir);
  let files = 0;
  let bytes = 0;
  for (const name of names) {
    if (!isStale(name, tempdirIsPrivate)) continue;
    const path = join(tempdir, name);
    try {
      const info = await lstat(path);
      if (!info.isFile()) continue;
      await rm(path, { force: true });
      files++;
      bytes += info.size;
    } catch (error) {
      options.logger.warn({ path, err: error }, "cannot remove an upload spool a stopped node left");
    }
  }
  if (files > 0) {
    options.logger.info(
      { dir: tempdir, files, bytes },
      `removed ${files} upload spool file(s) a stopped node left: ${bytes} bytes reclaimed`,
    );
  }
  return { files, bytes };
}
