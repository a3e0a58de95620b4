import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid } from "../support/local-grid.js";
import { findRefPeer, type RefGrid, startRefGrid, stopRef } from "../support/refpeer.js";
import {
  allShareNumbers,
  connectedNicknames,
  crossRoundTrip,
  everyoneGot,
  FILES,
  fileOf,
  type IntroducerJson,
  oursConnected,
  sharesOf,
  tahoeConnected,
  type WebClient,
  waitForIntroducer,
  waitForJson,
  waitForWelcome,
  webClient,
  welcome,
  welcomeServers,
} from "./support.js";

/**
 * Issue 19, 5(b): lafs-ts nodes joining a grid introduced by a real Tahoe-LAFS 1.20 introducer
 * over Foolscap. The reference grid brings its introducer, two Tahoe storage nodes and a Tahoe
 * client; two lafs-ts storage nodes and a lafs-ts client are then made with
 * `--introducer=` that introducer's private/introducer.furl (a pb:// fURL) and nothing else: no
 * servers.yaml. Each client must learn all four servers from the introducer alone (so the Tahoe
 * client found our servers through the announcement we publish in Tahoe 1.20's form), and
 * k/happy/N = 2/3/4 over 2 + 2 servers puts shares on both kinds.
 */

const peer = findRefPeer("interop tests (lafs-ts nodes on a Tahoe-LAFS introducer)");
const OURS = ["s1", "s2"];
const REF_SERVERS = ["ref-storage1", "ref-storage2"];

