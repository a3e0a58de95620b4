import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, type TahoeResult, tahoe, tahoeOk } from "../support/local-grid.js";

/**
 * `tahoe backup` on a grid of real processes (an introducer, one lafs-ts storage node and a
 * client, each run with `tahoe run`; k/happy/N = 1/1/1): snapshots under Archives/ and Latest,
 * unchanged files and directories found again through NODEDIR/private/backupdb.sqlite, excludes,
 * unicode names, skipped files with Tahoe's warnings and exit 2. The steps run in order.
 */

const TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const SUMMARY =
  /^ (\d+) files uploaded \((\d+) reused\), (\d+) files skipped, (\d+) directories created \((\d+) reused\), (\d+) directories skipped\n/m;

let grid: Grid;
let local: string;
let tree: string;
const files: Record<string, Buffer> = {
  "a.txt": Buffer.from("alpha"),
  "big.bin": randomBytes(60_000),
  "sub/déjà vu/ç.txt": Buffer.from("encore"),
};

beforeAll(async () => {
  grid = await startGrid({ storage: ["s1"], k: 1, happy: 1, n: 1 });
  local = await mkdtemp(join(tmpdir(), "lafs-backup-e2e-"));
  tree = join(local, "tree");
  await mkdir(join(tree, "sub", "déjà vu"), { recursive: true });
  await mkdir(join(tree, "sub", "empty"));
  await mkdir(join(tree, ".git"));
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(tree, name), bytes);
  await writeFile(join(tree, "notes.tmp"), "scratch");
  await writeFile(join(tree, "skip-me"), "no");
  await writeFile(join(tree, ".git", "config"), "[core]");
  await writeFile(join(local, "excludes"), "\n  *.tmp  \n");
}, 60_000);

afterAll(async () => {
  await grid?.close();
  if (local) await rm(local, { recursive: true, force: true });
});

const cli = (...args: string[]) => tahoeOk(["-d", grid.dirs.client as string, ...args]);
const text = async (...args: string[]) => (await cli(...args)).toString();
const EXCLUDES = () => [
  "--exclude=skip-me",
  `--exclude-from-utf-8=${join(local, "excludes")}`,
  "--exclude-vcs",
];

/** Archive names have whole seconds: a run in the same second as the last would replace it. */
async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
}

async function backup(...args: string[]): Promise<TahoeResult> {
  await nextSecond();
  return tahoe(["-d", grid.dirs.client as string, "backup", ...args]);
}

function counts(stdout: Buffer): number[] {
  const m = SUMMARY.exec(stdout.toString());
  expect(m, stdout.toString()).not.toBeNull();
  return (m as RegExpExecArray).slice(1).map(Number);
}

type Listing = [string, { children: Record<string, [string, Record<string, unknown>]> }];
const listing = async (path: string) => JSON.parse(await text("ls", "--json", path)) as Listing;

