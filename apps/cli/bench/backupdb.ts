/**
 * The backupdb of `tahoe backup` at a realistic size (BACKUPDB_BENCH_FILES, 10,000 by default):
 * recording every file of a first backup, writing the file back (temp file + rename), opening it
 * again, and the per-file lookup a second backup makes. Prints figures, never pass/fail.
 * Run: pnpm --filter @lafs/cli bench
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupDb } from "../src/backup-db.js";

const FILES = Number(process.env.BACKUPDB_BENCH_FILES ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), "lafs-backupdb-bench-"));
const file = join(dir, "backupdb.sqlite");
const stat = (i: number) => ({ size: 1000 + i, mtime: 1_790_000_000 + i, ctime: 1_790_000_000 + i });
const path = (i: number) => `/home/user/photos/${String(i).padStart(6, "0")}-été.jpg`;
const cap = (i: number) => `URI:CHK:${String(i).padStart(26, "a")}:${"b".repeat(52)}:3:10:${1000 + i}`;

async function timed<T>(what: string, work: () => T | Promise<T>): Promise<T> {
  const t = process.hrtime.bigint();
  const result = await work();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(
    `${what.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms  (${((ms * 1000) / FILES).toFixed(1)} µs per file)`,
  );
  return result;
}

try {
  let db = await BackupDb.open(file);
  await timed(`record ${FILES} uploads (didUploadFile)`, () => {
    for (let i = 0; i < FILES; i++) db.didUploadFile(path(i), stat(i), cap(i));
  });
  await timed("save (export, write, fsync, rename)", () => db.save());
  db.close();
  db = await timed("open again", () => BackupDb.open(file));
  const reused = await timed(`check ${FILES} unchanged files (checkFile)`, () => {
    let n = 0;
    for (let i = 0; i < FILES; i++) if (db.checkFile(path(i), stat(i), true).filecap !== undefined) n += 1;
    return n;
  });
  db.close();
  console.log(
    `${reused} of ${FILES} reused; file ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
