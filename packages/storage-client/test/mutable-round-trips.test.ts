import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMutableFile,
  type MutableGridOptions,
  openMutableFile,
  overwriteMutableFile,
  type StorageClient,
  type UploadServer,
} from "../src/index.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(5);

/** The servers, each client recording its mutable reads, and how many were in flight at most. */
function recording(servers: UploadServer[]) {
  const reads: { offset: number; length: number }[] = [];
  const lists: number[] = [];
  let inFlight = 0;
  const seen = { maxInFlight: 0 };
  const wrapped = servers.map((s): UploadServer => {
    const client: StorageClient = {
      ...s.client,
      readMutable: async (si, shnum, offset, length, call) => {
        reads.push({ offset, length });
        seen.maxInFlight = Math.max(seen.maxInFlight, ++inFlight);
        try {
          return await s.client.readMutable(si, shnum, offset, length, call);
        } finally {
          inFlight--;
        }
      },
      listMutableShares: async (si, call) => {
        lists.push(1);
        return s.client.listMutableShares(si, call);
      },
    };
    return { ...s, client };
  });
  return { servers: wrapped, reads, lists, seen };
}

describe("round trips of mutable files, on 5 real storage servers (3-of-10)", () => {
  let g: Grid;
  const grid = (servers: UploadServer[]): MutableGridOptions => ({
    servers,
    leaseSecret,
    k: 3,
    happy: 7,
    n: 10,
  });
  beforeAll(async () => {
    g = await startGrid(5);
  });
  afterAll(() => g.close());

  it.each(["SDMF", "MDMF"] as const)(
    "%s: a small file is read from what the servermap read, with no request more",
    async (format) => {
      const data = testBytes(1500, 1);
      const { writeCap } = await createMutableFile({ ...grid(g.servers()), format, contents: data });
      const r = recording(g.servers());
      const file = await openMutableFile({ ...grid(r.servers), cap: writeCap });
      const afterServermap = r.reads.length;
      expect(Buffer.from(await file.readAll()).equals(data)).toBe(true);
      expect(r.reads.length).toBe(afterServermap);
    },
  );

  it("a larger SDMF file: one request per share for its hashes and blocks, the k shares at once", async () => {
    const data = testBytes(60_000, 2);
    const { writeCap } = await createMutableFile({ ...grid(g.servers()), format: "SDMF", contents: data });
    const r = recording(g.servers());
    const file = await openMutableFile({ ...grid(r.servers), cap: writeCap });
    const afterServermap = r.reads.length;
    r.seen.maxInFlight = 0;
    expect(Buffer.from(await file.readAll()).equals(data)).toBe(true);
    expect(r.reads.length - afterServermap).toBe(3);
    expect(r.seen.maxInFlight).toBe(3);
  });

  it("creates take keys made ahead, and never the same key twice, one after another or at once", async () => {
    const one = async () =>
      (await createMutableFile({ ...grid(g.servers()), format: "SDMF", contents: testBytes(10, 9) }))
        .writeCap;
    const caps = [await one(), await one(), ...(await Promise.all([one(), one(), one()])), await one()];
    expect(new Set(caps).size).toBe(caps.length);
  });

  it("an overwrite of a small file takes the signing key from the heads the servermap read", async () => {
    const { writeCap } = await createMutableFile({
      ...grid(g.servers()),
      format: "SDMF",
      contents: testBytes(800, 3),
    });
    const r = recording(g.servers());
    const next = testBytes(900, 4);
    await overwriteMutableFile({ ...grid(r.servers), writeCap, contents: next });
    // Only the servermap's reads of each share's head: none for the key.
    expect(r.reads.every((read) => read.offset === 0)).toBe(true);
    const file = await openMutableFile({ ...grid(g.servers()), cap: writeCap });
    expect(Buffer.from(await file.readAll()).equals(next)).toBe(true);
  });
});
