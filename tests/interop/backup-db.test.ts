import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoe, tahoeOk } from "../support/local-grid.js";
import { findRefPeer } from "../support/refpeer.js";

/**
 * One backupdb, two programs: our `tahoe backup` and Tahoe-LAFS 1.20's take turns backing up the
 * same tree from the same node directory (so the same private/backupdb.sqlite) through our node's
 * web API, and each finds the other's entries and uploads nothing that did not change. The
 * database's tables are compared with the ones Tahoe's own get_backupdb creates.
 */

const peer = findRefPeer("interop tests (the backupdb shared with Tahoe-LAFS's tahoe backup)");
const SUMMARY =
  /^ (\d+) files uploaded \((\d+) reused\), (\d+) files skipped, (\d+) directories created \((\d+) reused\), (\d+) directories skipped$/m;

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    ),
  );
}

function counts(stdout: string): number[] {
  const m = SUMMARY.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return (m as RegExpExecArray).slice(1).map(Number);
}

/** Archive names have whole seconds: a run in the same second as the last would replace it. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));

// Every table's PRAGMA table_info and the version, read by Python's sqlite3 (the reference's).
const DESCRIBE = `
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
names = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
print(json.dumps({n: c.execute("PRAGMA table_info(%s)" % n).fetchall() for n in names} | {"#version": c.execute("SELECT version FROM version").fetchall()}))
`;
const CREATE = `
import sys
from allmydata.scripts import backupdb
assert backupdb.get_backupdb(sys.argv[1]) is not None
`;

describe.skipIf(peer === undefined)(
  "the backupdb shared with Tahoe-LAFS's tahoe backup",
  { timeout: 180_000 },
  () => {
    const ref = peer!;
    const python = join(ref.dir, "venv", "bin", "python");
    let grid: Grid | undefined;
    let root: string;
    let tree: string;
    const ours = () => grid!.dirs.client!;
    const dbFile = () => join(ours(), "private", "backupdb.sqlite");
    const theirBackup = async () => {
      await nextSecond();
      return run(ref.cli, ["-d", ours(), "backup", "-u", grid!.nodeUrl, tree, "bk:b"]);
    };
    const ourBackup = async () => {
      await nextSecond();
      const result = await tahoe(["-d", ours(), "backup", tree, "bk:b"]);
      return { ...result, stdout: result.stdout.toString() };
    };

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "lafs-interop-backupdb-"));
      grid = await startGrid({ storage: ["s1"], k: 1, happy: 1, n: 1 });
      tree = join(root, "tree");
      await mkdir(join(tree, "sub", "déjà"), { recursive: true });
      await writeFile(join(tree, "one.txt"), "one");
      await writeFile(join(tree, "sub", "big.bin"), Buffer.alloc(70_000, 7));
      await writeFile(join(tree, "sub", "déjà", "vu.txt"), "encore");
      await tahoeOk(["-d", ours(), "create-alias", "bk"]);
    }, 60_000);

    afterAll(async () => {
      await grid?.close();
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    });

    it("our backupdb has the tables Tahoe's get_backupdb creates, column for column", async () => {
      const first = await ourBackup();
      expect(first.code, first.stderr).toBe(0);
      expect(counts(first.stdout)).toEqual([3, 0, 0, 3, 0, 0]);
      const theirs = join(root, "tahoe-made.sqlite");
      expect((await run(python, ["-c", CREATE, theirs])).code).toBe(0);
      const describe = async (file: string) => {
        const out = await run(python, ["-c", DESCRIBE, file]);
        expect(out.code, out.stderr).toBe(0);
        return JSON.parse(out.stdout) as unknown;
      };
      expect(await describe(dbFile())).toEqual(await describe(theirs));
    });

    it("Tahoe's tahoe backup reuses every file and directory our backup recorded", async () => {
      const second = await theirBackup();
      expect(second.code, second.stderr).toBe(0);
      expect(counts(second.stdout)).toEqual([0, 3, 0, 0, 3, 0]);
    });

    it("after Tahoe uploads a changed file, our backup reuses what Tahoe recorded", async () => {
      await writeFile(join(tree, "sub", "big.bin"), Buffer.alloc(71_000, 8));
      const third = await theirBackup();
      expect(third.code, third.stderr).toBe(0);
      expect(counts(third.stdout)).toEqual([1, 2, 0, 2, 1, 0]);
      const fourth = await ourBackup();
      expect(fourth.code, fourth.stderr).toBe(0);
      expect(counts(fourth.stdout)).toEqual([0, 3, 0, 0, 3, 0]);
      const archives = (await tahoeOk(["-d", ours(), "ls", "bk:b/Archives"])).toString().trim().split("\n");
      expect(archives).toHaveLength(4);
      const latest = (await tahoeOk(["-d", ours(), "ls", "--json", "bk:b/Latest"])).toString();
      const [, dir] = JSON.parse(latest) as [string, { ro_uri: string }];
      const last = JSON.parse(
        (await tahoeOk(["-d", ours(), "ls", "--json", `bk:b/Archives/${archives[3]}`])).toString(),
      ) as [string, { ro_uri: string }];
      expect(last[1].ro_uri).toBe(dir.ro_uri);
    });
  },
);
