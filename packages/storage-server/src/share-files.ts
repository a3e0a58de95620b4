import { open, readdir } from "node:fs/promises";
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
    return undefined;
  } finally {
    await fh.close();
  }
}
