import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRefPeer } from "../support/refpeer.js";
import {
  allShareNumbers,
  crossRoundTrip,
  everyoneGot,
  FILES,
  fileOf,
  type GridStart,
  type OurGridWithTahoeClient,
  sharesOf,
  startOurGridWithTahoeClient,
  type WebClient,
} from "./support.js";

/**
 * A real Tahoe-LAFS 1.20 client whose only storage servers are four lafs-ts storage nodes (its
 * servers.yaml made by refpeer's export-servers.py from our node directories, so that also
 * proves we write the files Tahoe's tools read). It uploads and downloads over GBS; our own
 * client, with the same convergence secret and k/happy/N = 2/3/4, must compute the same caps
 * and read the same files back.
 */

const peer = findRefPeer("interop tests (Tahoe client on lafs-ts storage servers)");
const STORAGE = ["s1", "s2", "s3", "s4"];

describe.skipIf(peer === undefined)("a Tahoe-LAFS client on lafs-ts storage servers only", () => {
  const ref = peer!;
  let theirs: WebClient;
  let ours: WebClient;
  let storageDirs: string[];
  let start: GridStart<OurGridWithTahoeClient> | undefined;

  beforeAll(async () => {
    start = startOurGridWithTahoeClient(ref, { storage: STORAGE, k: 2, happy: 3, n: 4 });
    ({ theirs, ours, storageDirs } = await start.ready);
  }, 120_000);

  afterAll(() => start?.close(), 180_000);

  it.each([
    ["an empty file", FILES.empty],
    ["the largest LIT file", FILES.lit],
  ])("%s: Tahoe's LIT cap is ours, and both read it back", async (_what, size) => {
    const bytes = fileOf(size, "a-lit");
    const crossed = await crossRoundTrip(theirs, [theirs, ours], bytes);
    expect(crossed.cap).toMatch(/^URI:LIT:/);
    expect(crossed.downloads).toEqual(everyoneGot([theirs, ours], bytes));
    expect(await ours.put(bytes)).toBe(crossed.cap);
  });

  it.each([
    ["the smallest CHK file", FILES.smallChk],
    ["a small CHK file", FILES.small],
    ["a three-segment CHK file", FILES.multiSegment],
  ])(
    "%s: Tahoe puts all four shares on our servers, its cap is ours, and both read it back",
    async (_what, size) => {
      const bytes = fileOf(size, "a-chk");
      const crossed = await crossRoundTrip(theirs, [theirs, ours], bytes);
      expect(crossed.cap).toMatch(new RegExp(`^URI:CHK:[a-z2-7]+:[a-z2-7]+:2:4:${size}$`));
      expect(crossed.downloads).toEqual(everyoneGot([theirs, ours], bytes));
      // Tahoe knows only our servers, so the shares it placed can only be here.
      expect(allShareNumbers(await sharesOf(crossed.cap, storageDirs))).toEqual([0, 1, 2, 3]);
      // Same bytes, convergence secret, k, N and segment size: the same key, shares and UEB hash.
      expect(await ours.put(bytes)).toBe(crossed.cap);
    },
    60_000,
  );
});
