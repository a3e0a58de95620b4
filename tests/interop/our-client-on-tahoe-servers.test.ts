import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRefPeer, type RefGrid } from "../support/refpeer.js";
import {
  allShareNumbers,
  crossRoundTrip,
  everyoneGot,
  FILES,
  fileOf,
  type GridStart,
  sharesOf,
  startTahoeGridWithOurClient,
  type TahoeGridWithOurClient,
  type WebClient,
} from "./support.js";

/**
 * A lafs-ts client whose only storage servers are the four Tahoe-LAFS 1.20 storage nodes of a
 * reference grid (start-grid.sh; servers.yaml from export-servers.py). Files it uploads are read
 * back by itself and by the grid's own Tahoe client; files the Tahoe client uploads are read by
 * ours, so our downloader meets shares that Tahoe's encoder wrote and Tahoe's servers serve.
 */

const peer = findRefPeer("interop tests (lafs-ts client on Tahoe storage servers)");
const SHAPE = { n: 4, k: 2, happy: 3, total: 4 };

describe.skipIf(peer === undefined)("a lafs-ts client on Tahoe-LAFS storage servers only", () => {
  const ref = peer!;
  let refGrid: RefGrid | undefined;
  let theirs: WebClient;
  let ours: WebClient;
  let start: GridStart<TahoeGridWithOurClient> | undefined;

  beforeAll(async () => {
    start = startTahoeGridWithOurClient(ref, SHAPE);
    ({ refGrid, theirs, ours } = await start.ready);
  }, 120_000);

  afterAll(() => start?.close(), 180_000);

  const SIZES: [string, number][] = [
    ["an empty file", FILES.empty],
    ["the largest LIT file", FILES.lit],
    ["the smallest CHK file", FILES.smallChk],
    ["a small CHK file", FILES.small],
    ["a three-segment CHK file", FILES.multiSegment],
    ["a CHK file sent in 2 MB PATCHes and read in 2 MiB runs", FILES.large],
  ];

  it.each(SIZES)(
    "%s uploaded by lafs-ts lands on Tahoe's servers and both clients read it",
    async (_w, size) => {
      const bytes = fileOf(size, "b-ours");
      const crossed = await crossRoundTrip(ours, [ours, theirs], bytes);
      expect(crossed.downloads).toEqual(everyoneGot([ours, theirs], bytes));
      if (size <= FILES.lit) expect(crossed.cap).toMatch(/^URI:LIT:/);
      else {
        expect(crossed.cap).toMatch(new RegExp(`^URI:CHK:[a-z2-7]+:[a-z2-7]+:2:4:${size}$`));
        expect(allShareNumbers(await sharesOf(crossed.cap, refGrid!.storageDirs))).toEqual([0, 1, 2, 3]);
      }
    },
    60_000,
  );

  it.each(SIZES)(
    "%s uploaded by Tahoe to its servers is read by lafs-ts",
    async (_w, size) => {
      const bytes = fileOf(size, "b-theirs");
      const crossed = await crossRoundTrip(theirs, [ours], bytes);
      expect(crossed.downloads).toEqual(everyoneGot([ours], bytes));
    },
    60_000,
  );
});
