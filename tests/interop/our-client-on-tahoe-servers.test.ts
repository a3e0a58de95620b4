import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportServers, findRefPeer, type RefGrid, startRefGrid, stopRef } from "../support/refpeer.js";
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
 * A lafs-ts client whose only storage servers are the four Tahoe-LAFS 1.20 storage nodes of a
 * reference grid (start-grid.sh; servers.yaml from export-servers.py). Files it uploads are read
 * back by itself and by the grid's own Tahoe client; files the Tahoe client uploads are read by
 * ours, so our downloader meets shares that Tahoe's encoder wrote and Tahoe's servers serve.
 */

const peer = findRefPeer("interop tests (lafs-ts client on Tahoe storage servers)");
const SHAPE = { n: 4, k: 2, happy: 3, total: 4 };

describe.skipIf(peer === undefined)("a lafs-ts client on Tahoe-LAFS storage servers only", () => {
  const ref = peer!;
  let root: string | undefined;
  let refGrid: RefGrid | undefined;
  let client: StaticClient | undefined;
  let theirs: WebClient;
  let ours: WebClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lafs-interop-b-"));
    refGrid = await startRefGrid(ref, join(root, "grid"), SHAPE);
    const serversYaml = join(root, "servers.yaml");
    await exportServers(ref, serversYaml, refGrid.storageDirs);
    client = await startStaticClient(serversYaml, { k: 2, happy: 3, n: 4, servers: 4 });
    theirs = webClient("Tahoe client", refGrid.url);
    ours = webClient("lafs-ts client", client.url);
  }, 120_000);

  afterAll(async () => {
    try {
      await client?.close();
    } finally {
      if (root !== undefined) {
        await stopRef(ref, join(root, "grid"));
        await rm(root, { recursive: true, force: true });
      }
    }
  }, 60_000);

  const SIZES: [string, number][] = [
    ["an empty file", FILES.empty],
    ["the largest LIT file", FILES.lit],
    ["the smallest CHK file", FILES.smallChk],
    ["a small CHK file", FILES.small],
    ["a three-segment CHK file", FILES.multiSegment],
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
