import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRefPeer } from "../support/refpeer.js";
import {
  allShareNumbers,
  crossRoundTrip,
  everyoneGot,
  FILES,
  fileOf,
  type MixedGrid,
  type MixedGridStart,
  sharesOf,
  startMixedGrid,
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

const peer = findRefPeer("interop tests (mixed lafs-ts and Tahoe grid)");

describe.skipIf(peer === undefined)("a grid of lafs-ts and Tahoe-LAFS storage servers", () => {
  const ref = peer!;
  let start: MixedGridStart | undefined;
  let mixed: MixedGrid | undefined;
  let theirs: WebClient;
  let ours: WebClient;

  beforeAll(async () => {
    start = startMixedGrid(ref, { k: 2, happy: 3, n: 4 });
    mixed = await start.ready;
    theirs = webClient("Tahoe client", mixed.tahoeClient.url);
    ours = webClient("lafs-ts client", mixed.client.url);
  }, 180_000);

  afterAll(() => start?.close(), 180_000);

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
        const onOurs = allShareNumbers(await sharesOf(crossed.cap, mixed!.ourStorageDirs));
        const onTheirs = allShareNumbers(await sharesOf(crossed.cap, mixed!.tahoe.storageDirs));
        expect(onOurs.length, "shares on lafs-ts servers").toBeGreaterThan(0);
        expect(onTheirs.length, "shares on Tahoe servers").toBeGreaterThan(0);
        expect([...onOurs, ...onTheirs].sort()).toEqual([0, 1, 2, 3]);
      }, 60_000);
    }
  }
});
