import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid } from "../support/local-grid.js";
import {
  exportServers,
  findRefPeer,
  type RefGrid,
  startRefGrid,
  startRefStaticClient,
  stopRef,
} from "../support/refpeer.js";
import {
  allShareNumbers,
  crossRoundTrip,
  everyoneGot,
  FILES,
  fileOf,
  type StaticClient,
  sharesOf,
  startStaticClient,
  type WebClient,
  webClient,
} from "./support.js";

/**
 * One grid with storage servers of both kinds: two lafs-ts storage nodes and two Tahoe-LAFS 1.20
 * storage nodes, one servers.yaml naming all four (export-servers.py reads both kinds of node
 * directory), and a client of each kind on it with k/happy/N = 2/3/4. happy = 3 over 2 + 2
 * servers puts shares on both kinds, so every download below reads shares of both. Each client
 * reads what the other uploaded.
 */

function settled<T>(result: PromiseSettledResult<T>): T | undefined {
  return result.status === "fulfilled" ? result.value : undefined;
}

const peer = findRefPeer("interop tests (mixed lafs-ts and Tahoe grid)");
const OURS = ["s1", "s2"];

describe.skipIf(peer === undefined)("a grid of lafs-ts and Tahoe-LAFS storage servers", () => {
  const ref = peer!;
  let root: string | undefined;
  let grid: Grid | undefined;
  let refGrid: RefGrid | undefined;
  let client: StaticClient | undefined;
  let theirs: WebClient;
  let ours: WebClient;
  let ourDirs: string[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lafs-interop-c-"));
    // The two grids come up side by side (each takes seconds of process start-up). allSettled,
    // so a grid that did start is kept for afterAll even when the other failed.
    const grids = await Promise.allSettled([
      startGrid({ storage: OURS, k: 2, happy: 2, n: 2 }),
      startRefGrid(ref, join(root, "grid"), { n: 2, k: 2, happy: 2, total: 2 }),
    ]);
    grid = settled(grids[0]);
    refGrid = settled(grids[1]);
    for (const result of grids) if (result.status === "rejected") throw result.reason;
    ourDirs = OURS.map((name) => grid!.dirs[name]!);
    const serversYaml = join(root, "servers.yaml");
    await exportServers(ref, serversYaml, [...ourDirs, ...refGrid!.storageDirs]);
    const clients = await Promise.allSettled([
      startRefStaticClient(ref, join(root, "tahoe-client"), serversYaml, { k: 2, happy: 3, n: 4 }),
      startStaticClient(serversYaml, { k: 2, happy: 3, n: 4, servers: 4 }),
    ]);
    client = settled(clients[1]);
    const url = settled(clients[0]);
    for (const result of clients) if (result.status === "rejected") throw result.reason;
    theirs = webClient("Tahoe client", url!);
    ours = webClient("lafs-ts client", client!.url);
  }, 120_000);

  afterAll(async () => {
    try {
      await client?.close();
    } finally {
      try {
        if (root !== undefined) await stopRef(ref, join(root, "tahoe-client"), join(root, "grid"));
      } finally {
        await grid?.close();
        if (root !== undefined) await rm(root, { recursive: true, force: true });
      }
    }
  }, 60_000);

  const SIZES: [string, number][] = [
    ["the largest LIT file", FILES.lit],
    ["a small CHK file", FILES.small],
    ["a three-segment CHK file", FILES.multiSegment],
  ];
  const uploaders = () => [
    [ours, theirs],
    [theirs, ours],
  ];

  for (const [what, size] of SIZES) {
    for (const direction of ["lafs-ts", "Tahoe"]) {
      it(`${what} uploaded by the ${direction} client is read by both`, async () => {
        const [uploader, other] = uploaders()[direction === "lafs-ts" ? 0 : 1]!;
        const bytes = fileOf(size, `c-${direction}`);
        const crossed = await crossRoundTrip(uploader!, [other!, uploader!], bytes);
        expect(crossed.downloads).toEqual(everyoneGot([other!, uploader!], bytes));
        if (size <= FILES.lit) return;
        const onOurs = allShareNumbers(await sharesOf(crossed.cap, ourDirs));
        const onTheirs = allShareNumbers(await sharesOf(crossed.cap, refGrid!.storageDirs));
        expect(onOurs.length, "shares on lafs-ts servers").toBeGreaterThan(0);
        expect(onTheirs.length, "shares on Tahoe servers").toBeGreaterThan(0);
        expect([...onOurs, ...onTheirs].sort()).toEqual([0, 1, 2, 3]);
      }, 60_000);
    }
  }
});
