import { mkdtemp, readFile, rm } from "node:fs/promises";
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
  oursConnected,
  sharesOf,
  tahoeConnected,
  type WebClient,
  waitForWelcome,
  webClient,
} from "./support.js";

/**
 * Issue 19, 5(a) and 5(c) on our introducer: a lafs-ts introducer (made by our
 * `tahoe create-introducer`), two lafs-ts storage nodes and a lafs-ts client on its NURL
 * (private/introducer.nurl, HTTPS), and two Tahoe-LAFS 1.20 storage nodes and a Tahoe client on
 * its fURL (private/introducer.furl, Foolscap, the same port). Neither client has a servers.yaml:
 * each must learn all four servers from the introducer, which hands each kind of node the
 * other's announcements. Files uploaded by each client are read by the other, with shares on
 * both kinds of server. (5(c) on a Tahoe introducer is tests/interop/tahoe-introducer.test.ts.)
 */

const peer = findRefPeer("interop tests (Tahoe-LAFS nodes on a lafs-ts introducer)");
const OURS = ["s1", "s2"];
const REF_SERVERS = ["ref-storage1", "ref-storage2"];

/** Our introducer's status ?t=json (packages/introducer status-page.ts). */
interface OurIntroducerJson {
  announcements: { nickname: string; myVersion: string; service: string }[];
  subscribers: { nickname: string; myVersion: string; from: string }[];
  refused: Record<string, number>;
}

/** The status page URL of our introducer: its NURL's address and swissnum, over HTTPS. */
function statusUrlOf(nurl: string): string {
  const m = /^pb:\/\/[^@]+@([^/]+)\/([^#]+)#/.exec(nurl);
  if (!m) throw new Error(`not a NURL: ${nurl}`);
  return `https://${m[1]}/${m[2]}/?t=json`;
}

/** GET over HTTPS without a CA (the NURL pins the certificate; this test only reads the status). */
async function fetchStatus(url: string): Promise<OurIntroducerJson> {
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    request(url, { rejectUnauthorized: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => {
        try {
          resolve(JSON.parse(body) as OurIntroducerJson);
        } catch (error) {
          reject(error);
        }
      });
    })
      .on("error", reject)
      .end();
  });
}

