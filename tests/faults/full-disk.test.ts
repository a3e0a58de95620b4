import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoeOk } from "../support/local-grid.js";
import { getBytes, patternBytes, putBytes, report, shareFiles, timed } from "./support.js";

/**
 * A storage node whose disk fills up during an upload: s5's storage directory is a 16 MiB
 * tmpfs in a mount namespace of its own (unshare as an unprivileged user; nothing is mounted
 * on the machine), and a filler inside that namespace writes zeros until the disk is full as
 * soon as a share starts arriving there. The upload must end truthfully: the file's bytes on
 * the other four nodes, and the full node named in the client's log.
 */

const STORAGE = ["s1", "s2", "s3", "s4", "s5"];
const TMPFS_SIZE = "16m";
let grid: Grid;
const dirs: Record<string, string> = {};

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Runs s5 with its storage on a small tmpfs; the filler gives up after 60 s without an upload. */
function onSmallDisk(name: string, argv: string[]): string[] {
  if (name !== "s5") return argv;
  const storage = join(dirs.s5!, "storage");
  const incoming = join(storage, "shares", "incoming");
  const script = [
    `mkdir -p ${quote(storage)}`,
    `mount -t tmpfs -o size=${TMPFS_SIZE} tmpfs ${quote(storage)}`,
    `(i=0; while [ -z "$(find ${quote(incoming)} -type f 2>/dev/null | head -n 1)" ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done;` +
      ` [ $i -lt 3000 ] && cat /dev/zero > ${quote(join(storage, "filler"))} 2>/dev/null) &`,
    `exec ${argv.map(quote).join(" ")}`,
  ].join("\n");
  return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script];
}

beforeAll(async () => {
  grid = await startGrid({
    storage: STORAGE,
    k: 3,
    happy: 4,
    n: 5,
    configure: async (name, dir) => {
      dirs[name] = dir;
      if (name !== "s5") return;
      // No reserve: the node takes shares until the disk itself runs out.
      const cfg = join(dir, "tahoe.cfg");
      const text = await readFile(cfg, "utf8");
      await writeFile(cfg, text.replace(/^reserved_space = .*$/m, "reserved_space = 0"));
    },
    command: onSmallDisk,
  });
}, 60_000);

afterAll(async () => {
  await grid?.close();
});

describe("a storage node's disk fills up during an upload", { timeout: 90_000 }, () => {
  it("the upload ends truthfully: right bytes on the others, the full node named", async () => {
    const data = patternBytes(30 * 1024 * 1024, 21);
    const run = await timed(() => putBytes(grid, data));
    expect(run.value.status, run.value.text).toBe(200);
    const cap = run.value.text;
    // s5's shares live in its own namespace: what the test can see is the other four nodes,
    // and they must hold every share between them.
    const elsewhere = await shareFiles(grid, cap);
    expect(new Set(elsewhere.map((f) => f.shnum))).toEqual(new Set([0, 1, 2, 3, 4]));
    expect((await getBytes(grid, cap)).body.equals(data)).toBe(true);

    const log = (await tahoeOk(["logs", "--level=warn", "--json", grid.dirs.client!])).toString();
    const s5 = (await grid.servers()).find((s) => s.nickname === "s5")!;
    const lines = log.split("\n");
    const fullLine = lines.find((l) => l.includes(`'s5' (${s5.serverId.slice(0, 11)}…) is full`));
    // A full storage server answers 507 (issue 15, defect 3), and the client names it as full.
    expect(fullLine, log.slice(0, 3000)).toBeDefined();
    report("disk full during upload", {
      bytes: data.length,
      ms: run.ms,
      result: "200, right bytes, 5 shares on the other 4 nodes",
      logged: "server 's5' is full",
    });
  });
});
