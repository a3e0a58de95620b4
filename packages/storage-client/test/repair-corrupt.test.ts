import { readFile, rm } from "node:fs/promises";
import { decodeShareHeader, formatChkVerifyCap, parseChkReadCap, verifyCapOf } from "@lafs/immutable";
import { parseMutableHeader, shareRanges } from "@lafs/mutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkAndRepairImmutable,
  checkAndRepairMutable,
  createMutableFile,
  openDownload,
  openMutableFile,
} from "../src/index.js";
import { holderOnDisk, mutableThreeOfSix, uploadThreeOfSix } from "./check-repair-files.js";
import { flipByte, IMMUTABLE_CONTAINER, LEASE_BYTES, MUTABLE_CONTAINER } from "./share-file-bytes.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(6);
const convergenceSecret = new Uint8Array(16).fill(4);

/** The share itself inside an immutable share file: without the container and the leases. */
function shareData(file: Buffer): Buffer {
  const leases = file.readUInt32BE(8);
  return file.subarray(IMMUTABLE_CONTAINER, file.length - leases * LEASE_BYTES);
}

describe("repair of corrupt shares and from a verify cap, against 6 real storage servers", () => {
  let grid: Grid;
  beforeAll(async () => {
    grid = await startGrid(6);
  });
  afterAll(() => grid.close());

  const upload = (seed: number) =>
    uploadThreeOfSix(grid, testBytes(150_000, seed), { leaseSecret, convergenceSecret });
  const holderOf = (si: Uint8Array, sn: number) => holderOnDisk(grid, si, sn);
  const repairOptions = () => ({ leaseSecret, placementServers: grid.servers(), happy: 4, verify: true });

  it("a corrupt immutable share is re-created on another server and never counted as good", async () => {
    const up = await upload(31);
    const si = up.storageIndex!;
    const holder = await holderOf(si, 2);
    const path = holder.sharePath(si, 2);
    const header = decodeShareHeader((await readFile(path)).subarray(IMMUTABLE_CONTAINER));
    if (typeof header === "string") throw new Error(header);
    await flipByte(path, IMMUTABLE_CONTAINER + header.data + 1000);
    const corruptBytes = await readFile(path);

    const r = await checkAndRepairImmutable(up.cap, grid.servers(), repairOptions());
    expect(r.preRepair.corruptShares.map((c) => [c.serverId, c.shareNumber])).toEqual([[holder.id, 2]]);
    expect(r.preRepair.sharesGood).toBe(5);
    expect(r.repairAttempted).toBe(true);
    expect(r.repairSuccessful, r.repairProblem).toBe(true);
    // Share 2 went elsewhere: GBS cannot overwrite the corrupt copy, which stays as it was.
    const placed = [...r.sharesPlaced].filter(([, sns]) => sns.includes(2)).map(([id]) => id);
    expect(placed.length).toBeGreaterThan(0);
    expect(placed).not.toContain(holder.id);
    expect((await readFile(path)).equals(corruptBytes)).toBe(true);
    // Tahoe's list-remaining-corrupt-shares: the copy is still there, and is no good share.
    expect(r.postRepair.corruptShares.map((c) => [c.serverId, c.shareNumber])).toEqual([[holder.id, 2]]);
    expect(r.postRepair.sharemap.get(2)).not.toContain(holder.id);
    expect(r.postRepair).toMatchObject({ healthy: true, sharesGood: 6 });
    const download = await openDownload(up.cap, grid.servers());
    expect((await download.readAll()).equals(testBytes(150_000, 31))).toBe(true);
  });

  it("repair from a verify cap re-creates the missing shares byte for byte as the upload made them", async () => {
    const up = await upload(32);
    const si = up.storageIndex!;
    const verifyCap = formatChkVerifyCap(verifyCapOf(parseChkReadCap(up.cap)));
    expect(up.verifyCap).toBe(verifyCap);
    const originals = new Map<number, Buffer>();
    for (let sn = 0; sn < 6; sn++) {
      originals.set(sn, shareData(await readFile((await holderOf(si, sn)).sharePath(si, sn))));
    }
    for (const sn of [0, 4]) await rm((await holderOf(si, sn)).sharePath(si, sn));

    const r = await checkAndRepairImmutable(verifyCap, grid.servers(), repairOptions());
    expect(r.preRepair.sharesGood).toBe(4);
    expect(r.repairSuccessful, r.repairProblem).toBe(true);
    expect(r.postRepair).toMatchObject({ healthy: true, sharesGood: 6 });
    for (const [id, sns] of r.sharesPlaced) {
      const node = grid.nodes.find((n) => n.id === id)!;
      for (const sn of sns) {
        expect(
          shareData(await readFile(node.sharePath(si, sn))).equals(originals.get(sn)!),
          `share ${sn}`,
        ).toBe(true);
      }
    }
    expect([...r.sharesPlaced.values()].flat().sort()).toEqual(expect.arrayContaining([0, 4]));
  });

  describe("mutable files", () => {
    const mgrid = () => mutableThreeOfSix(grid, leaseSecret);

    it("a corrupt MDMF share is overwritten in place with the newest version", async () => {
      const contents = testBytes(120_000, 33);
      const created = await createMutableFile({ ...mgrid(), format: "MDMF", contents });
      const msi = created.storageIndex;
      const holder = await holderOf(msi, 1);
      const path = holder.sharePath(msi, 1);
      const before = parseMutableHeader((await readFile(path)).subarray(MUTABLE_CONTAINER), 1);
      await flipByte(path, MUTABLE_CONTAINER + shareRanges(before).block(0).offset + 40);

      const r = await checkAndRepairMutable(created.writeCap, mgrid(), { leaseSecret, verify: true });
      expect(r.preRepair.corruptShares.map((c) => [c.serverId, c.shareNumber])).toEqual([[holder.id, 1]]);
      expect(r.repairAttempted).toBe(true);
      expect(r.repairSuccessful, r.repairProblem).toBe(true);
      expect(r.postRepair).toMatchObject({ healthy: true, sharesGood: 6, corruptShares: [] });
      // The same server holds share 1, now the republished version.
      expect(r.postRepair.sharemap.get(1)).toContain(holder.id);
      const after = parseMutableHeader((await readFile(path)).subarray(MUTABLE_CONTAINER), 1);
      expect(after.seqnum).toBe(before.seqnum + 1);
      const file = await openMutableFile({ ...mgrid(), cap: created.readCap });
      expect(Buffer.from(await file.readAll()).equals(contents)).toBe(true);
    });

    it("a read-only or verify cap gets Tahoe's 'cannot repair' result, not an error, and nothing is written", async () => {
      const created = await createMutableFile({ ...mgrid(), format: "SDMF", contents: testBytes(9000, 34) });
      const msi = created.storageIndex;
      const holder = await holderOf(msi, 3);
      const path = holder.sharePath(msi, 3);
      const header = parseMutableHeader((await readFile(path)).subarray(MUTABLE_CONTAINER), 3);
      await flipByte(path, MUTABLE_CONTAINER + shareRanges(header).block(0).offset + 10);
      const corruptBytes = await readFile(path);
      for (const cap of [created.readCap, created.verifyCap]) {
        const r = await checkAndRepairMutable(cap, mgrid(), { leaseSecret, verify: true });
        expect(r.preRepair.corruptShares).toHaveLength(1);
        expect(r.repairAttempted).toBe(false);
        expect(r.repairSuccessful).toBe(false);
        expect(r.postRepair).toBe(r.preRepair);
        expect(r.repairProblem).toMatch(/write cap/);
      }
      expect((await readFile(path)).equals(corruptBytes)).toBe(true);
    });
  });
});