describe("tahoe backup", { timeout: 180_000 }, () => {
  it("a first backup uploads everything and links Archives/<UTC time> and Latest", async () => {
    await cli("create-alias", "bk");
    const run = await backup(...EXCLUDES(), tree, "bk:backups");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // a.txt, big.bin, ç.txt; tree, sub, déjà vu, empty.
    expect(counts(run.stdout)).toEqual([3, 0, 0, 4, 0, 0]);
    expect(run.stdout.toString()).toMatch(/\n backup done, elapsed time: 0:00:\d\d\n$/);
    expect(await text("ls", "bk:backups")).toBe("Archives\nLatest\n");
    expect(await text("ls", "bk:backups/Archives")).toMatch(/^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\dZ\n$/);
    expect(await text("ls", "bk:backups/Latest")).toBe("a.txt\nbig.bin\nsub\n");
    expect(await text("ls", "bk:backups/Latest/sub")).toBe("déjà vu\nempty\n");
    for (const [name, bytes] of Object.entries(files)) {
      expect(sha(await cli("get", `bk:backups/Latest/${name}`)), name).toBe(sha(bytes));
    }
    const [, latest] = await listing("bk:backups/Latest");
    const [kind, big] = latest.children["big.bin"] as [string, Record<string, unknown>];
    expect(kind).toBe("filenode");
    expect(big.ro_uri).toMatch(/^URI:CHK:/);
    expect(Object.keys(big.metadata as object)).toEqual(
      expect.arrayContaining(["ctime", "mtime", "st_mode", "st_ino", "st_dev", "st_uid", "st_gid"]),
    );
    expect((latest.children.sub as [string, Record<string, unknown>])[1].ro_uri).toMatch(/^URI:DIR2-CHK:/);
    const [, empty] = (await listing("bk:backups/Latest/sub")) as Listing;
    expect((empty.children.empty as [string, Record<string, unknown>])[1].ro_uri).toBe("URI:DIR2-LIT:");
    await readFile(join(grid.dirs.client as string, "private", "backupdb.sqlite"));
  });

  it("a second run with nothing changed uploads nothing and reuses every directory (-v says so)", async () => {
    const run = await backup("-v", ...EXCLUDES(), tree, "bk:backups");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(counts(run.stdout)).toEqual([0, 3, 0, 0, 4, 0]);
    const out = run.stdout.toString();
    expect(out).toContain(`skipping '${join(tree, "a.txt")}'..\n`);
    expect(out).toContain(` re-using old directory for '${join(tree, "sub", "déjà vu")}'\n`);
    expect(out).toContain("\n 0 files checked, 0 directories checked\n");
    expect(out).not.toContain("Backing up");
    const [, archives] = await listing("bk:backups/Archives");
    const names = Object.keys(archives.children);
    expect(names).toHaveLength(2);
    const caps = names.map((n) => (archives.children[n] as [string, Record<string, unknown>])[1].ro_uri);
    expect(caps[0]).toBe(caps[1]);
  });

  it("a changed file is uploaded again; its directory is made anew, the untouched ones reused", async () => {
    files["big.bin"] = randomBytes(61_000);
    await writeFile(join(tree, "big.bin"), files["big.bin"]);
    const run = await backup("-v", ...EXCLUDES(), tree, "bk:backups");
    expect(run.code).toBe(0);
    expect(counts(run.stdout)).toEqual([1, 2, 0, 1, 3, 0]);
    expect(run.stdout.toString()).toMatch(new RegExp(` ${join(tree, "big.bin")} -> URI:CHK:\\S+\n`));
    expect(sha(await cli("get", "bk:backups/Latest/big.bin"))).toBe(sha(files["big.bin"]));
    const archives = (await text("ls", "bk:backups/Archives")).trim().split("\n");
    expect(archives).toHaveLength(3);
    const first = await cli("get", `bk:backups/Archives/${archives[0]}/big.bin`);
    expect(sha(first)).not.toBe(sha(files["big.bin"]));
  });

  it("on a terminal, Tahoe's 'Backing up N/T' line is redrawn on stderr, and cleared before the summary", async () => {
    await nextSecond();
    // script(1) gives the command a pseudo-terminal; what the terminal received comes back on stdout.
    const command = [
      process.execPath,
      TAHOE,
      "-d",
      grid.dirs.client as string,
      "backup",
      ...EXCLUDES(),
      tree,
      "bk:backups",
    ]
      .map((word) => `'${word.replaceAll("'", "'\\''")}'`)
      .join(" ");
    const screen = await new Promise<string>((resolve, reject) =>
      execFile("script", ["-qec", command, "/dev/null"], (error, stdout) =>
        error ? reject(error) : resolve(stdout.toString()),
      ),
    );
    expect(screen).toContain("\rBacking up 7/7... 0h 0m ");
    expect(screen).toContain("\r\x1b[K 0 files uploaded (3 reused)");
  });

  it("an unreadable file, a symlink and a FIFO are skipped with Tahoe's warnings and exit 2; the rest is backed up", async () => {
    const other = join(local, "other");
    await mkdir(other);
    await writeFile(join(other, "ok.txt"), "fine");
    await writeFile(join(other, "secret.txt"), "hidden");
    await chmod(join(other, "secret.txt"), 0o000);
    await symlink(join(other, "ok.txt"), join(other, "link"));
    await new Promise<void>((resolve, reject) =>
      execFile("mkfifo", [join(other, "pipe")], (e) => (e ? reject(e) : resolve())),
    );
    // Root reads any file: then the backup runs as nobody, with a node directory of its own.
    const asRoot = process.getuid?.() === 0;
    const nodeDir = asRoot ? join(local, "nobody-node") : (grid.dirs.client as string);
    if (asRoot) {
      await mkdir(join(nodeDir, "private"), { recursive: true });
      await copyFile(
        join(grid.dirs.client as string, "private", "aliases"),
        join(nodeDir, "private", "aliases"),
      );
      for (const path of [nodeDir, join(nodeDir, "private"), join(nodeDir, "private", "aliases")])
        await chown(path, 65534, 65534);
      for (const path of [local, other]) await chmod(path, 0o755);
    }
    await nextSecond();
    const run = await new Promise<TahoeResult>((resolve) =>
      execFile(
        process.execPath,
        [TAHOE, "-d", nodeDir, "backup", "-u", grid.nodeUrl, other, "bk:other"],
        {
          encoding: "buffer",
          env: { ...process.env, HOME: nodeDir },
          ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr: stderr.toString() }),
      ),
    );
    expect(run.stderr).toBe(
      `WARNING: cannot backup symlink '${join(other, "link")}'\n` +
        `WARNING: cannot backup special '${join(other, "pipe")}'\n` +
        `WARNING: permission denied on file '${join(other, "secret.txt")}'\n`,
    );
    expect(run.code).toBe(2);
    expect(counts(run.stdout)).toEqual([1, 0, 3, 1, 0, 0]);
    expect(await text("ls", "bk:other/Latest")).toBe("ok.txt\n");
    expect((await cli("get", "bk:other/Latest/ok.txt")).toString()).toBe("fine");
  });

  it("tahoe ls of Archives shows every snapshot; a corrupt backupdb is one clear error and stays as it was", async () => {
    const before = (await text("ls", "bk:backups/Archives")).trim().split("\n");
    expect(before).toHaveLength(4);
    const dbFile = join(grid.dirs.client as string, "private", "backupdb.sqlite");
    const junk = randomBytes(2048);
    await writeFile(dbFile, junk);
    const run = await backup(tree, "bk:backups");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the backup database '${dbFile}' is unusable`);
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    expect((await readFile(dbFile)).equals(junk)).toBe(true);
    expect((await text("ls", "bk:backups/Archives")).trim().split("\n")).toEqual(before);
  });
});
