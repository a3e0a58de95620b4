import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoe, tahoeOk } from "../support/local-grid.js";

/**
 * `tahoe deep-check` and `POST DIRCAP?t=stream-deep-check` / `t=check` on a directory, on a grid
 * of real `tahoe run` processes (five storage servers, k/happy/N = 3/4/5). The tree: an SDMF
 * root holding a CHK file, a LIT file and an MDMF subdirectory linked twice; the subdirectory
 * holds a CHK file that loses a share on disk.
 */

const STORAGE = ["s1", "s2", "s3", "s4", "s5"];
let grid: Grid;

beforeAll(async () => {
  grid = await startGrid({ storage: STORAGE, k: 3, happy: 4, n: 5 });
  await grid.waitForServers(
    (list) => list.filter((s) => s.connection.state === "connected").length === 5,
    "5 servers",
  );
}, 60_000);

afterAll(async () => {
  await grid?.close();
});

const deepCheck = async (...args: string[]) =>
  (await tahoeOk(["-d", grid.dirs.client!, "deep-check", ...args])).toString();

async function web(method: string, path: string, body?: Uint8Array): Promise<string> {
  const res = await fetch(new URL(path, grid.nodeUrl), { method, ...(body ? { body } : {}) });
  const text = await res.text();
  expect([200, 201], text).toContain(res.status);
  return text.trim();
}

async function shareFiles(si: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of STORAGE) {
    const dir = join(grid.dirs[node]!, "storage/shares", si.slice(0, 2), si);
    for (const name of await readdir(dir).catch(() => [])) out.push(join(dir, name));
  }
  return out;
}

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
