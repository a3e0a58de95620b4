import { rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { type Grid, tahoe, tahoeOk } from "../support/local-grid.js";
import { shareFiles as shareFilesOn, useFiveServerGrid } from "./five-servers.js";

/**
 * `tahoe deep-check` and `POST DIRCAP?t=stream-deep-check` / `t=check` on a directory, on a grid
 * of real `tahoe run` processes (five storage servers, k/happy/N = 3/4/5). The tree: an SDMF
 * root holding a CHK file, a LIT file and an MDMF subdirectory linked twice; the subdirectory
 * holds a CHK file that loses a share on disk.
 */

let grid: Grid;
useFiveServerGrid((started) => {
  grid = started;
});

const deepCheck = async (...args: string[]) =>
  (await tahoeOk(["-d", grid.dirs.client!, "deep-check", ...args])).toString();

async function web(method: string, path: string, body?: Uint8Array): Promise<string> {
  const res = await fetch(new URL(path, grid.nodeUrl), { method, ...(body ? { body } : {}) });
  const text = await res.text();
  expect([200, 201], text).toContain(res.status);
  return text.trim();
}

/** The paths of every share file of `si`. */
const shareFiles = async (si: string) => (await shareFilesOn(grid, si)).map((f) => f.path);

describe("tahoe deep-check on a grid of real processes", { timeout: 90_000 }, () => {
  let root: string;
  let badSi: string;

  it("t=check on a directory checks its backing file; stream-deep-check walks each node once", async () => {
    root = await web("POST", "uri?t=mkdir");
    const r = encodeURIComponent(root);
    await web("PUT", `uri/${r}/a.bin`, Buffer.alloc(60_000, 1));
    await web("PUT", `uri/${r}/small`, Buffer.from("tiny"));
    const sub = await web("POST", `uri/${r}?t=mkdir&name=sub&format=MDMF`);
    await web("POST", `uri/${r}?t=uri&name=twice&uri=${encodeURIComponent(sub)}`);
    const bad = await web("PUT", `uri/${r}/sub/b.bin`, Buffer.alloc(70_000, 2));

    const dirCheck = JSON.parse(await web("POST", `uri/${r}?t=check&output=JSON`));
    expect(dirCheck.summary).toBe("Healthy");
    expect(dirCheck.results).toMatchObject({ healthy: true, "count-shares-good": 5 });
    expect(dirCheck["storage-index"]).toMatch(/^[a-z2-7]{26}$/);

    badSi = JSON.parse(await web("POST", `uri/${encodeURIComponent(bad)}?t=check&output=JSON`))[
      "storage-index"
    ];
    const [victim] = await shareFiles(badSi);
    await rm(victim!);

    const units = (await web("POST", `uri/${r}?t=stream-deep-check`)).split("\n").map((l) => JSON.parse(l));
    expect(units.map((u) => `${u.type} ${(u.path ?? []).join("/")}`)).toEqual([
      "directory ",
      "file a.bin",
      "file small",
      "directory sub",
      "file sub/b.bin",
      "stats ",
    ]);
    const unhealthy = units.filter((u) => u["check-results"] && !u["check-results"].results.healthy);
    expect(unhealthy.map((u) => u.path)).toEqual([["sub", "b.bin"]]);
    expect(unhealthy[0]["storage-index"]).toBe(badSi);
    expect(unhealthy[0]["check-results"].results["count-shares-good"]).toBe(4);
    expect(units[0]["storage-index"]).toBe(dirCheck["storage-index"]);
    expect(units.at(-1).stats).toMatchObject({ "count-directories": 2, "count-files": 3 });
  });

  it("tahoe deep-check reports the unhealthy file; --repair fixes it; then all is healthy", async () => {
    expect(await deepCheck(root)).toBe("done: 5 objects checked, 4 healthy, 1 unhealthy\n");
    const verbose = await deepCheck("-v", root);
    expect(verbose).toContain("'<root>': Healthy\n");
    expect(verbose).toContain("'small': Healthy (LIT)\n");
    expect(verbose).toContain("'sub/b.bin': Not Healthy: 4 shares (enc 3-of-5)\n");

    expect(await deepCheck("--repair", "--add-lease", root)).toBe(
      " repair successful\n" +
        "done: 5 objects checked\n" +
        " pre-repair: 4 healthy, 1 unhealthy\n" +
        " 1 repairs attempted, 1 successful, 0 failed\n" +
        " post-repair: 5 healthy, 0 unhealthy\n",
    );
    expect(await shareFiles(badSi)).toHaveLength(5);
    expect(await deepCheck("--verify", root)).toBe("done: 5 objects checked, 5 healthy, 0 unhealthy\n");
  });

  it("a linked directory nobody can read ends the stream with Tahoe's ERROR: line; the CLI exits 1", async () => {
    const top = await web("POST", "uri?t=mkdir");
    // Four checks run at once: after five objects the first line has gone out with status 200.
    for (const name of ["a1", "a2", "a3", "a4"])
      await web("PUT", `uri/${encodeURIComponent(top)}/${name}`, Buffer.from(name));
    const ghost = `URI:DIR2:${"q".repeat(26)}:${"a".repeat(52)}`;
    await web("POST", `uri/${encodeURIComponent(top)}?t=uri&name=ghost&uri=${encodeURIComponent(ghost)}`);
    const lines = (await web("POST", `uri/${encodeURIComponent(top)}?t=stream-deep-check`)).split("\n");
    expect(JSON.parse(lines[0]!).type).toBe("directory");
    expect(lines.at(-1)).toMatch(/^ERROR: \S+\(.+\)$/);
    const run = await tahoe(["-d", grid.dirs.client!, "deep-check", top]);
    expect(run.code).toBe(1);
    expect(run.stderr.toString()).toContain("ERROR: ");
    expect(run.stdout.toString()).not.toContain("done:");
  });
});

describe("slow operations and ALIAS: paths on a grid of real processes", { timeout: 120_000 }, () => {
  const cli = async (...args: string[]) => (await tahoeOk(["-d", grid.dirs.client!, ...args])).toString();
  let badSi: string;

  // biome-ignore lint/suspicious/noExplicitAny: Tahoe's JSON, checked field by field below
  async function operation(dirUrl: string, query: string): Promise<Record<string, any>> {
    const handle = `op${Math.random().toString(36).slice(2)}`;
    const res = await fetch(new URL(`${dirUrl}?${query}&ophandle=${handle}`, grid.nodeUrl), {
      method: "POST",
      redirect: "manual",
    });
    expect(res.status, await res.text()).toBe(302);
    expect(res.headers.get("location")).toBe(`/operations/${handle}?output=JSON`);
    for (;;) {
      const data = JSON.parse(await web("GET", `operations/${handle}?output=JSON`));
      if (data.finished) return { ...data, handle };
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it("t=start-deep-check and its repair form count as Tahoe's; tahoe stats sums the tree", async () => {
    await cli("create-alias", "work");
    await tahoeOk(["-d", grid.dirs.client!, "put", "-", "work:one.bin"], Buffer.alloc(5000, 3));
    const twoCap = (
      await tahoeOk(["-d", grid.dirs.client!, "put", "-", "work:deep/two.bin"], Buffer.alloc(2_000_000, 4))
    )
      .toString()
      .trim();
    await tahoeOk(["-d", grid.dirs.client!, "put", "-", "work:deep/lit.txt"], Buffer.from("literal"));
    badSi = JSON.parse(await cli("check", "--raw", twoCap))["storage-index"];
    await rm((await shareFiles(badSi))[0]!);
    const rootCap = (await cli("list-aliases")).match(/work: (URI:DIR2:\S+)/)![1]!;
    const dirUrl = `uri/${encodeURIComponent(rootCap)}`;

    const checked = await operation(dirUrl, "t=start-deep-check&output=JSON");
    expect(checked).toMatchObject({
      finished: true,
      "count-objects-checked": 4, // two directories and two CHK files; the LIT file is not checked
      "count-objects-healthy": 3,
      "count-objects-unhealthy": 1,
      "count-objects-unrecoverable": 0,
      "count-corrupt-shares": 0,
      "list-corrupt-shares": [],
    });
    expect(checked["root-storage-index"]).toMatch(/^[a-z2-7]{26}$/);
    expect(checked["list-unhealthy-files"].map(([p]: [string[]]) => p)).toEqual([["deep", "two.bin"]]);
    expect(checked.stats).toMatchObject({
      "count-files": 3,
      "count-directories": 2,
      "count-literal-files": 1,
    });

    const repaired = await operation(dirUrl, "t=start-deep-check&repair=true&add-lease=true&output=JSON");
    expect(repaired).toMatchObject({
      "count-objects-checked": 4,
      "count-objects-healthy-pre-repair": 3,
      "count-objects-unhealthy-pre-repair": 1,
      "count-objects-healthy-post-repair": 4,
      "count-objects-unhealthy-post-repair": 0,
      "count-repairs-attempted": 1,
      "count-repairs-successful": 1,
      "count-repairs-unsuccessful": 0,
      "list-remaining-corrupt-shares": [],
    });
    expect(await shareFiles(badSi)).toHaveLength(5);
    const page = await fetch(new URL(`operations/${repaired.handle}`, grid.nodeUrl));
    const html = await page.text();
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(html).toContain("Deep-Check-And-Repair Results for root SI=");
    expect(html).toContain("<li>Repairs Successful: 1</li>");
    expect(html).toContain("deep/two.bin");

    const stats = JSON.parse(await cli("stats", "--raw", "work:"));
    expect(stats).toMatchObject({
      finished: true,
      "count-immutable-files": 2,
      "count-literal-files": 1,
      "count-files": 3,
      "count-directories": 2,
      "size-immutable-files": 2_005_000,
      "size-literal-files": 7,
      "largest-immutable-file": 2_000_000,
      "largest-directory-children": 2,
      "size-files-histogram": [
        [4, 10, 1],
        [3163, 10000, 1],
        [1000001, 3162277, 1],
      ],
    });
    // The packed directories: each entry holds caps, metadata and a MAC, so well over 100 bytes.
    expect(stats["size-directories"]).toBeGreaterThan(200);
    expect(stats["largest-directory"]).toBeLessThan(stats["size-directories"]);
    const table = await cli("stats", "work:");
    expect(table).toContain("Counts and Total Sizes:\n count-immutable-files: 2\n");
    expect(table).toContain("  size-immutable-files: 2005000    (2.00 MB, 1.91 MiB)\n");
    expect(table).toMatch(/Size Histogram:\n {6}4-10 {6}: 1 {4}\(10 B, 10 B\)\n/);
  });

  it("tahoe check and deep-check take ALIAS:PATH, ALIAS: and a bare cap; manifest -s lists storage indexes", async () => {
    expect(await cli("check", "work:deep/two.bin")).toContain(`Summary: Healthy\n storage index: ${badSi}\n`);
    const dir = await cli("check", "work:");
    expect(dir).toMatch(/^Summary: Healthy\n storage index: [a-z2-7]{26}\n good-shares: 5 /);
    expect(await cli("check", "work:deep/lit.txt")).toBe("Summary: Healthy (LIT)\n storage index: \n");
    const rootCap = (await cli("list-aliases")).match(/work: (URI:DIR2:\S+)/)![1]!;
    expect(await cli("check", `${rootCap}/deep`)).toContain("Summary: Healthy\n");
    expect(await cli("deep-check", "work:")).toBe("done: 5 objects checked, 5 healthy, 0 unhealthy\n");
    expect(await cli("deep-check", "work:deep")).toBe("done: 3 objects checked, 3 healthy, 0 unhealthy\n");
    const unknown = await tahoe(["-d", grid.dirs.client!, "check", "nosuch:x"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown alias 'nosuch'");
    const sis = (await cli("manifest", "-s", "work:")).trim().split("\n");
    expect(sis).toHaveLength(4); // the LIT file has none
    expect(sis).toContain(badSi);
    const verifycaps = (await cli("manifest", "--verify-cap", "work:")).trim().split("\n");
    expect(verifycaps.every((v) => /^URI:(DIR2-Verifier|CHK-Verifier):/.test(v))).toBe(true);
  });
});
