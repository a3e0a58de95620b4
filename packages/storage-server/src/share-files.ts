import { open, readdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { looksImmutable } from "./immutable-container.js";
import { looksMutable } from "./mutable-container.js";
import { bucketDir, sharePath } from "./paths.js";

export type ShareKind = "immutable" | "mutable";

/** The share numbers of one kind stored complete for a storage index, ascending. */
export async function listShares(sharesDir: string, si: string, kind: ShareKind): Promise<number[]> {
  const found: number[] = [];
  for (const [shnum, k] of await shareKinds(sharesDir, si)) if (k === kind) found.push(shnum);
  return found;
}

/**
 * Every share file of a storage index, ascending, with what it holds (undefined: neither
 * kind's header). One directory read, then one header read per file present.
 */
export async function shareKinds(sharesDir: string, si: string): Promise<Map<number, ShareKind | undefined>> {
  let names: string[];
  try {
    names = await readdir(bucketDir(sharesDir, si));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
  const numbers = names
    .filter((name) => /^(0|[1-9][0-9]{0,2})$/.test(name) && Number(name) <= 255)
    .map(Number)
    .sort((a, b) => a - b);
  const kinds = new Map<number, ShareKind | undefined>();
  for (const shnum of numbers) kinds.set(shnum, await shareKind(sharePath(sharesDir, si, shnum)));
  return kinds;
}

/** What a share file holds, by its first bytes; undefined when it is missing or neither. */
export async function shareKind(path: string): Promise<ShareKind | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw error;
  }
  try {
    const head = Buffer.alloc(32);
    const bytesRead = await fh.read(head, 0, 32, 0).then(
      (r) => r.bytesRead,
      () => 0,
    );
    const bytes = head.subarray(0, bytesRead);
    if (looksMutable(bytes)) return "mutable";
    if (looksImmutable(bytes)) return "immutable";
    await noticeUnrecognised(path, fh, bytes);
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Told of each share file whose header is neither kind's; it reports, never touches the file. */
export type UnrecognisedShareWatcher = (path: string, problem: string) => void;
const watchers = new Map<string, UnrecognisedShareWatcher>();

/** Watches the share files under `sharesDir` (shares/<xx>/<si>/<shnum>); returns the unwatch. */
export function watchUnrecognisedShares(sharesDir: string, watcher: UnrecognisedShareWatcher): () => void {
  const key = resolve(sharesDir);
  watchers.set(key, watcher);
  return () => {
    if (watchers.get(key) === watcher) watchers.delete(key);
  };
}

/** A file just created is empty until its header is written: only an empty file this old is damaged. */
const EMPTY_FILE_GRACE_MS = 10_000;

async function noticeUnrecognised(
  path: string,
  fh: { stat(): Promise<{ size: number; mtimeMs: number }> },
  head: Buffer,
) {
  const watcher = watchers.get(dirname(dirname(dirname(resolve(path)))));
  if (watcher === undefined) return;
  const { size, mtimeMs } = await fh.stat().catch(() => ({ size: head.length, mtimeMs: 0 }));
  if (size === 0) {
    if (Date.now() - mtimeMs >= EMPTY_FILE_GRACE_MS) watcher(path, "the file is empty (0 bytes)");
  } else if (head.length < 4) {
    watcher(path, `the file is ${size} bytes, shorter than any container header`);
  } else {
    watcher(
      path,
      `its first bytes 0x${head.subarray(0, 4).toString("hex")} are neither an immutable container version (1 or 2) nor the mutable container magic`,
    );
  }
}