describe.skipIf(peer === undefined)("lafs-ts storage nodes and client on a Tahoe-LAFS introducer", () => {
  const ref = peer!;
  let root: string | undefined;
  let refGrid: RefGrid | undefined;
  let grid: Grid | undefined;
  let theirs: WebClient;
  let ours: WebClient;
  let ourDirs: string[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lafs-interop-b-"));
    // The Tahoe client's happy = 3 cannot be met by its two servers: uploads wait for ours.
    refGrid = await startRefGrid(ref, join(root, "grid"), { n: 2, k: 2, happy: 3, total: 4 });
    const furl = (await readFile(join(refGrid.dir, "introducer/private/introducer.furl"), "utf8")).trim();
    grid = await startGrid({
      storage: OURS,
      k: 2,
      happy: 3,
      n: 4,
      introducer: { furl, otherServers: REF_SERVERS.length },
    });
    ourDirs = OURS.map((name) => grid!.dirs[name]!);
    theirs = webClient("Tahoe client", refGrid.url);
    ours = webClient("lafs-ts client", grid.nodeUrl);
  }, 150_000);

  afterAll(async () => {
    try {
      await grid?.close();
    } finally {
      try {
        // By path, even when startRefGrid failed half-way (stopRef skips what was never made).
        if (root !== undefined) await stopRef(ref, join(root, "grid"));
      } finally {
        if (root !== undefined) await rm(root, { recursive: true, force: true });
      }
    }
  }, 60_000);

  it("the lafs-ts client's welcome ?t=json shows the Tahoe servers and ours as connected", async () => {
    const servers = await waitForWelcome(
      ours.url,
      (list) => connectedNicknames(list, oursConnected).length === 4,
      "4 connected servers on the lafs-ts client",
    );
    expect(connectedNicknames(servers, oursConnected)).toEqual([...REF_SERVERS, ...OURS].sort());
    const introducers = (await welcome(ours.url)).introducers.list ?? [];
    expect(introducers.map((i) => i.state)).toEqual(["connected"]);
  }, 40_000);

  it("the Tahoe client's welcome ?t=json shows our storage servers as connected", async () => {
    const ourIds = (await welcomeServers(ours.url))
      .filter((s) => OURS.includes(s.nickname))
      .map((s) => s.nodeid)
      .sort();
    expect(ourIds).toHaveLength(2);
    const servers = await waitForWelcome(
      theirs.url,
      (list) => connectedNicknames(list, tahoeConnected).length === 4,
      "4 connected servers on the Tahoe client",
    );
    expect(connectedNicknames(servers, tahoeConnected)).toEqual([...REF_SERVERS, ...OURS].sort());
    // The same server ids on both sides: Tahoe derived them from our announcement's signing key.
    const seen = servers
      .filter((s) => OURS.includes(s.nickname))
      .map((s) => s.nodeid)
      .sort();
    expect(seen).toEqual(ourIds);
  }, 40_000);

  for (const direction of ["lafs-ts", "Tahoe"]) {
    it(`a three-segment file uploaded by the ${direction} client is read byte-exact by both, with shares on both kinds of server`, async () => {
      const [uploader, other] = direction === "lafs-ts" ? [ours, theirs] : [theirs, ours];
      const bytes = fileOf(FILES.multiSegment, `b-${direction}`);
      const crossed = await crossRoundTrip(uploader, [other, uploader], bytes);
      expect(crossed.downloads).toEqual(everyoneGot([other, uploader], bytes));
      const onOurs = allShareNumbers(await sharesOf(crossed.cap, ourDirs));
      const onTheirs = allShareNumbers(await sharesOf(crossed.cap, refGrid!.storageDirs));
      expect(onOurs.length, "shares on lafs-ts servers").toBeGreaterThan(0);
      expect(onTheirs.length, "shares on Tahoe servers").toBeGreaterThan(0);
      expect([...onOurs, ...onTheirs].sort()).toEqual([0, 1, 2, 3]);
    }, 60_000);
  }

  it("the Tahoe nodes logged no traceback or unhandled error while serving ours", async () => {
    const logs = ["introducer", "storage1", "storage2", "client"].map((node) => join(refGrid!.dir, node));
    for (const dir of logs) {
      const log = await readFile(join(dir, "run.log"), "utf8");
      const bad = log.split("\n").filter((line) => /Traceback|Unhandled|BananaError|Violation/.test(line));
      expect(bad, `${dir}/run.log`).toEqual([]);
    }
  });

  it("after the Tahoe introducer restarts, our client reconnects to it and uploads still reach both kinds", async () => {
    const introducerDir = join(refGrid!.dir, "introducer");
    await stopRef(ref, introducerDir);
    await waitForIntroducer(ours.url, (state) => state !== "connected", "seen as gone", 15_000);
    // Give the restarted introducer a web port: its ?t=json counts the announcements it holds,
    // which after a restart can only come from nodes that published again.
    const cfg = join(introducerDir, "tahoe.cfg");
    const text = await readFile(cfg, "utf8");
    await writeFile(cfg, text.replace(/^web\.port *=.*$/m, "web.port = tcp:0:interface=127.0.0.1"));
    // start-grid.sh reuses the grid and starts only what is not running: the introducer, on the
    // port its tahoe.cfg names, so the fURL our nodes hold is valid again.
    refGrid = await startRefGrid(ref, refGrid!.dir, { n: 2, k: 2, happy: 3, total: 4 });
    // Backoff 1, 2, 4, 8 s (with jitter) while a Python node starts: well inside 45 s.
    await waitForIntroducer(ours.url, (state) => state === "connected", "reconnected", 45_000);
    const introducerUrl = (await readFile(join(introducerDir, "node.url"), "utf8")).trim();
    // Six subscribers (every node of both kinds, storage nodes included, as Tahoe's do) and four
    // storage announcements: all of ours subscribed and published again after the restart.
    const summary = await waitForJson(
      `${introducerUrl.replace(/\/$/, "")}/?t=json`,
      (json: IntroducerJson) =>
        json.announcement_summary?.storage === 4 && json.subscription_summary?.storage === 6,
      "4 storage announcements and 6 subscribers at the restarted Tahoe introducer",
      45_000,
    );
    expect(summary).toEqual({ announcement_summary: { storage: 4 }, subscription_summary: { storage: 6 } });
    const page = await (await fetch(introducerUrl)).text();
    // Each storage node's nickname as a whole word (never inside an id) on its services table.
    for (const name of [...OURS, ...REF_SERVERS]) {
      expect(page, `${name} on the introducer's page`).toMatch(new RegExp(`\\b${name}\\b`));
    }
    const bytes = fileOf(FILES.small, "b-after-restart");
    const crossed = await crossRoundTrip(ours, [theirs, ours], bytes);
    expect(crossed.downloads).toEqual(everyoneGot([theirs, ours], bytes));
    expect(allShareNumbers(await sharesOf(crossed.cap, ourDirs)).length).toBeGreaterThan(0);
    expect(allShareNumbers(await sharesOf(crossed.cap, refGrid.storageDirs)).length).toBeGreaterThan(0);
  }, 120_000);
});
