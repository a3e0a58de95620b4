import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { archiveName, formatElapsed, summary } from "../src/backup-report.js";
import { collectBackupTargets, excludeFilter, globToRegExp, localStat } from "../src/backup-walk.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lafs-backup-walk-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the local tree", () => {
  it("lists children before their directory, skips symlinks and special files, and leaves out excluded names", async () => {
    mkdirSync(join(dir, "sub", "déjà"), { recursive: true });
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, ".git", "config"), "x");
    writeFileSync(join(dir, "a.txt"), "a");
    writeFileSync(join(dir, "notes.tmp"), "t");
    writeFileSync(join(dir, "sub", "déjà", "vu.txt"), "v");
    symlinkSync(join(dir, "a.txt"), join(dir, "link"));
    execFileSync("mkfifo", [join(dir, "sub", "pipe")]);
    const targets = await collectBackupTargets(dir, excludeFilter(["*.tmp", ".git"]));
    expect(targets).toEqual([
      { kind: "file", path: join(dir, "a.txt") },
      { kind: "skip", path: join(dir, "link"), isDir: false, why: "symlink" },
      { kind: "file", path: join(dir, "sub", "déjà", "vu.txt") },
      { kind: "directory", path: join(dir, "sub", "déjà") },
      { kind: "skip", path: join(dir, "sub", "pipe"), isDir: false, why: "special" },
      { kind: "directory", path: join(dir, "sub") },
      { kind: "directory", path: dir },
    ]);
  });

  it("a directory with a name that is not UTF-8 is skipped whole, as Tahoe's listdir_unicode does", async () => {
    mkdirSync(join(dir, "odd"));
    writeFileSync(Buffer.concat([Buffer.from(`${join(dir, "odd")}/`), Buffer.from([0xff, 0x41])]), "x");
    const targets = await collectBackupTargets(dir, () => true);
    expect(targets).toEqual([
      { kind: "skip", path: join(dir, "odd"), isDir: true, why: "encoding" },
      { kind: "directory", path: dir },
    ]);
  });

  it("stat metadata in Tahoe's keys and order, with whole seconds for the backupdb", async () => {
    const file = join(dir, "f");
    writeFileSync(file, "12345");
    utimesSync(file, 1_700_000_000.75, 1_700_000_000.75);
    const s = await localStat(file);
    expect(Object.keys(s.metadata)).toEqual([
      "ctime",
      "mtime",
      "st_mode",
      "st_ino",
      "st_dev",
      "st_uid",
      "st_gid",
    ]);
    expect(s.size).toBe(5);
    expect(s.mtime).toBe(1_700_000_000);
    expect(s.metadata.mtime).toBeCloseTo(1_700_000_000.75, 5);
    expect(s.metadata.st_mode! & 0o170000).toBe(0o100000);
  });
});

describe("exclude patterns (Python's fnmatch)", () => {
  it.each([
    ["*.tmp", "a.tmp", true],
    ["*.tmp", "a.tmpx", false],
    ["?.txt", "a.txt", true],
    ["?.txt", "ab.txt", false],
    ["[ab]*", "beta", true],
    ["[!ab]*", "beta", false],
    ["[!ab]*", "gamma", true],
    ["[]x]", "]", true],
    ["a[", "a[", true],
    ["a.b", "axb", false],
    ["(x)+", "(x)+", true],
    ["*.TMP", "a.tmp", false],
  ])("%s on %s: %s", (pattern, name, matches) => {
    expect(globToRegExp(pattern).test(name)).toBe(matches);
  });
});

describe("Tahoe's words", () => {
  it("elapsed time as str(timedelta), archive names as iso_utc with _ and Z, the summary lines", () => {
    expect(formatElapsed(7_900)).toBe("0:00:07");
    expect(formatElapsed((26 * 3600 + 3 * 60 + 4) * 1000)).toBe("1 day, 2:03:04");
    expect(archiveName(Date.UTC(2026, 11, 7, 7, 40, 37, 999))).toBe("2026-12-07_07:40:37Z");
    const counts = {
      filesCreated: 3,
      filesReused: 1,
      filesSkipped: 2,
      directoriesCreated: 4,
      directoriesReused: 0,
      directoriesSkipped: 1,
      filesChecked: 5,
      directoriesChecked: 6,
    };
    expect(summary(counts, false, 1_000)).toBe(
      " 3 files uploaded (1 reused), 2 files skipped, 4 directories created (0 reused), 1 directories skipped\n" +
        " backup done, elapsed time: 0:00:01\n",
    );
    expect(summary(counts, true, 0).split("\n")[1]).toBe(" 5 files checked, 6 directories checked");
  });
});
