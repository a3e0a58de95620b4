import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { parseMutableCap, parseMutableHeader, shareRanges } from "@lafs/mutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMutableFile,
  createStorageClient,
  isMutableFileError,
  type MutableGridOptions,
  openMutableFile,
  overwriteMutableFile,
  type StorageClient,
  type UploadServer,
  updateMutableFile,
  updateServermap,
} from "../src/index.js";
import { errorOf } from "./helpers.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(7);
const CONTAINER_HEADER = 468;

function grid(servers: UploadServer[]): MutableGridOptions {
  return { servers, leaseSecret, k: 3, happy: 7, n: 10 };
}

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A client that counts the read-test-write calls and write-vector bytes it sends. */
function counting(client: StorageClient) {
  const counts = { rtw: 0, bytes: 0 };
  const wrapped: StorageClient = {
    ...client,
    readTestWrite: (si, secrets, request, call) => {
      counts.rtw++;
      const vectors =
        request.testWriteVectors instanceof Map
          ? [...request.testWriteVectors.values()]
          : Object.values(request.testWriteVectors);
      for (const tw of vectors) for (const w of tw.write ?? []) counts.bytes += w.data.length;
      return client.readTestWrite(si, secrets, request, call);
    },
  };
  return { client: wrapped, counts };
}

async function shareBytes(g: Grid, si: Uint8Array, shnum: number): Promise<Buffer> {
  for (const node of g.nodes) {
    if ((await node.sharesOnDisk(si)).includes(shnum)) {
      const container = await readFile(node.sharePath(si, shnum));
      const length = Number(container.readBigUInt64BE(84));
      return container.subarray(CONTAINER_HEADER, CONTAINER_HEADER + length);
    }
  }
  throw new Error(`share ${shnum} not found`);
}