/** Polls our introducer's status until `test` holds, or fails with the last one seen. */
async function waitForStatus(
  nurl: string,
  test: (s: OurIntroducerJson) => boolean,
  what: string,
  ms: number,
): Promise<OurIntroducerJson> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    last = await fetchStatus(statusUrlOf(nurl)).catch((error: Error) => ({ error: error.message }));
    if ("announcements" in (last as object) && test(last as OurIntroducerJson))
      return last as OurIntroducerJson;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(peer === undefined)("Tahoe-LAFS and lafs-ts nodes on a lafs-ts introducer", () => {
  const ref = peer!;
  let root: string | undefined;
  let refGrid: RefGrid | undefined;
  let grid: Grid | undefined;
  let theirs: WebClient;
  let ours: WebClient;
  let ourDirs: string[];
  let furl: string;
  let nurl: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lafs-interop-a-"));
    grid = await startGrid({ storage: OURS, k: 2, happy: 3, n: 4 });
    furl = (await readFile(join(grid.dirs.intro!, "private/introducer.furl"), "utf8")).trim();
    nurl = (await readFile(join(grid.dirs.intro!, "private/introducer.nurl"), "utf8")).split("\n")[0]!;
    // The Tahoe client's happy = 3 cannot be met by its two servers alone: uploads need ours.
    refGrid = await startRefGrid(ref, join(root, "grid"), {
      n: 2,
      k: 2,
      happy: 3,
      total: 4,
      introducerFurl: furl,
    });
    ourDirs = OURS.map((name) => grid!.dirs[name]!);
    theirs = webClient("Tahoe client", refGrid.url);
    ours = webClient("lafs-ts client", grid.nodeUrl);
  }, 150_000);

  afterAll(async () => {
    try {
      if (root !== undefined) await stopRef(ref, join(root, "grid"));
    } finally {
      try {
        await grid?.close();
      } finally {
        if (root !== undefined) await rm(root, { recursive: true, force: true });
      }
    }
  }, 60_000);

  it("create-introducer wrote Tahoe's fURL form and our NURL, with one swissnum", () => {
    expect(furl).toMatch(/^pb:\/\/[a-z2-7]{32}@tcp:127\.0\.0\.1:\d+\/[a-z2-7]{32}$/);
    expect(nurl).toMatch(/^pb:\/\/[A-Za-z0-9_-]{43}@127\.0\.0\.1:\d+\/[a-z2-7]{32}#v=1$/);
    expect(furl.split("/").pop()).toBe(nurl.split("/").pop()!.replace("#v=1", ""));
    expect(furl.split(":").pop()!.split("/")[0]).toBe(nurl.split(":").pop()!.split("/")[0]);
  });

  it("the Tahoe client's welcome ?t=json shows our introducer connected and all four servers", async () => {
    const servers = await waitForWelcome(
      theirs.url,
      (list) => connectedNicknames(list, tahoeConnected).length === 4,
      "4 connected servers on the Tahoe client",
    );
    expect(connectedNicknames(servers, tahoeConnected)).toEqual([...REF_SERVERS, ...OURS].sort());
    const page = (await (await fetch(new URL("?t=json", `${theirs.url}/`))).json()) as {
      introducers: { statuses: string[] };
    };
    expect(page.introducers.statuses).toEqual([
      expect.stringMatching(/^Connected to tcp:127\.0\.0\.1:\d+ via tcp$/),
    ]);
  }, 40_000);

  it("the lafs-ts client's welcome ?t=json shows the Tahoe servers and ours as connected", async () => {
    const servers = await waitForWelcome(
      ours.url,
      (list) => connectedNicknames(list, oursConnected).length === 4,
      "4 connected servers on the lafs-ts client",
    );
    expect(connectedNicknames(servers, oursConnected)).toEqual([...REF_SERVERS, ...OURS].sort());
  }, 40_000);

  it("our introducer holds four announcements and serves six subscribers, of both kinds", async () => {
    const status = await waitForStatus(
      nurl,
      (s) => s.announcements.length === 4 && s.subscribers.length === 6,
      "4 announcements and 6 subscribers",
      30_000,
    );
    expect(status.announcements.map((a) => a.nickname).sort()).toEqual([...REF_SERVERS, ...OURS].sort());
    const tahoeSubscribers = status.subscribers.filter((s) => s.myVersion.startsWith("tahoe-lafs/1.20"));
    expect(tahoeSubscribers.map((s) => s.nickname).sort()).toEqual(["ref-client", ...REF_SERVERS].sort());
    // Foolscap subscribers are shown with their tub id.
    for (const s of tahoeSubscribers) expect(s.from).toMatch(/\(tub [a-z2-7]{32}\)$/);
    expect(status.refused).toEqual({});
  }, 40_000);

  for (const direction of ["lafs-ts", "Tahoe"]) {
    it(`a three-segment file uploaded by the ${direction} client is read byte-exact by both, with shares on both kinds of server`, async () => {
      const [uploader, other] = direction === "lafs-ts" ? [ours, theirs] : [theirs, ours];
      const bytes = fileOf(FILES.multiSegment, `a-${direction}`);
      const crossed = await crossRoundTrip(uploader, [other, uploader], bytes);
      expect(crossed.downloads).toEqual(everyoneGot([other, uploader], bytes));
      const onOurs = allShareNumbers(await sharesOf(crossed.cap, ourDirs));
      const onTheirs = allShareNumbers(await sharesOf(crossed.cap, refGrid!.storageDirs));
      expect(onOurs.length, "shares on lafs-ts servers").toBeGreaterThan(0);
      expect(onTheirs.length, "shares on Tahoe servers").toBeGreaterThan(0);
      expect([...onOurs, ...onTheirs].sort()).toEqual([0, 1, 2, 3]);
    }, 60_000);
  }

  it("after our introducer restarts, the Tahoe nodes reconnect and publish again", async () => {
    await grid!.stop("intro");
    await grid!.start("intro");
    const status = await waitForStatus(
      nurl,
      (s) => s.announcements.length === 4 && s.subscribers.length === 6,
      "4 announcements and 6 subscribers after the restart",
      60_000,
    );
    expect(status.announcements.map((a) => a.nickname).sort()).toEqual([...REF_SERVERS, ...OURS].sort());
  }, 90_000);

  it("the Tahoe nodes logged no traceback, unhandled error or Violation while using our introducer", async () => {
    for (const node of ["storage1", "storage2", "client"]) {
      const log = await readFile(join(refGrid!.dir, node, "run.log"), "utf8");
      const bad = log.split("\n").filter((line) => /Traceback|Unhandled|BananaError|Violation/.test(line));
      expect(bad, `${node}/run.log`).toEqual([]);
    }
  });
});
