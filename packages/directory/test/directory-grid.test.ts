import { generateMutableKeyPair, writekeyOf } from "@lafs/mutable";
import { createMutableFile, openMutableFile } from "@lafs/storage-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDirectory,
  createImmutableDirectory,
  type DirectoryGridOptions,
  type DirectoryHandle,
  directoryCapOfFileCap,
  isDirectoryError,
  openDirectory,
  packDirectory,
  parseDirectoryCap,
  resolvePath,
} from "../src/index.js";
import { startTestGrid, type TestGrid } from "./grid.js";

const CHK =
  "URI:CHK:bircf5g5zyuos37zp6mrtfor24:wymlsfnbkhcdxruagriarsiosgkxomzc6dunwzajcscwtonphnyq:2:4:1024";
const LIT = "URI:LIT:nbswy3dpfqqgy2lumvzgc3bao5xxe3debi";
const SSK = "URI:SSK:l43byqsidupuz4k4kzskysj4hy:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";
const SSK_RO = "URI:SSK-RO:eiy4irl2ob7oa4fssqhzmj4pam:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("directories on 5 real storage servers", () => {
  let grid: TestGrid;
  let o: DirectoryGridOptions;
  beforeAll(async () => {
    grid = await startTestGrid(5);
    o = {
      servers: grid.servers,
      leaseSecret: new Uint8Array(32).fill(3),
      k: 3,
      happy: 4,
      n: 5,
      convergenceSecret: new Uint8Array(32).fill(9),
      retryDelayMs: 50,
      maxAttempts: 12,
    };
  });
  afterAll(() => grid?.close());

  it.each(["SDMF", "MDMF"] as const)("%s: create, set, list, get, rename, delete", async (format) => {
    const made = await createDirectory({ ...o, format });
    expect(made.writeCap.startsWith(format === "SDMF" ? "URI:DIR2:" : "URI:DIR2-MDMF:")).toBe(true);
    const dir = await openDirectory({ ...o, cap: made.writeCap });
    expect(dir.writable).toBe(true);
    expect(dir.readCap).toBe(made.readCap);
    expect(dir.verifyCap).toBe(made.verifyCap);
    expect(await dir.list()).toEqual([]);

    await dir.set("file.txt", { readCap: CHK });
    await dir.set("notes", { writeCap: SSK });
    await dir.set("Cafe\u0301", { readCap: LIT, metadata: { custom: "x" } });
    const listed = await dir.list();
    expect(listed.map((e) => e.name)).toEqual(["Café", "file.txt", "notes"]);
    const notes = listed.find((e) => e.name === "notes")!;
    expect(notes).toMatchObject({ writeCap: SSK, readCap: SSK_RO, kind: "filenode", mutable: true });
    const cafe = (await dir.get("Café"))!;
    expect(cafe.metadata.custom).toBe("x");
    const tahoe = cafe.metadata.tahoe as { linkcrtime: number; linkmotime: number };
    expect(tahoe.linkcrtime).toBe(tahoe.linkmotime);

    // A read-only holder sees read caps only, and cannot edit.
    const ro = await openDirectory({ ...o, cap: made.readCap });
    expect(ro.writable).toBe(false);
    expect((await ro.get("notes"))?.writeCap).toBeUndefined();
    expect((await ro.get("notes"))?.readCap).toBe(SSK_RO);
    const refused = await errorOf(ro.set("x", { readCap: CHK }));
    expect(isDirectoryError(refused, "TAHOE_ERR_DIRECTORY_READ_ONLY")).toBe(true);

    // replace=false refuses an existing name; "only-files" refuses to replace a directory.
    expect(
      isDirectoryError(
        await errorOf(dir.set("file.txt", { readCap: LIT }, { replace: false })),
        "TAHOE_ERR_DIRECTORY_EXISTS",
      ),
    ).toBe(true);
    await dir.set("sub", { writeCap: made.writeCap });
    expect(
      isDirectoryError(
        await errorOf(dir.set("sub", { readCap: LIT }, { replace: "only-files" })),
        "TAHOE_ERR_DIRECTORY_EXISTS",
      ),
    ).toBe(true);
    await dir.set("file.txt", { readCap: LIT }, { replace: "only-files" });
    // A replaced child keeps its linkcrtime.
    const before = (await dir.get("notes"))!.metadata.tahoe as { linkcrtime: number };
    await dir.set("notes", { writeCap: SSK });
    const after = (await dir.get("notes"))!.metadata.tahoe as { linkcrtime: number; linkmotime: number };
    expect(after.linkcrtime).toBe(before.linkcrtime);
    expect(after.linkmotime).toBeGreaterThanOrEqual(before.linkcrtime);

    await dir.rename("file.txt", "renamed.txt");
    expect((await dir.list()).map((e) => e.name)).toEqual(["Café", "notes", "renamed.txt", "sub"]);
    expect((await dir.get("renamed.txt"))?.readCap).toBe(LIT);
    const removed = await dir.delete("renamed.txt");
    expect(removed.readCap).toBe(LIT);
    expect(
      isDirectoryError(await errorOf(dir.delete("renamed.txt")), "TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD"),
    ).toBe(true);
    expect((await dir.list()).map((e) => e.name)).toEqual(["Café", "notes", "sub"]);
  });

  it("an edit reads the directory from the servermap it publishes against: one servermap update", async () => {
    const made = await createDirectory({ ...o, format: "SDMF" });
    let lists = 0;
    const servers = grid.servers.map((s) => ({
      ...s,
      client: {
        ...s.client,
        listMutableShares: (...args: Parameters<typeof s.client.listMutableShares>) => {
          lists++;
          return s.client.listMutableShares(...args);
        },
      },
    }));
    const dir = await openDirectory({ ...o, servers, cap: made.writeCap });
    lists = 0;
    await dir.set("a", { readCap: LIT });
    // A writer's servermap asks every server once; the read of the version it found asks none.
    expect(lists).toBe(grid.servers.length);
    expect((await dir.list()).map((e) => e.name)).toEqual(["a"]);
  });

  it("refuses empty names and names with a slash, with Tahoe's words", async () => {
    const made = await createDirectory(o);
    const dir = await openDirectory({ ...o, cap: made.writeCap });
    const empty = await errorOf(dir.set("", { readCap: CHK }));
    expect(isDirectoryError(empty, "TAHOE_ERR_DIRECTORY_BAD_NAME")).toBe(true);
    expect((empty as Error).message).toContain("may not be empty");
    const slash = await errorOf(dir.set("a/b", { readCap: CHK }));
    expect(isDirectoryError(slash, "TAHOE_ERR_DIRECTORY_BAD_NAME")).toBe(true);
    expect((slash as Error).message).toContain("may not contain a slash");
    expect(await dir.list()).toEqual([]);
    // A write cap in the read-only slot is refused (Tahoe's MustBeReadonlyError)...
    const rwAsRo = await errorOf(dir.set("x", { readCap: SSK }));
    expect(isDirectoryError(rwAsRo, "TAHOE_ERR_DIRECTORY_BAD_CHILD")).toBe(true);
    // ...and a read cap given as the write cap is just a read cap, as set_uri makes it.
    await dir.set("chk", { writeCap: CHK });
    const chk = (await dir.get("chk"))!;
    expect([chk.writeCap, chk.readCap, chk.kind, chk.mutable]).toEqual([undefined, CHK, "filenode", false]);
  });

  it("moves a child to another directory, and creates a directory with children", async () => {
    const a = await createDirectory({
      ...o,
      children: [{ name: "kid", readCap: CHK, metadata: { given: 1 }, kind: "filenode" }],
    });
    const b = await createDirectory(o);
    const da = await openDirectory({ ...o, cap: a.writeCap });
    // Children given at creation keep exactly their metadata.
    expect((await da.get("kid"))?.metadata).toEqual({ given: 1 });
    const db = await openDirectory({ ...o, cap: b.writeCap });
    await da.rename("kid", "moved", { toDirectory: db });
    expect(await da.list()).toEqual([]);
    expect((await db.get("moved"))?.readCap).toBe(CHK);
  });

  it("two clients editing one directory at once both keep every entry", async () => {
    const made = await createDirectory(o);
    const one = await openDirectory({ ...o, cap: made.writeCap });
    const two = await openDirectory({ ...o, cap: made.writeCap });
    const names = (who: string) => Array.from({ length: 4 }, (_, i) => `${who}-${i}`);
    const edits = async (dir: DirectoryHandle, who: string) => {
      for (const name of names(who)) await dir.set(name, { readCap: CHK });
    };
    await Promise.all([edits(one, "one"), edits(two, "two")]);
    const listed = (await one.list()).map((e) => e.name);
    expect(listed).toEqual([...names("one"), ...names("two")].sort());
  });

  it("immutable directories: DIR2-CHK when large, DIR2-LIT when small, children must be immutable", async () => {
    const empty = await createImmutableDirectory({ ...o, children: [] });
    expect(empty.cap).toBe("URI:DIR2-LIT:");
    expect(await (await openDirectory({ ...o, cap: empty.cap })).list()).toEqual([]);

    const kids = [
      { name: "file.txt", readCap: CHK, metadata: {}, kind: "filenode" as const },
      { name: "lit.txt", readCap: LIT, metadata: { mtime: 5 }, kind: "filenode" as const },
      { name: "empty", readCap: "URI:DIR2-LIT:", metadata: {}, kind: "dirnode" as const },
    ];
    const made = await createImmutableDirectory({ ...o, children: kids });
    expect(made.cap.startsWith("URI:DIR2-CHK:")).toBe(true);
    expect(made.verifyCap?.startsWith("URI:DIR2-CHK-Verifier:")).toBe(true);
    // The convergence secret makes the same directory the same cap.
    expect((await createImmutableDirectory({ ...o, children: kids })).cap).toBe(made.cap);
    const dir = await openDirectory({ ...o, cap: made.cap });
    expect(dir.format).toBe("CHK");
    expect(dir.writable).toBe(false);
    const listed = await dir.list();
    expect(listed.map((e) => [e.name, e.readCap, e.kind, e.mutable])).toEqual([
      ["empty", "URI:DIR2-LIT:", "dirnode", false],
      ["file.txt", CHK, "filenode", false],
      ["lit.txt", LIT, "filenode", false],
    ]);
    expect(isDirectoryError(await errorOf(dir.delete("empty")), "TAHOE_ERR_DIRECTORY_READ_ONLY")).toBe(true);

    const small = await createImmutableDirectory({
      ...o,
      children: [{ name: "e", readCap: "URI:DIR2-LIT:", metadata: {}, kind: "dirnode" }],
    });
    expect(parseDirectoryCap(small.cap).kind).toBe("DIR2-LIT");
    expect((await (await openDirectory({ ...o, cap: small.cap })).list()).map((e) => e.name)).toEqual(["e"]);

    const refused = await errorOf(
      createImmutableDirectory({
        ...o,
        children: [{ name: "m", readCap: SSK_RO, metadata: {}, kind: "filenode" }],
      }),
    );
    expect(isDirectoryError(refused, "TAHOE_ERR_DIRECTORY_NOT_DEEP_IMMUTABLE")).toBe(true);
    expect((refused as Error).message).toContain('"m"');
  });

  it("resolvePath walks subdirectories and names what is missing", async () => {
    const leaf = await createDirectory({
      ...o,
      children: [{ name: "f", readCap: LIT, metadata: {}, kind: "filenode" }],
    });
    const mid = await createDirectory({
      ...o,
      children: [{ name: "leaf", writeCap: leaf.writeCap, metadata: {}, kind: "dirnode" }],
    });
    const root = await createDirectory({
      ...o,
      children: [{ name: "mid", writeCap: mid.writeCap, metadata: {}, kind: "dirnode" }],
    });
    const found = await resolvePath({ ...o, rootCap: root.writeCap, path: ["mid", "leaf", "f"] });
    expect(found.entry.readCap).toBe(LIT);
    expect(found.parent?.cap).toBe(leaf.writeCap);
    const dir = await resolvePath({ ...o, rootCap: root.writeCap, path: ["mid", "leaf"] });
    expect(dir.directory?.writable).toBe(true);
    const missing = await errorOf(resolvePath({ ...o, rootCap: root.writeCap, path: ["mid", "nope", "f"] }));
    expect(isDirectoryError(missing, "TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD")).toBe(true);
    expect((missing as Error).message).toContain("mid/nope");
    const notDir = await errorOf(
      resolvePath({ ...o, rootCap: root.writeCap, path: ["mid", "leaf", "f", "x"] }),
    );
    expect(isDirectoryError(notDir, "TAHOE_ERR_DIRECTORY_NOT_A_DIRECTORY")).toBe(true);
  });

  it("an edit keeps a damaged entry and an unknown cap byte for byte, and the damaged entry can be deleted", async () => {
    const keys = generateMutableKeyPair();
    const writekey = writekeyOf(keys.privateKeyDer);
    const future = "x-tahoe-future-cap:abc123";
    const packed = Buffer.from(
      packDirectory(
        [
          { name: "damaged", writeCap: SSK, metadata: {}, kind: "filenode" },
          { name: "future", writeCap: future, readCap: "x-future-ro:1", metadata: { k: 1 }, kind: "unknown" },
          { name: "ok", readCap: CHK, metadata: {}, kind: "filenode" },
        ],
        writekey,
      ),
    );
    // Damage the MAC of "damaged" (its rwcapdata ends 11 bytes before its entry's end: ",2:{},,").
    const end = packed.indexOf(Buffer.from("2:{},,")) - 1;
    packed[end - 3]! ^= 0x55;
    const damagedEntry = packed.subarray(0, packed.indexOf(Buffer.from("2:{},,")) + 6);
    const futureStart = packed.indexOf(Buffer.from("6:future,")) - 4;
    const futureEntry = packed.subarray(futureStart, packed.indexOf(Buffer.from("ok,")) - 6);
    const file = await createMutableFile({
      ...o,
      format: "SDMF",
      contents: packed,
      privateKey: keys.privateKeyDer,
    });
    const cap = directoryCapOfFileCap(file.writeCap);
    const dir = await openDirectory({ ...o, cap });
    const before = await dir.read();
    expect(before.entries.map((e) => e.name)).toEqual(["future", "ok"]);
    expect(before.problems.map((p) => [p.name, p.error.code])).toEqual([
      ["damaged", "TAHOE_ERR_DIRECTORY_MALFORMED"],
    ]);
    expect(before.problems[0]!.error.message).toContain(cap.slice(0, 30));

    await dir.set("new", { readCap: LIT });
    const after = Buffer.from(await (await openMutableFile({ ...o, cap: file.readCap })).readAll());
    expect(after.includes(damagedEntry)).toBe(true);
    expect(after.includes(futureEntry)).toBe(true);
    expect((await dir.list()).map((e) => e.name)).toEqual(["future", "new", "ok"]);
    expect((await dir.get("future"))?.writeCap).toBe(future);

    await dir.delete("damaged");
    expect((await dir.read()).problems).toEqual([]);
  });
});
