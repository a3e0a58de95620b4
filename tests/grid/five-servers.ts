import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type Grid, startGrid } from "../support/local-grid.js";

/**
 * The grid the check and deep-check tests share: real `tahoe run` processes, an introducer, five
 * storage servers and a client, k/happy/N = 3/4/5, so one lost share leaves a file recoverable
 * but not healthy.
 */

export const FIVE_STORAGE = ["s1", "s2", "s3", "s4", "s5"];

/** Starts the grid and waits until the client is connected to all five; a failed start stops it. */
async function startFiveServerGrid(): Promise<Grid> {
  const grid = await startGrid({ storage: FIVE_STORAGE, k: 3, happy: 4, n: 5 });
  try {
    await grid.waitForServers(
      (list) => list.filter((s) => s.connection.state === "connected").length === 5,
      "5 servers",
    );
  } catch (error) {
    await grid.close();
    throw error;
  }
  return grid;
}

export interface ShareFile {
  node: string;
  shnum: number;
  path: string;
}

/** Every share file of storage index `si` (base32) on the five servers, in share-number order. */
export async function shareFiles(grid: Grid, si: string): Promise<ShareFile[]> {
  const out: ShareFile[] = [];
  for (const node of FIVE_STORAGE) {
    const dir = join(grid.dirs[node]!, "storage/shares", si.slice(0, 2), si);
    for (const name of await readdir(dir).catch(() => []))
      out.push({ node, shnum: Number(name), path: join(dir, name) });
  }
  return out.sort((a, b) => a.shnum - b.shnum);
}

/**
 * Starts the grid in the calling file's beforeAll (handing it to `started`) and stops it in its
 * afterAll, so it is stopped even when the start or a test fails. Call it at the top of the file.
 */
export function useFiveServerGrid(started: (grid: Grid) => void): void {
  let running: Grid | undefined;
  beforeAll(async () => {
    running = await startFiveServerGrid();
    started(running);
  }, 60_000);
  afterAll(async () => {
    await running?.close();
  });
}
