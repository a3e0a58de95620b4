import { readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tahoeOk } from "../support/local-grid.js";
import { findRefPeer, type RefGrid } from "../support/refpeer.js";
import {
  checkJson,
  comparableCheck,
  deepCheckTree,
  fileOf,
  type GridStart,
  refTahoe,
  type StaticClient,
  shareFilesOf,
  slowOperationJson,
  startTahoeGridWithOurClient,
  type TahoeGridWithOurClient,
  type WebClient,
} from "./support.js";

/**
 * Our checker on four Tahoe-LAFS 1.20 storage nodes (a reference grid), on files Tahoe's client
 * wrote: `t=check&verify=true` agrees with Tahoe's for CHK and MDMF, and our
 * `--repair --add-lease` re-creates a missing share on Tahoe's servers and adds our lease there.
 */

const peer = findRefPeer("interop tests (lafs-ts check/verify/repair on Tahoe servers)");

describe.skipIf(peer === undefined)("our checker on Tahoe-LAFS storage servers", () => {
  const ref = peer!;
  let refGrid: RefGrid | undefined;
  let client: StaticClient | undefined;
  let theirs: WebClient;
  let ours: WebClient;
  let start: GridStart<TahoeGridWithOurClient> | undefined;

  beforeAll(async () => {
    start = startTahoeGridWithOurClient(ref, { n: 4, k: 2, happy: 3, total: 4 });
    ({ refGrid, client, theirs, ours } = await start.ready);
  }, 120_000);

  afterAll(() => start?.close(), 180_000);

  const shareFiles = (si: string) => shareFilesOf(si, refGrid!.storageDirs);

  it("check --verify agrees with Tahoe's on a CHK file and an MDMF file Tahoe wrote", async () => {
    const cap = await theirs.put(fileOf(300_000, "check-interop-b"));
    const [t0, o0] = await Promise.all([
      checkJson(theirs, cap, "&verify=true"),
      checkJson(ours, cap, "&verify=true"),
    ]);
    expect(comparableCheck(o0)).toEqual(comparableCheck(t0));
    expect(o0.results.healthy).toBe(true);

    const res = await fetch(new URL("uri?format=MDMF", theirs.url), {
      method: "PUT",
      body: fileOf(200_000, "mdmf-b"),
    });
    expect(res.status).toBe(200);
    const mdmf = (await res.text()).trim();
    const [t1, o1] = await Promise.all([
      checkJson(theirs, mdmf, "&verify=true"),
      checkJson(ours, mdmf, "&verify=true"),
    ]);
    expect(comparableCheck(o1)).toEqual(comparableCheck(t1));
    expect(o1.results.healthy).toBe(true);
  }, 60_000);

  it("our check --repair --add-lease re-creates a missing share on Tahoe's servers and adds our lease", async () => {
    const cap = await theirs.put(fileOf(150_000, "repair-interop-b"));
    const si = (await checkJson(ours, cap, ""))["storage-index"];
    const files = await shareFiles(si);
    expect(files).toHaveLength(4);
    await rm(files[2]!);
    const leasesBefore = (await readFile(files[0]!)).readUInt32BE(8);
    const repaired = await checkJson(ours, cap, "&repair=true&add-lease=true");
    expect(repaired["repair-attempted"]).toBe(true);
    expect(repaired["repair-successful"]).toBe(true);
    expect(repaired["pre-repair-results"].results["count-shares-good"]).toBe(3);
    const tahoeSays = await checkJson(theirs, cap, "&verify=true");
    expect(tahoeSays.results.healthy).toBe(true);
    expect(tahoeSays.results["count-shares-good"]).toBe(4);
    // Our node's lease secret is not Tahoe's client's: one more lease on the share.
    expect((await readFile(files[0]!)).readUInt32BE(8)).toBe(leasesBefore + 1);
  }, 60_000);
  it("our deep-check --add-lease and --repair on a tree on Tahoe's servers count as Tahoe's do", async () => {
    const { root: dir, victim } = await deepCheckTree(theirs);
    const si = (await checkJson(theirs, victim, ""))["storage-index"];
    const tahoe = (...args: string[]) => refTahoe(ref.cli, [args[0]!, "-u", theirs.url, ...args.slice(1)]);
    const lafs = (...args: string[]) => tahoeOk(["-d", client!.dir, ...args]);
    await rm((await shareFiles(si))[0]!);
    const files = await shareFiles(si);
    const leasesBefore = (await readFile(files[0]!)).readUInt32BE(8);
    const weSay = (await lafs("deep-check", "--add-lease", dir)).toString();
    expect(weSay).toBe("done: 5 objects checked, 4 healthy, 1 unhealthy\n");
    expect((await tahoe("deep-check", dir)).toString()).toBe(weSay);
    // Our node's lease secret is not Tahoe's client's: one more lease on the share.
    expect((await readFile(files[0]!)).readUInt32BE(8)).toBe(leasesBefore + 1);

    const [t, o] = await Promise.all([
      slowOperationJson(theirs, dir, "t=start-deep-check&verify=true"),
      slowOperationJson(ours, dir, "t=start-deep-check&verify=true"),
    ]);
    const shape = (d: Record<string, unknown>) => ({
      ...Object.fromEntries(Object.keys(t).map((k) => [k, d[k]])),
      "list-unhealthy-files": (d["list-unhealthy-files"] as [string[], unknown][]).map(([p]) => p),
    });
    expect(shape(o)).toEqual(shape(t));

    // Our repair, then the same damage again for Tahoe's: the two reports are the same.
    const oursRepaired = (await lafs("deep-check", "--repair", dir)).toString();
    expect(oursRepaired).toContain(" 1 repairs attempted, 1 successful, 0 failed\n");
    expect(await shareFiles(si)).toHaveLength(4);
    await rm((await shareFiles(si))[1]!);
    const tahoeRepaired = (await tahoe("deep-check", "--repair", dir)).toString();
    expect(oursRepaired).toBe(tahoeRepaired);
    expect((await tahoe("deep-check", "--verify", dir)).toString()).toBe(
      "done: 5 objects checked, 5 healthy, 0 unhealthy\n",
    );
  }, 90_000);
});
