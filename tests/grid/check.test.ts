import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Grid, tahoe, tahoeOk } from "../support/local-grid.js";
import { shareFiles as shareFilesOn, useFiveServerGrid } from "./five-servers.js";

/**
 * `tahoe check [--verify] [--repair] [--add-lease] [--raw]` and `POST /uri/CAP?t=check` on a
 * grid of real `tahoe run` processes: an introducer, five storage servers and a client,
 * k/happy/N = 3/4/5. Shares are damaged on disk between steps.
 */

let grid: Grid;
useFiveServerGrid((started) => {
  grid = started;
});

const check = async (...args: string[]) =>
  (await tahoeOk(["-d", grid.dirs.client!, "check", ...args])).toString();

async function put(body: Uint8Array, query = ""): Promise<string> {
  const res = await fetch(new URL(`uri${query}`, grid.nodeUrl), { method: "PUT", body });
  expect(res.status).toBe(200);
  return (await res.text()).trim();
}

const shareFiles = (si: string) => shareFilesOn(grid, si);

describe("tahoe check on a grid of real processes", { timeout: 60_000 }, () => {
  let cap: string;
  let si: string;

  it("a healthy CHK file: Tahoe's summary lines, and Tahoe's JSON with --raw", async () => {
    cap = await put(Buffer.alloc(100_000, 7));
    const raw = JSON.parse(await check("--raw", cap));
    si = raw["storage-index"];
    expect(raw.summary).toBe("Healthy");
    expect(raw.results).toMatchObject({
      "count-happiness": 5,
      "count-shares-good": 5,
      "count-shares-needed": 3,
      "count-shares-expected": 5,
      "count-good-share-hosts": 5,
      "count-corrupt-shares": 0,
      "list-corrupt-shares": [],
      "count-wrong-shares": 0,
      "count-recoverable-versions": 1,
      "count-unrecoverable-versions": 0,
      healthy: true,
      recoverable: true,
    });
    expect(raw.results["servers-responding"]).toHaveLength(5);
    expect(Object.keys(raw.results.sharemap).sort()).toEqual(["0", "1", "2", "3", "4"]);
    expect(await check(cap)).toBe(
      `Summary: Healthy\n storage index: ${si}\n good-shares: 5 (encoding is 3-of-5)\n wrong-shares: 0\n`,
    );
  });

  it("--verify finds a flipped byte and names the share; the server got an advisory", async () => {
    const [victim] = await shareFiles(si);
    const original = await readFile(victim!.path);
    const changed = Buffer.from(original);
    changed[12 + 0x24 + 500]! ^= 1; // inside block 0
    await writeFile(victim!.path, changed);
    try {
      expect(await check(cap)).toContain("Summary: Healthy\n");
      const out = await check("--verify", cap);
      const id = await grid.idOf(victim!.node);
      expect(out).toContain("Summary: Not Healthy: 4 shares (enc 3-of-5)\n");
      expect(out).toContain(` corrupt shares:\n  server ${id}, SI ${si}, shnum ${victim!.shnum}\n`);
      const advisories = await readdir(join(grid.dirs[victim!.node]!, "storage/corruption-advisories"));
      expect(advisories.length).toBeGreaterThan(0);
    } finally {
      await writeFile(victim!.path, original);
    }
  });

  it("--repair re-creates a missing share; the file is healthy again", async () => {
    const [first] = await shareFiles(si);
    await rm(first!.path);
    const out = await check("--repair", "--add-lease", cap);
    expect(out).toBe(
      `Summary: not healthy\n storage index: ${si}\n good-shares: 4 (encoding is 3-of-5)\n wrong-shares: 0\n repair successful\n`,
    );
    expect((await shareFiles(si)).map((s) => s.shnum)).toContain(first!.shnum);
    expect(await check(cap)).toContain("Summary: Healthy\n");
  });

  it("a LIT file, a mutable file's repair, the HTML page and a bad flag", async () => {
    const lit = await put(Buffer.from("small"));
    expect(await check(lit)).toBe("Summary: Healthy (LIT)\n storage index: \n");
    expect(JSON.parse(await check("--raw", "--repair", lit))).toEqual({
      "storage-index": "",
      "repair-attempted": false,
    });

    const mutable = await put(Buffer.alloc(20_000, 3), "?format=MDMF");
    const msi = JSON.parse(await check("--raw", mutable))["storage-index"];
    const [one] = await shareFiles(msi);
    await rm(one!.path);
    const repaired = JSON.parse(await check("--raw", "--repair", mutable));
    expect(repaired["pre-repair-results"].results["count-shares-good"]).toBe(4);
    expect(repaired["repair-attempted"]).toBe(true);
    expect(repaired["repair-successful"]).toBe(true);
    expect(repaired["post-repair-results"].results.healthy).toBe(true);

    const page = await fetch(new URL(`uri/${encodeURIComponent(cap)}?t=check`, grid.nodeUrl), {
      method: "POST",
    });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain(`File Check Results for SI=${si}`);

    const bad = await fetch(new URL(`uri/${encodeURIComponent(cap)}?t=check&verify=maybe`, grid.nodeUrl), {
      method: "POST",
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("verify=");
    const notCap = await tahoe(["-d", grid.dirs.client!, "check", "nonsense"]);
    expect(notCap.code).not.toBe(0);
  });

  it("--verify --repair re-creates a corrupt share elsewhere; a verify cap repairs; a read cap is refused politely", async () => {
    const file = await put(Buffer.alloc(120_000, 9));
    const fsi = JSON.parse(await check("--raw", file))["storage-index"];
    const [victim, , other] = await shareFiles(fsi);
    const damaged = await readFile(victim!.path);
    damaged[12 + 0x24 + 700]! ^= 0x02; // a block byte
    await writeFile(victim!.path, damaged);
    const out = await check("--verify", "--repair", file);
    expect(out).toContain("Summary: not healthy\n");
    expect(out).toContain(` corrupt shares:\n  server `);
    expect(out).toContain(`, SI ${fsi}, shnum ${victim!.shnum}\n repair successful\n`);
    const after = JSON.parse(await check("--raw", "--verify", file));
    expect(after.results).toMatchObject({ healthy: true, "count-shares-good": 5, "count-corrupt-shares": 1 });

    // The verify cap (no key) repairs too: Tahoe's repairer works on crypttext.
    const info = await (await fetch(new URL(`uri/${encodeURIComponent(file)}?t=json`, grid.nodeUrl))).json();
    const verifyCap = (info as [string, { verify_uri: string }])[1].verify_uri;
    expect(verifyCap).toMatch(/^URI:CHK-Verifier:/);
    await rm(other!.path);
    const byVerifyCap = JSON.parse(await check("--raw", "--repair", verifyCap));
    expect(byVerifyCap["repair-attempted"]).toBe(true);
    expect(byVerifyCap["repair-successful"]).toBe(true);
    expect((await shareFiles(fsi)).map((f) => f.shnum)).toContain(other!.shnum);

    // A read cap of an unhealthy mutable file: Tahoe's answer, repair not attempted, no error.
    const mutable = await put(Buffer.alloc(20_000, 4), "?format=MDMF");
    const minfo = await (
      await fetch(new URL(`uri/${encodeURIComponent(mutable)}?t=json`, grid.nodeUrl))
    ).json();
    const readCap = (minfo as [string, { ro_uri: string }])[1].ro_uri;
    const msi = JSON.parse(await check("--raw", mutable))["storage-index"];
    const [gone] = await shareFiles(msi);
    await rm(gone!.path);
    const refused = JSON.parse(await check("--raw", "--repair", readCap));
    expect(refused["repair-attempted"]).toBe(false);
    expect(refused["post-repair-results"].results.healthy).toBe(false);
    const page = await fetch(
      new URL(`uri/${encodeURIComponent(readCap)}?t=check&repair=true`, grid.nodeUrl),
      {
        method: "POST",
      },
    );
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Repair not attempted: repairing a mutable file needs its write cap");
  });
});
