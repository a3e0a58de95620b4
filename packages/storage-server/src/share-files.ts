import { open, readdir } from "node:fs/promises";
import { looksImmutable } from "./immutable-container.js";
import { looksMutable } from "./mutable-container.js";
import { bucketDir, sharePath } from "./paths.js";

export type ShareKind = "immutable" | "mutable";

/** Told of each share file whose header is neither kind's; it reports, never touches the file. */
export type UnrecognisedShareWatcher = (path: string, problem: string) => void;

/**
 * What the share files under `sharesDir` (shares/<xx>/<si>/<shnum>) hold. Every file read
 * whose header is neither kind's is told to `watcher`, whichever request read it.
 */
export function createShareFiles(sharesDir: string, watcher?: UnrecognisedShareWatcher) {
  /** What a share file holds, by its first bytes; undefined when it is missing or neither. */
  async function kindOf(path: string): Promise<ShareKind | undefined> {
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
      if (watcher !== undefined) await noticeUnrecognised(path, fh, bytes, watcher);
      return undefined;
    } finally {
      await fh.close();
    }
  }

  /**
   * Every share file of a storage index, ascending, with what it holds (undefined: neither
   * kind's header). One directory read, then one header read per file present.
   */
  async function kinds(si: string): Promise<Map<number, ShareKind | undefined>> {
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
    const found = new Map<number, ShareKind | undefined>();
    for (const shnum of numbers) found.set(shnum, await kindOf(sharePath(sharesDir, si, shnum)));
    return found;
  }

  return {
    dir: sharesDir,
    kindOf,
    kinds,
    /** The share numbers of one kind stored complete for a storage index, ascending. */
    async list(si: string, kind: ShareKind): Promise<number[]> {
      const found: number[] = [];
      for (const [shnum, k] of await kinds(si)) if (k === kind) found.push(shnum);
      return found;
    },
  };
}

export type ShareFiles = ReturnType<typeof createShareFiles>;

/** A file just created is empty until its header is written: only an empty file this old is damaged. */
const EMPTY_FILE_GRACE_MS = 10_000;

async function noticeUnrecognised(
  path: string,
  fh: { stat(): Promise<{ size: number; mtimeMs: number }> },
  head: Buffer,
  watcher: UnrecognisedShareWatcher,
) {
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