describe("mutable files: races, corruption, missing servers, in-place updates, read-only caps", () => {
  let g: Grid;
  /** A second set of clients to the same servers: another node writing the same file. */
  let otherClients: StorageClient[];
  beforeAll(async () => {
    g = await startGrid(5);
    otherClients = g.nodes.map((n) => createStorageClient({ nurl: n.nurl }));
  });
  afterAll(async () => {
    for (const c of otherClients) await c.close();
    await g.close();
  });
  const otherServers = () => g.servers().map((s, i) => ({ ...s, client: otherClients[i]! }));

  it.each(["SDMF", "MDMF"] as const)(
    "%s: two clients overwriting from the same servermap: the second gets UNCOORDINATED_WRITE, nothing is lost",
    async (format) => {
      const created = await createMutableFile({ ...grid(g.servers()), format, contents: testBytes(3000, 1) });
      const cap = parseMutableCap(created.writeCap);
      const common = { servers: g.servers(), logger: undefined, queryTimeoutMs: 15_000, forWrite: true };
      const mapA = await updateServermap(cap, { ...common, logger: silent() });
      const mapB = await updateServermap(cap, { ...common, servers: otherServers(), logger: silent() });
      const a = testBytes(4000, 2);
      const b = testBytes(5000, 3);
      const first = await overwriteMutableFile({
        ...grid(g.servers()),
        writeCap: created.writeCap,
        contents: a,
        servermap: mapA,
      });
      expect(first.seqnum).toBe(2);
      const error = await errorOf(
        overwriteMutableFile({
          ...grid(otherServers()),
          writeCap: created.writeCap,
          contents: b,
          servermap: mapB,
        }),
      );
      expect(isMutableFileError(error, "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE"), String(error)).toBe(true);
      expect(error.message).toMatch(/seqnum 2/);
      const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
      expect(file.seqnum).toBe(2);
      expect(sha(await file.readAll())).toBe(sha(a));
    },
  );

  it("two clients overwriting at the same time: every writer that was told success is the one read back", async () => {
    const created = await createMutableFile({
      ...grid(g.servers()),
      format: "MDMF",
      contents: testBytes(1000, 4),
    });
    const contents = [testBytes(300_000, 5), testBytes(300_000, 6)];
    const results = await Promise.allSettled([
      overwriteMutableFile({ ...grid(g.servers()), writeCap: created.writeCap, contents: contents[0]! }),
      overwriteMutableFile({ ...grid(otherServers()), writeCap: created.writeCap, contents: contents[1]! }),
    ]);
    for (const r of results) {
      if (r.status === "rejected") {
        expect(isMutableFileError(r.reason, "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE"), String(r.reason)).toBe(
          true,
        );
      }
    }
    const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
    const back = sha(await file.readAll());
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, seqnum: r.value.seqnum }] : []));
    // Not both can succeed from the same version: a success the other did not see would be lost.
    if (won.length === 2) expect(won[0]!.seqnum).not.toBe(won[1]!.seqnum);
    if (won.length > 0) {
      const last = won.sort((x, y) => y.seqnum - x.seqnum)[0]!;
      expect(back).toBe(sha(contents[last.i]!));
    } else {
      expect([sha(contents[0]!), sha(contents[1]!), sha(testBytes(1000, 4))]).toContain(back);
    }
  });

  it("an update that collides with another writer: SDMF retries on a fresh servermap (Tahoe's modify), MDMF reports it", async () => {
    for (const format of ["SDMF", "MDMF"] as const) {
      const base = testBytes(3000, 30);
      const created = await createMutableFile({ ...grid(g.servers()), format, contents: base });
      const theirs = testBytes(3000, 31);
      let interference: Promise<unknown> | undefined;
      // The other client overwrites the file before any of our share writes goes out.
      const servers = g.servers().map((s) => ({
        ...s,
        client: {
          ...s.client,
          readTestWrite: async (...args: Parameters<StorageClient["readTestWrite"]>) => {
            interference ??= overwriteMutableFile({
              ...grid(otherServers()),
              writeCap: created.writeCap,
              contents: theirs,
            });
            await interference;
            return s.client.readTestWrite(...args);
          },
        },
      }));
      const patch = testBytes(10, 32);
      const attempt = updateMutableFile({
        ...grid(servers),
        writeCap: created.writeCap,
        offset: 100,
        contents: patch,
      });
      const file = async () => openMutableFile({ ...grid(g.servers()), cap: created.readCap });
      if (format === "SDMF") {
        const result = await attempt;
        expect(result.seqnum).toBe(3);
        const expected = Buffer.from(theirs);
        expected.set(patch, 100);
        expect(sha(await (await file()).readAll())).toBe(sha(expected));
      } else {
        const error = await errorOf(attempt);
        expect(isMutableFileError(error, "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE"), String(error)).toBe(true);
        const now = await file();
        expect(now.seqnum).toBe(2);
        expect(sha(await now.readAll())).toBe(sha(theirs));
      }
    }
  });

  it("a reader's servermap stops by Tahoe's MODE_READ rule; a writer's asks every server", async () => {
    const ten = await startGrid(10);
    try {
      const o = { ...grid(ten.servers()), k: 2, n: 3 };
      const created = await createMutableFile({ ...o, format: "SDMF", contents: testBytes(100, 40) });
      for (const forWrite of [false, true]) {
        let lists = 0;
        const servers = ten.servers().map((s) => ({
          ...s,
          client: {
            ...s.client,
            listMutableShares: (...args: Parameters<StorageClient["listMutableShares"]>) => {
              lists++;
              return s.client.listMutableShares(...args);
            },
          },
        }));
        const map = await updateServermap(parseMutableCap(created.writeCap), {
          servers,
          logger: silent(),
          queryTimeoutMs: 15_000,
          forWrite,
          concurrency: 1,
        });
        // Shares 0..2 sit on the first three servers in permuted order; k+EPSILON = 4 answers suffice.
        expect(lists).toBe(forWrite ? 10 : 4);
        expect(map.best?.distinct).toBe(3);
        expect(map.privateKey !== undefined).toBe(forWrite);
      }
    } finally {
      await ten.close();
    }
  });

  it("a cancelled create or read stops with TAHOE_ERR_MUTABLE_ABORTED", async () => {
    const created = await createMutableFile({
      ...grid(g.servers()),
      format: "MDMF",
      contents: testBytes(300_000, 41),
    });
    const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
    const controller = new AbortController();
    const chunks: Uint8Array[] = [];
    const error = await errorOf(
      (async () => {
        for await (const chunk of file.read(undefined, controller.signal)) {
          chunks.push(chunk);
          controller.abort();
        }
      })(),
    );
    expect(isMutableFileError(error, "TAHOE_ERR_MUTABLE_ABORTED"), String(error)).toBe(true);
    expect(chunks.length).toBeLessThan(3);
    const cancelled = await errorOf(
      createMutableFile({
        ...grid(g.servers()),
        signal: AbortSignal.abort(),
        format: "SDMF",
        contents: testBytes(10, 1),
      }),
    );
    expect(isMutableFileError(cancelled, "TAHOE_ERR_MUTABLE_ABORTED"), String(cancelled)).toBe(true);
  });

  it("a corrupt block and a bad signature are routed around, and their servers get advisories", async () => {
    const data = testBytes(131_072 * 2 + 500, 7);
    const created = await createMutableFile({ ...grid(g.servers()), format: "MDMF", contents: data });
    const si = created.storageIndex;
    const before = (await Promise.all(g.nodes.map((n) => n.advisories()))).flat().length;
    // Flip a byte in share 0's second block, and in share 1's signature.
    for (const [shnum, where] of [
      [0, "block"],
      [1, "signature"],
    ] as const) {
      const node = (
        await Promise.all(
          g.nodes.map(async (n) => ((await n.sharesOnDisk(si)).includes(shnum) ? n : undefined)),
        )
      ).find((n) => n !== undefined)!;
      const path = node.sharePath(si, shnum);
      const container = await readFile(path);
      const header = parseMutableHeader(container.subarray(CONTAINER_HEADER), shnum);
      const ranges = shareRanges(header);
      const at = where === "block" ? ranges.block(1).offset + 40 : ranges.signature.offset + 10;
      container[CONTAINER_HEADER + at]! ^= 0x55;
      await writeFile(path, container);
    }
    const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
    expect(sha(await file.readAll())).toBe(sha(data));
    const reports = file.corruptShares();
    expect(reports.map((r) => [r.shareNumber, r.advised])).toEqual([[0, true]]);
    expect(reports[0]!.reason).toMatch(/TAHOE_ERR_MUTABLE_BLOCK_HASH/);
    const after = (await Promise.all(g.nodes.map((n) => n.advisories()))).flat().length;
    // One for share 0's block (retrieve), one for share 1's signature (servermap).
    expect(after - before).toBe(2);
  });

  it("a handle whose file another client overwrote fails with NOT_ENOUGH_SHARES, and blames no server", async () => {
    const created = await createMutableFile({
      ...grid(g.servers()),
      format: "MDMF",
      contents: testBytes(300_000, 42),
    });
    const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
    await overwriteMutableFile({
      ...grid(otherServers()),
      writeCap: created.writeCap,
      contents: testBytes(300_000, 43),
    });
    const before = (await Promise.all(g.nodes.map((n) => n.advisories()))).flat().length;
    const error = await errorOf(file.readAll());
    expect(isMutableFileError(error, "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES"), String(error)).toBe(true);
    expect(error.message).toMatch(/now holds seqnum 2/);
    expect((error as { hint?: string }).hint).toMatch(/open it again/);
    expect(file.corruptShares()).toEqual([]);
    expect((await Promise.all(g.nodes.map((n) => n.advisories()))).flat().length).toBe(before);
    const again = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
    expect(sha(await again.readAll())).toBe(sha(testBytes(300_000, 43)));
  });

  it("a stopped server: create places every share elsewhere, reads and overwrites work without it", async () => {
    const extra = await startGrid(4);
    try {
      const data = testBytes(200_000, 8);
      const created = await createMutableFile({ ...grid(extra.servers()), format: "MDMF", contents: data });
      const victim = extra.nodes.find((n) => n.id === extra.servers()[0]!.id)!;
      await victim.stop();
      // The node still believes it is connected: its calls fail and are routed around.
      const servers = extra.servers(Object.fromEntries([[victim.id, { connected: true }]]));
      const file = await openMutableFile({ ...grid(servers), cap: created.readCap });
      expect(sha(await file.readAll())).toBe(sha(data));
      const next = testBytes(10_000, 9);
      const result = await overwriteMutableFile({
        ...grid(servers),
        writeCap: created.writeCap,
        contents: next,
      });
      expect(result.seqnum).toBe(2);
      const again = await openMutableFile({ ...grid(servers), cap: created.readCap });
      expect(again.seqnum).toBe(2);
      expect(sha(await again.readAll())).toBe(sha(next));
      const fresh = await createMutableFile({ ...grid(servers), format: "SDMF", contents: next });
      const shares = await Promise.all(extra.nodes.map((n) => n.sharesOnDisk(fresh.storageIndex)));
      expect(shares.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(sha(await (await openMutableFile({ ...grid(servers), cap: fresh.readCap })).readAll())).toBe(
        sha(next),
      );
    } finally {
      await extra.close();
    }
  });

  it("an MDMF update with a server gone (some share numbers missing) rewrites the whole file instead", async () => {
    const extra = await startGrid(5);
    try {
      const data = testBytes(131_072 * 3, 50);
      const created = await createMutableFile({ ...grid(extra.servers()), format: "MDMF", contents: data });
      await extra.nodes[0]!.stop();
      const patch = testBytes(500, 51);
      const result = await updateMutableFile({
        ...grid(extra.servers()),
        writeCap: created.writeCap,
        offset: 1000,
        contents: patch,
      });
      expect(result).toEqual({ seqnum: 2, size: data.length, inPlace: false });
      const expected = Buffer.from(data);
      expected.set(patch, 1000);
      const file = await openMutableFile({ ...grid(extra.servers()), cap: created.readCap });
      expect(sha(await file.readAll())).toBe(sha(expected));
      // All ten share numbers of the new version are on the four servers left.
      const shares = await Promise.all(extra.nodes.slice(1).map((n) => n.sharesOnDisk(created.storageIndex)));
      expect([...new Set(shares.flat())].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await extra.close();
    }
  });

  it("no shares anywhere is NOT_ENOUGH_SHARES; too few servers for k is NOT_ENOUGH_SERVERS", async () => {
    const created = await createMutableFile({
      ...grid(g.servers()),
      format: "SDMF",
      contents: testBytes(10, 1),
    });
    const lonely = await startGrid(1);
    try {
      const error = await errorOf(openMutableFile({ ...grid(lonely.servers()), cap: created.readCap }));
      expect(isMutableFileError(error, "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES"), String(error)).toBe(true);
      expect(error.message).toMatch(/no shares found/);
      await lonely.nodes[0]!.stop();
      const servers = lonely.servers(Object.fromEntries([[lonely.nodes[0]!.id, { connected: true }]]));
      const refused = await errorOf(
        createMutableFile({ ...grid(servers), format: "SDMF", contents: testBytes(10, 1) }),
      );
      expect(isMutableFileError(refused, "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SERVERS"), String(refused)).toBe(true);
    } finally {
      await lonely.close();
    }
  });

  it("MDMF update at an offset rewrites only the touched segments", async () => {
    const segments = 10;
    const data = testBytes(131_072 * segments - 100, 10);
    const created = await createMutableFile({ ...grid(g.servers()), format: "MDMF", contents: data });
    const si = created.storageIndex;
    const old = await Promise.all(Array.from({ length: 10 }, (_, s) => shareBytes(g, si, s)));
    const header = parseMutableHeader(old[0]!, 0);
    const ranges = shareRanges(header);
    const spies = g.nodes.map((n) => counting(n.client));
    const servers = g.servers().map((s, i) => ({ ...s, client: spies[i]!.client }));
    const patch = testBytes(1000, 11);
    const offset = 131_072 * 4 + 500; // inside segment 4
    const result = await updateMutableFile({
      ...grid(servers),
      writeCap: created.writeCap,
      offset,
      contents: patch,
    });
    expect(result).toEqual({ seqnum: 2, size: data.length, inPlace: true });
    const expected = Buffer.from(data);
    expected.set(patch, offset);
    const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
    expect(file.seqnum).toBe(2);
    expect(sha(await file.readAll())).toBe(sha(expected));
    // Untouched segments' salt‖block bytes are the old ones on every share; segment 4's are new.
    for (let shnum = 0; shnum < 10; shnum++) {
      const now = await shareBytes(g, si, shnum);
      for (let s = 0; s < segments; s++) {
        const r = ranges.block(s);
        const same = now
          .subarray(r.offset, r.offset + r.length)
          .equals(old[shnum]!.subarray(r.offset, r.offset + r.length));
        expect(same, `share ${shnum} segment ${s}`).toBe(s !== 4);
      }
    }
    // Bytes written: one block per share plus the trees, chain, key, signature and header, far below a share.
    const written = spies.reduce((sum, s) => sum + s.counts.bytes, 0);
    const shareSize = old[0]!.length;
    const oneBlock = ranges.block(4).length;
    expect(written).toBeLessThan(10 * (oneBlock + 4000));
    expect(written).toBeLessThan((10 * shareSize) / 5);
    expect(spies.reduce((sum, s) => sum + s.counts.rtw, 0)).toBe(10);
  });

  it("MDMF update that appends past the end, and an SDMF update (whole rewrite)", async () => {
    const mdmf = await createMutableFile({
      ...grid(g.servers()),
      format: "MDMF",
      contents: testBytes(131_072 + 10, 12),
    });
    const tail = testBytes(200_000, 13);
    const grown = await updateMutableFile({
      ...grid(g.servers()),
      writeCap: mdmf.writeCap,
      offset: 131_072 + 10,
      contents: tail,
    });
    expect(grown).toEqual({ seqnum: 2, size: 131_072 + 10 + 200_000, inPlace: true });
    const back = await (await openMutableFile({ ...grid(g.servers()), cap: mdmf.readCap })).readAll();
    expect(sha(back)).toBe(sha(Buffer.concat([testBytes(131_072 + 10, 12), tail])));

    const sdmf = await createMutableFile({
      ...grid(g.servers()),
      format: "SDMF",
      contents: testBytes(5000, 14),
    });
    const r = await updateMutableFile({
      ...grid(g.servers()),
      writeCap: sdmf.writeCap,
      offset: 4990,
      contents: testBytes(20, 15),
    });
    expect(r).toEqual({ seqnum: 2, size: 5010, inPlace: false });
    const expected = Buffer.concat([testBytes(5000, 14).subarray(0, 4990), testBytes(20, 15)]);
    expect(sha(await (await openMutableFile({ ...grid(g.servers()), cap: sdmf.readCap })).readAll())).toBe(
      sha(expected),
    );
    const past = await errorOf(
      updateMutableFile({
        ...grid(g.servers()),
        writeCap: sdmf.writeCap,
        offset: 6000,
        contents: testBytes(1, 1),
      }),
    );
    expect(isMutableFileError(past, "TAHOE_ERR_MUTABLE_ARGUMENT"), String(past)).toBe(true);
  });

  it("read-only and verify caps refuse writes before anything is sent; oversized contents are refused", async () => {
    const created = await createMutableFile({
      ...grid(g.servers()),
      format: "MDMF",
      contents: testBytes(100, 16),
    });
    const spies = g.nodes.map((n) => counting(n.client));
    const servers = g.servers().map((s, i) => ({ ...s, client: spies[i]!.client }));
    for (const cap of [created.readCap, created.verifyCap]) {
      const o = await errorOf(
        overwriteMutableFile({ ...grid(servers), writeCap: cap, contents: testBytes(5, 1) }),
      );
      expect(isMutableFileError(o, "TAHOE_ERR_MUTABLE_READ_ONLY_CAP"), String(o)).toBe(true);
      const u = await errorOf(
        updateMutableFile({ ...grid(servers), writeCap: cap, offset: 0, contents: testBytes(5, 1) }),
      );
      expect(isMutableFileError(u, "TAHOE_ERR_MUTABLE_READ_ONLY_CAP"), String(u)).toBe(true);
    }
    expect(spies.reduce((sum, s) => sum + s.counts.rtw, 0)).toBe(0);
    const big = await errorOf(
      createMutableFile({ ...grid(servers), format: "MDMF", contents: testBytes(2000, 1), maxSize: 1000 }),
    );
    expect(isMutableFileError(big, "TAHOE_ERR_MUTABLE_TOO_LARGE"), String(big)).toBe(true);
    const verify = await errorOf(openMutableFile({ ...grid(servers), cap: created.verifyCap }));
    expect((verify as { code?: string }).code).toBe("TAHOE_ERR_MUTABLE_CAP");
  });
});

function silent() {
  const noop = () => {};
  const logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    fatal: noop,
    child: () => logger,
  };
  return logger;
}
