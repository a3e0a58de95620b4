import { readFile, rm, writeFile } from "node:fs/promises";
import {
  decodeShareHeader,
  formatChkVerifyCap,
  formatLiteralCap,
  parseChkReadCap,
  verifyCapOf,
} from "@lafs/immutable";
import { parseMutableHeader, shareRanges } from "@lafs/mutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkAndRepairImmutable,
  checkAndRepairMutable,
  checkImmutable,
  checkMutable,
  createMutableFile,
  openDownload,
  openMutableFile,
  type UploadResult,
} from "../src/index.js";
import { holderOnDisk, mutableThreeOfSix, uploadThreeOfSix } from "./check-repair-files.js";
import { flipByte, IMMUTABLE_CONTAINER, LEASE_BYTES, MUTABLE_CONTAINER } from "./share-file-bytes.js";
import { type Grid, type GridNode, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(5);
const convergenceSecret = new Uint8Array(16).fill(3);

describe("check, verify, repair and add-lease against 6 real storage servers", () => {
  let grid: Grid;
  let clockMs = Date.UTC(2026, 0, 1);
  let data: Buffer;
  let upload: UploadResult;

  beforeAll(async () => {
    grid = await startGrid(6, () => ({ now: () => clockMs }));
    data = testBytes(200_000, 17);
    upload = await uploadThreeOfSix(grid, data, { leaseSecret, convergenceSecret });
  });
  afterAll(() => grid.close());

  const si = () => upload.storageIndex!;
  const holderOf = (shareNumber: number): GridNode =>
    grid.nodes.find((n) => upload.uploadedShares.get(n.id)?.includes(shareNumber))!;
  const options = { leaseSecret };

  it("check of a healthy CHK file: all 6 shares on 6 servers, Tahoe's counters", async () => {
    const r = await checkImmutable(upload.cap, grid.servers(), options);
    expect(r.healthy).toBe(true);
    expect(r.recoverable).toBe(true);
    expect(r.summary).toBe("Healthy");
    expect([r.sharesGood, r.sharesNeeded, r.sharesExpected, r.goodShareHosts, r.happiness]).toEqual([
      6, 3, 6, 6, 6,
    ]);
    expect(r.serversResponding).toHaveLength(6);
    expect([...r.sharemap.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.sharemap.get(2)).toEqual([holderOf(2).id]);
    expect(r.corruptShares).toEqual([]);
    // A verify cap checks too.
    const verifyCap = formatChkVerifyCap(verifyCapOf(parseChkReadCap(upload.cap)));
    expect((await checkImmutable(verifyCap, grid.servers(), { ...options, verify: true })).healthy).toBe(
      true,
    );
  });

  it("check of a LIT file answers without servers", async () => {
    const r = await checkImmutable(formatLiteralCap(Buffer.from("hello")), [], options);
    expect(r).toMatchObject({ storageIndex: "", healthy: true, summary: "Healthy (LIT)" });
  });

  it("verify finds a flipped byte in each region of an immutable share and advises its server", async () => {
    const sample = await readFile(holderOf(0).sharePath(si(), 0));
    const header = decodeShareHeader(sample.subarray(IMMUTABLE_CONTAINER));
    if (typeof header === "string") throw new Error(header);
    const regions: [string, number][] = [
      ["block data", header.data + 100],
      ["crypttext hash tree", header.crypttextHashTree + 5],
      ["block hash tree", header.blockHashTree + 5],
      ["share hash chain", header.shareHashChain + 3],
      ["UEB", header.uebLength + 4 + 20],
    ];
    for (const [i, [region, at]] of regions.entries()) {
      const holder = holderOf(i);
      const path = holder.sharePath(si(), i);
      const advisedBefore = (await holder.advisories()).length;
      const original = await flipByte(path, IMMUTABLE_CONTAINER + at);
      try {
        const plain = await checkImmutable(upload.cap, grid.servers(), options);
        expect(plain.healthy, `a check does not read blocks (${region})`).toBe(true);
        const r = await checkImmutable(upload.cap, grid.servers(), { ...options, verify: true });
        expect(
          r.corruptShares.map((c) => [c.serverId, c.shareNumber]),
          region,
        ).toEqual([[holder.id, i]]);
        expect(r.healthy, region).toBe(false);
        expect(r.recoverable, region).toBe(true);
        expect(r.sharesGood, region).toBe(5);
        expect(r.summary).toBe("Not Healthy: 5 shares (enc 3-of-6)");
        expect(r.sharemap.has(i), region).toBe(false);
        expect((await holder.advisories()).length, region).toBe(advisedBefore + 1);
      } finally {
        await writeFile(path, original);
      }
    }
  });

  it("repair re-creates 1 missing share and leaves a healthy file alone", async () => {
    const holder = holderOf(4);
    await rm(holder.sharePath(si(), 4));
    const r = await checkAndRepairImmutable(upload.cap, grid.servers(), {
      ...options,
      placementServers: grid.servers(),
      happy: 4,
    });
    expect(r.preRepair.sharesGood).toBe(5);
    expect(r.repairAttempted).toBe(true);
    expect(r.repairSuccessful).toBe(true);
    expect(r.postRepair.healthy).toBe(true);
    expect([...r.sharesPlaced.values()].flat()).toEqual([4]);
    const again = await checkAndRepairImmutable(upload.cap, grid.servers(), {
      ...options,
      placementServers: grid.servers(),
      happy: 4,
    });
    expect(again.repairAttempted).toBe(false);
    expect(again.postRepair.healthy).toBe(true);
  });

  it("repair re-creates N-k missing shares, only on allowed servers, and the file reads back", async () => {
    const gone = [0, 2, 5];
    const holders = gone.map((sn) => holderOf(sn));
    for (const [j, sn] of gone.entries()) await rm(holders[j]!.sharePath(si(), sn));
    const notAllowed = grid.nodes.find((n) => !holders.includes(n))!;
    const placement = grid.servers({ [notAllowed.id]: { allowed: false } });
    const r = await checkAndRepairImmutable(upload.cap, grid.servers(), {
      ...options,
      placementServers: placement,
      happy: 4,
    });
    expect(r.preRepair.sharesGood).toBe(3);
    expect(r.preRepair.recoverable).toBe(true);
    expect(r.repairSuccessful).toBe(true);
    expect(r.postRepair.sharesGood).toBe(6);
    // Every missing share is back; placement may add a copy for happiness over the allowed servers.
    for (const sn of gone) expect([...r.sharesPlaced.values()].flat()).toContain(sn);
    expect(r.sharesPlaced.has(notAllowed.id)).toBe(false);
    const download = await openDownload(upload.cap, grid.servers());
    expect((await download.readAll()).equals(data)).toBe(true);
  });

  it("add-lease renews the lease on every share: its expiry time moves", async () => {
    const expiry = async (node: GridNode, sn: number) => {
      const file = await readFile(node.sharePath(si(), sn));
      const count = file.readUInt32BE(8);
      expect(count).toBeGreaterThan(0);
      return file.readUInt32BE(file.length - count * LEASE_BYTES + 68);
    };
    const shares = (
      await Promise.all(
        grid.nodes.map(async (n) => (await n.sharesOnDisk(si())).map((sn) => [n, sn] as const)),
      )
    ).flat();
    expect(shares.length).toBeGreaterThanOrEqual(6);
    const before = await Promise.all(shares.map(([n, sn]) => expiry(n, sn)));
    clockMs += 10 * 24 * 3600 * 1000;
    const r = await checkImmutable(upload.cap, grid.servers(), { ...options, addLease: true });
    expect(r.leaseFailures).toEqual([]);
    const after = await Promise.all(shares.map(([n, sn]) => expiry(n, sn)));
    for (const [i, t] of after.entries()) expect(t).toBeGreaterThanOrEqual(before[i]! + 10 * 24 * 3600 - 1);
    expect(Math.min(...after)).toBe(Math.floor(clockMs / 1000) + 31 * 24 * 3600);
  });

  describe("mutable files", () => {
    const mgrid = () => mutableThreeOfSix(grid, leaseSecret);
    const holderOfSlot = (storageIndex: Uint8Array, shnum: number) => holderOnDisk(grid, storageIndex, shnum);

    it("check of a healthy SDMF file, and verify finds a flipped byte in each region of an MDMF share", async () => {
      const sdmf = await createMutableFile({ ...mgrid(), format: "SDMF", contents: testBytes(5000, 2) });
      const healthy = await checkMutable(sdmf.readCap, mgrid(), { ...options, verify: true });
      expect(healthy).toMatchObject({ healthy: true, sharesGood: 6, sharesNeeded: 3, sharesExpected: 6 });
      expect(healthy.recoverableVersions).toBe(1);
      expect(healthy.corruptShares).toEqual([]);

      const mdmf = await createMutableFile({ ...mgrid(), format: "MDMF", contents: testBytes(300_000, 4) });
      const mdmfSi = mdmf.storageIndex;
      const first = await holderOfSlot(mdmfSi, 0);
      const header = parseMutableHeader(
        (await readFile(first.sharePath(mdmfSi, 0))).subarray(MUTABLE_CONTAINER),
        0,
      );
      const ranges = shareRanges(header);
      const regions: [string, number][] = [
        ["block", ranges.block(1).offset + 50],
        ["salt", ranges.block(0).offset + 2],
        ["block hash tree", ranges.blockHashTree.offset + 7],
        ["share hash chain", ranges.shareHashChain.offset + 5],
        ["signature", ranges.signature.offset + 9],
      ];
      for (const [i, [region, at]] of regions.entries()) {
        const holder = await holderOfSlot(mdmfSi, i);
        const path = holder.sharePath(mdmfSi, i);
        const advisedBefore = (await holder.advisories()).length;
        const original = await flipByte(path, MUTABLE_CONTAINER + at);
        try {
          // The verify cap is enough: no share is decrypted.
          const r = await checkMutable(mdmf.verifyCap, mgrid(), { ...options, verify: true });
          expect(
            r.corruptShares.map((c) => [c.serverId, c.shareNumber]),
            region,
          ).toEqual([[holder.id, i]]);
          expect(r.healthy, region).toBe(false);
          expect(r.sharesGood, region).toBe(5);
          expect((await holder.advisories()).length, region).toBe(advisedBefore + 1);
        } finally {
          await writeFile(path, original);
        }
      }
    });

    it("repair of 1 and of N-k missing mutable shares republishes the newest version", async () => {
      const contents = testBytes(150_000, 9);
      const created = await createMutableFile({ ...mgrid(), format: "MDMF", contents });
      const msi = created.storageIndex;
      for (const missing of [[3], [0, 1, 5]]) {
        for (const sn of missing) await rm((await holderOfSlot(msi, sn)).sharePath(msi, sn));
        const r = await checkAndRepairMutable(created.writeCap, mgrid(), options);
        expect(r.preRepair.sharesGood).toBe(6 - missing.length);
        expect(r.repairAttempted).toBe(true);
        expect(r.repairSuccessful, r.repairProblem).toBe(true);
        expect(r.postRepair).toMatchObject({ healthy: true, sharesGood: 6 });
        const file = await openMutableFile({ ...mgrid(), cap: created.readCap });
        expect(Buffer.from(await file.readAll()).equals(contents)).toBe(true);
      }
      // A read cap cannot repair, as in Tahoe; nothing is written.
      await rm((await holderOfSlot(msi, 2)).sharePath(msi, 2));
      const readOnly = await checkAndRepairMutable(created.readCap, mgrid(), options);
      expect(readOnly.repairAttempted).toBe(false);
      expect(readOnly.repairProblem).toMatch(/write cap/);
    });
  });
});
