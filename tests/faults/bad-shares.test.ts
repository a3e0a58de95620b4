import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoeOk } from "../support/local-grid.js";
import { getBytes, patternBytes, putBytes, putOk, report, shareFiles, timed } from "./support.js";

/**
 * Shares that lie and caps that were edited, on a grid of real `tahoe run` processes (an
 * introducer, five storage nodes, a client; k/happy/N = 3/4/5), then a storage node that is
 * full. The node must never answer with wrong bytes: either the file's own bytes, or an error
 * with a 4xx status, a code and words (410 Gone where Tahoe-LAFS says NotEnoughSharesError).
 */

const STORAGE = ["s1", "s2", "s3", "s4", "s5"];
let grid: Grid;

beforeAll(async () => {
  grid = await startGrid({ storage: STORAGE, k: 3, happy: 4, n: 5 });
}, 60_000);

afterAll(async () => {
  await grid?.close();
});

/** Flips one byte inside block 0 of a share file (container header 12 bytes + share header 0x24). */
async function corruptBlock(path: string): Promise<void> {
  const at = 12 + 0x24 + 100;
  const handle = await open(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0]! ^= 0x40;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/** Status, first line and the rest of a plain-text error answer. */
async function getText(cap: string): Promise<{ status: number; text: string; body: Buffer }> {
  const got = await getBytes(grid, cap);
  return { status: got.status, text: got.body.toString("utf8"), body: got.body };
}

describe("corrupt shares on disk", { timeout: 60_000 }, () => {
  it("one corrupt share: the right bytes, from the other shares", async () => {
    const data = patternBytes(300_000, 11);
    const cap = await putOk(grid, data);
    const zero = (await shareFiles(grid, cap)).find((f) => f.shnum === 0)!;
    await corruptBlock(zero.path);
    const run = await timed(() => getBytes(grid, cap));
    expect(run.value.status).toBe(200);
    expect(run.value.body.equals(data)).toBe(true);
    report("1 of 5 shares corrupt", { bytes: data.length, ms: run.ms, result: "200, right bytes" });
  });

  it("three of five corrupt (k=3): 410 saying 2 good shares remain of the 3 needed", async () => {
    const data = patternBytes(300_000, 12);
    const cap = await putOk(grid, data);
    const files = await shareFiles(grid, cap);
    expect(files).toHaveLength(5);
    for (const f of files.filter((f) => f.shnum < 3)) await corruptBlock(f.path);
    const run = await timed(() => getText(cap));
    expect(run.value.status).toBe(410);
    expect(run.value.text).toContain("TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES");
    expect(run.value.text).toContain("not enough good shares");
    expect(run.value.text).toContain("found 5 share(s) on 5 server(s), 2 good, 3 corrupt, 3 needed");
    for (const sn of [0, 1, 2]) expect(run.value.text).toMatch(new RegExp(`share ${sn} on '(s\\d)'`));
    report("3 of 5 shares corrupt", { bytes: data.length, ms: run.ms, result: "410" });
  });
});

describe("edited caps", { timeout: 120_000 }, () => {
  it("every edit of a real cap is its file's bytes or a 4xx with words, never a 200 with other bytes", async () => {
    const data = patternBytes(100_000, 13);
    const cap = await putOk(grid, data);
    const fields = cap.split(":").slice(2);
    expect(fields).toHaveLength(5);
    const [key, ueb, k, n, size] = fields as [string, string, string, string, string];
    const join6 = (f: { key?: string; ueb?: string; k?: string; n?: string; size?: string }) =>
      `URI:CHK:${f.key ?? key}:${f.ueb ?? ueb}:${f.k ?? k}:${f.n ?? n}:${f.size ?? size}`;
    const swap = (text: string, at: number, ch: string) => text.slice(0, at) + ch + text.slice(at + 1);
    const other = (ch: string) => (ch === "a" ? "b" : "a");
    const edits: string[] = [];
    // Each base32 field: another letter, a digit outside base32, an upper-case letter,
    // punctuation, one character more or less, empty.
    for (const [name, text] of [
      ["key", key],
      ["ueb", ueb],
    ] as const) {
      for (const at of [0, 1, Math.floor(text.length / 2), text.length - 2, text.length - 1]) {
        for (const ch of [other(text[at]!), "1", "8", "0", text[at]!.toUpperCase(), "-", "%", " "]) {
          edits.push(join6({ [name]: swap(text, at, ch) }));
        }
      }
      edits.push(join6({ [name]: `${text}a` }), join6({ [name]: text.slice(1) }), join6({ [name]: "" }));
    }
    // The numbers: every value that is wrong, zero, past the limits, or not a number.
    const size0 = Number(size);
    const numbers: Record<"k" | "n" | "size", string[]> = {
      k: ["0", "1", "2", "4", "5", "6", "256", "257", "-1", "", "x", "3.0", "1e3", "99999999999999999999"],
      n: ["0", "1", "2", "3", "4", "6", "10", "255", "256", "257", "-5", "", "five", "99999999999999999999"],
      size: [
        "0",
        "1",
        "55",
        "56",
        String(size0 - 1),
        String(size0 + 1),
        String(size0 * 2),
        String(2 ** 40),
        String(2 ** 53 - 1),
        "9007199254740993",
        "99999999999999999999999",
        "-1",
        "",
        "1.5",
        "0x10",
      ],
    };
    for (const [field, values] of Object.entries(numbers)) {
      for (const v of values) edits.push(join6({ [field]: v }));
    }
    // The frame around the fields.
    edits.push(
      cap.replace("URI:CHK:", "URI:CHK-Verifier:"),
      cap.replace("URI:CHK:", "uri:chk:"),
      cap.replace("URI:CHK:", "URI:LIT:"),
      cap.replace("URI:CHK:", "URI:SSK:"),
      `${cap}:7`,
      cap.slice(0, cap.lastIndexOf(":")),
      cap.replaceAll(":", "::"),
      `${cap}\u0000`,
      `URI:CHK:${key}`,
    );

    const statuses = new Map<number, number>();
    const started = performance.now();
    for (const edited of edits) {
      const got = await getText(edited);
      statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
      if (got.status === 200 || got.status === 206) {
        // Only a cap that means the same file may succeed, and then with its bytes.
        expect(got.body.equals(data), `${edited} gave 200 with other bytes`).toBe(true);
        continue;
      }
      expect([400, 404, 410], `${edited}: ${got.status} ${got.text}`).toContain(got.status);
      expect(got.text, edited).toMatch(/^Error (400|404|410): TAHOE_ERR_[A-Z_]+\n.{10,}/);
    }
    // The size field edited to 0 is the defect's own case: no empty 200.
    const zero = await getText(join6({ size: "0" }));
    expect(zero.status).toBe(410);
    expect(zero.text).toContain("found 5 share(s) on 5 server(s), 0 good, 5 corrupt, 3 needed");
    expect(zero.text).toContain("the cap was probably edited or mistyped");
    report("edited caps", {
      cases: edits.length,
      ms: Math.round(performance.now() - started),
      statuses: JSON.stringify(Object.fromEntries(statuses)),
    });
    expect(statuses.get(500)).toBeUndefined();
  });
});

describe("a full storage node (reserved_space above its free space)", { timeout: 90_000 }, () => {
  it("gets no share, and the upload fails naming it once happiness needs it", async () => {
    const cfg = join(grid.dirs.s5!, "tahoe.cfg");
    const text = await readFile(cfg, "utf8");
    expect(text).toMatch(/^reserved_space = .*$/m);
    await grid.stop("s5");
    await writeFile(cfg, text.replace(/^reserved_space = .*$/m, "reserved_space = 1000T"));
    await grid.start("s5");
    await grid.waitForServers(
      (list) => list.filter((s) => s.connection.state === "connected").length === 5,
      "5 connected servers",
      30_000,
    );
    const data = patternBytes(200_000, 14);
    const run = await timed(() => putOk(grid, data));
    const holders = new Set((await shareFiles(grid, run.value)).map((f) => f.node));
    expect(holders.has("s5")).toBe(false);
    expect(holders.size).toBe(4);
    expect((await getBytes(grid, run.value)).body.equals(data)).toBe(true);
    // The client's log says so in the words.
    const log = (await tahoeOk(["logs", "--level=warn", "--json", grid.dirs.client!])).toString();
    expect(log).toMatch(/server 's5' \(v0-[a-z2-7]{8}…\) is full/);
    report("1 of 5 nodes full, happy=4", { ms: run.ms, result: "200, shares on the 4 others" });

    // With s4 gone, happiness 4 needs the full node: the refusal names it.
    await grid.stop("s4");
    try {
      await grid.waitForServers(
        (list) => list.filter((s) => s.connection.state === "connected").length === 4,
        "4 connected servers",
        30_000,
      );
      const refused = await timed(() => putBytes(grid, patternBytes(200_000, 15)));
      expect(refused.value.status).toBe(503);
      expect(refused.value.text).toContain("TAHOE_ERR_PLACEMENT_");
      expect(refused.value.text).toMatch(/'s5' \(v0-[a-z2-7]{8}…\) is read-only or full/);
      report("1 of 4 connected nodes full, happy=4", { ms: refused.ms, result: "503 naming s5" });
    } finally {
      await grid.start("s4");
    }
  });
});
