import { readFile, rm, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, tahoeOk } from "../support/local-grid.js";
import { findRefPeer } from "../support/refpeer.js";
import {
  checkJson,
  comparableCheck,
  deepCheckTree,
  fileOf,
  type GridStart,
  type OurGridWithTahoeClient,
  refTahoe,
  shareFilesOf,
  slowOperationJson,
  startOurGridWithTahoeClient,
  type WebClient,
} from "./support.js";

/**
 * Tahoe-LAFS 1.20's checker and ours on the same files, on four lafs-ts storage nodes: the same
 * verdicts and counters from `t=check&verify=true`, the same corrupt share found, and Tahoe's
 * `--repair --add-lease` (POST t=check&repair=true&add-lease=true) working on our servers.
 */

const peer = findRefPeer("interop tests (check/verify/repair, Tahoe and lafs-ts)");
const STORAGE = ["s1", "s2", "s3", "s4"];

describe.skipIf(peer === undefined)("Tahoe's checker and ours on lafs-ts storage servers", () => {
  const ref = peer!;
  let grid: Grid | undefined;
  let tahoeClientDir: string;
  let theirs: WebClient;
  let ours: WebClient;
  let start: GridStart<OurGridWithTahoeClient> | undefined;

  beforeAll(async () => {
    start = startOurGridWithTahoeClient(ref, { storage: STORAGE, k: 2, happy: 3, n: 4 });
    ({ grid, tahoeClientDir, theirs, ours } = await start.ready);
  }, 120_000);

  afterAll(() => start?.close(), 180_000);

  const shareFiles = (si: string) =>
    shareFilesOf(
      si,
      STORAGE.map((name) => grid!.dirs[name]!),
    );

  it("check --verify agrees on a healthy file and on one with a flipped byte", async () => {
    const cap = await ours.put(fileOf(300_000, "check-interop"));
    const [t0, o0] = await Promise.all([
      checkJson(theirs, cap, "&verify=true"),
      checkJson(ours, cap, "&verify=true"),
    ]);
    expect(comparableCheck(o0)).toEqual(comparableCheck(t0));
    expect(t0.results.healthy).toBe(true);

    const [victim] = await shareFiles(o0["storage-index"]);
    const original = await readFile(victim!);
    const changed = Buffer.from(original);
    changed[12 + 0x24 + 1000]! ^= 0x10; // a block byte
    await writeFile(victim!, changed);
    try {
      const t1 = await checkJson(theirs, cap, "&verify=true");
      const o1 = await checkJson(ours, cap, "&verify=true");
      expect(comparableCheck(o1)).toEqual(comparableCheck(t1));
      expect(t1.results["count-corrupt-shares"]).toBe(1);
      expect(t1.results.healthy).toBe(false);
    } finally {
      await writeFile(victim!, original);
    }
  }, 60_000);

  it("check --verify agrees on an MDMF file with a flipped block byte", async () => {
    const res = await fetch(new URL("uri?format=MDMF", ours.url), {
      method: "PUT",
      body: fileOf(300_000, "mdmf-a"),
    });
    expect(res.status).toBe(200);
    const cap = (await res.text()).trim();
    const [t0, o0] = await Promise.all([
      checkJson(theirs, cap, "&verify=true"),
      checkJson(ours, cap, "&verify=true"),
    ]);
    expect(comparableCheck(o0)).toEqual(comparableCheck(t0));
    const [victim] = await shareFiles(o0["storage-index"]);
    const original = await readFile(victim!);
    // Mutable container header (468 bytes), then the MDMF share: its share-data offset is the
    // u64 at 99 (59-byte signed prefix, then enc_privkey, chain, signature, key, key end, data).
    const at = 468 + Number(original.readBigUInt64BE(468 + 99)) + 1000;
    const changed = Buffer.from(original);
    changed[at]! ^= 0x10;
    await writeFile(victim!, changed);
    try {
      const t1 = await checkJson(theirs, cap, "&verify=true");
      const o1 = await checkJson(ours, cap, "&verify=true");
      expect(comparableCheck(o1)).toEqual(comparableCheck(t1));
      expect(t1.results["count-corrupt-shares"]).toBe(1);
    } finally {
      await writeFile(victim!, original);
    }
  }, 60_000);

  it("Tahoe's check --repair --add-lease on our servers re-creates a missing share and adds its lease", async () => {
    const cap = await ours.put(fileOf(150_000, "repair-interop"));
    const si = (await checkJson(ours, cap, ""))["storage-index"];
    const files = await shareFiles(si);
    await rm(files[1]!);
    const leasesBefore = (await readFile(files[0]!)).readUInt32BE(8);
    const repaired = await checkJson(theirs, cap, "&repair=true&add-lease=true");
    expect(repaired["repair-attempted"]).toBe(true);
    expect(repaired["repair-successful"]).toBe(true);
    expect(repaired["pre-repair-results"].results["count-shares-good"]).toBe(3);
    expect((await checkJson(ours, cap, "&verify=true")).results.healthy).toBe(true);
    // Tahoe's node has its own lease secret: its lease is one more on the share.
    expect((await readFile(files[0]!)).readUInt32BE(8)).toBe(leasesBefore + 1);
  }, 60_000);
  it("Tahoe's deep-check --add-lease and --repair on a tree on our servers count as ours do", async () => {
    const { root: dir, victim } = await deepCheckTree(ours);
    const files = await shareFiles((await checkJson(ours, victim, ""))["storage-index"]);
    await rm(files[0]!);
    const leasesBefore = (await readFile(files[1]!)).readUInt32BE(8);
    const theirDir = tahoeClientDir;
    const tahoeSays = (
      await refTahoe(ref.cli, ["-d", theirDir, "deep-check", "--add-lease", dir])
    ).toString();
    expect(tahoeSays).toBe("done: 5 objects checked, 4 healthy, 1 unhealthy\n");
    expect((await tahoeOk(["-d", grid!.dirs.client!, "deep-check", dir])).toString()).toBe(tahoeSays);
    // Tahoe's node has its own lease secret: its lease is one more on each share it checked.
    expect((await readFile(files[1]!)).readUInt32BE(8)).toBe(leasesBefore + 1);

    // The slow-operation form: the same counters, unhealthy paths and deep-stats from both nodes.
    const [t, o] = await Promise.all([
      slowOperationJson(theirs, dir, "t=start-deep-check"),
      slowOperationJson(ours, dir, "t=start-deep-check"),
    ]);
    const shape = (d: Record<string, unknown>) => ({
      ...Object.fromEntries(Object.keys(t).map((k) => [k, d[k]])),
      "list-unhealthy-files": (d["list-unhealthy-files"] as [string[], unknown][]).map(([p]) => p),
    });
    expect(shape(o)).toEqual(shape(t));
    expect(t["count-objects-unhealthy"]).toBe(1);
    const [ts, os] = await Promise.all([
      slowOperationJson(theirs, dir, "t=start-deep-stats"),
      slowOperationJson(ours, dir, "t=start-deep-stats"),
    ]);
    expect(os).toEqual(ts);

    const repaired = (await refTahoe(ref.cli, ["-d", theirDir, "deep-check", "--repair", dir])).toString();
    expect(repaired).toContain(" 1 repairs attempted, 1 successful, 0 failed\n");
    // Tahoe's repairer re-runs its placement, so besides the missing share it may copy others
    // to more servers (how many depends on the storage index): every share number is back.
    const after = await shareFiles((await checkJson(ours, victim, ""))["storage-index"]);
    expect(new Set(after.map((f) => f.split("/").pop()))).toEqual(new Set(["0", "1", "2", "3"]));
    expect((await tahoeOk(["-d", grid!.dirs.client!, "deep-check", "--verify", dir])).toString()).toBe(
      "done: 5 objects checked, 5 healthy, 0 unhealthy\n",
    );
  }, 90_000);

  it("check --verify --repair of a corrupt share on our servers: ours re-creates it elsewhere, and Tahoe's verify agrees", async () => {
    const cap = await ours.put(fileOf(200_000, "corrupt-repair-interop"));
    const si = (await checkJson(ours, cap, ""))["storage-index"];
    const [victim] = await shareFiles(si);
    const changed = await readFile(victim!);
    changed[12 + 0x24 + 500]! ^= 0x08; // a block byte of share 0
    await writeFile(victim!, changed);

    // Tahoe 1.20's repairer believes a server's "already have" (immutable/repairer.py says so):
    // share 0 is not placed anywhere else, and it reports the repair as failed.
    const tahoe = await checkJson(theirs, cap, "&verify=true&repair=true");
    expect(tahoe["repair-attempted"]).toBe(true);
    expect(tahoe["repair-successful"]).toBe(false);
    expect(tahoe["pre-repair-results"].results["list-corrupt-shares"].map((c) => c[2])).toEqual([0]);
    expect(tahoe["post-repair-results"].results).toMatchObject({ healthy: false, "count-shares-good": 3 });
    const afterTahoe = await checkJson(theirs, cap, "&verify=true");
    expect(afterTahoe.results).toMatchObject({ healthy: false, "count-corrupt-shares": 1 });

    const repaired = await checkJson(ours, cap, "&verify=true&repair=true");
    expect(repaired["repair-attempted"]).toBe(true);
    expect(repaired["repair-successful"]).toBe(true);
    const pre = repaired["pre-repair-results"].results;
    const post = repaired["post-repair-results"].results;
    expect(pre["list-corrupt-shares"].map((c) => c[2])).toEqual([0]);
    expect(pre.healthy).toBe(false);
    // The corrupt copy cannot be overwritten on its server: it stays listed, and share 0 is
    // good elsewhere.
    expect(post["list-corrupt-shares"]).toEqual(pre["list-corrupt-shares"]);
    expect(post.healthy).toBe(true);
    expect(post.sharemap["0"]).not.toContain(pre["list-corrupt-shares"][0]![0]);
    // Its bytes are untouched (Tahoe's repair attempt may have added a lease after them).
    const shareBytes = (file: Buffer) => file.subarray(12, file.length - file.readUInt32BE(8) * 72);
    expect(shareBytes(await readFile(victim!)).equals(shareBytes(changed))).toBe(true);

    // Tahoe's own verifier now finds the file healthy, with the same corrupt copy listed.
    const [t2, o2] = [
      await checkJson(theirs, cap, "&verify=true"),
      await checkJson(ours, cap, "&verify=true"),
    ];
    expect(t2.results.healthy).toBe(true);
    expect(t2.results["count-shares-good"]).toBe(4);
    expect(t2.results["list-corrupt-shares"].map((c) => c[2])).toEqual([0]);
    expect(comparableCheck(o2)).toEqual(comparableCheck(t2));
  }, 120_000);
});
