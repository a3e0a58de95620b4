import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type initSqlJs from "sql.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BackupDb, backupDirhash } from "../src/backup-db.js";

// The backupdb on real files in a temp directory, read back with SQLite itself (sql.js) to see
// exactly what a Tahoe-LAFS reading the same file would see.

const SQL = await (createRequire(import.meta.url)("sql.js") as typeof initSqlJs)();
const DAY = 24 * 60 * 60;

let dir: string;
let file: string;
let clock: number;
let draw: number;
const options = { now: () => clock, random: () => draw };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lafs-backupdb-"));
  file = join(dir, "backupdb.sqlite");
  clock = 1_800_000_000.25;
  draw = 0.5;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function reopen(db: BackupDb): Promise<BackupDb> {
  await db.save();
  db.close();
  return BackupDb.open(file, options);
}

function rows(sql: string): unknown[][] {
  const db = new SQL.Database(readFileSync(file));
  try {
    return db.exec(sql)[0]?.values ?? [];
  } finally {
    db.close();
  }
}

/** `PRAGMA table_info` of every table, as Tahoe 1.20's get_backupdb creates them (schema v2). */
const TAHOE_TABLES: Record<string, unknown[][]> = {
  version: [[0, "version", "INTEGER", 0, null, 0]],
  local_files: [
    [0, "path", "VARCHAR(1024)", 0, null, 1],
    [1, "size", "INTEGER", 0, null, 0],
    [2, "mtime", "NUMBER", 0, null, 0],
    [3, "ctime", "NUMBER", 0, null, 0],
    [4, "fileid", "INTEGER", 0, null, 0],
  ],
  caps: [
    [0, "fileid", "INTEGER", 0, null, 1],
    [1, "filecap", "VARCHAR(256)", 0, null, 0],
  ],
  last_upload: [
    [0, "fileid", "INTEGER", 0, null, 1],
    [1, "last_uploaded", "TIMESTAMP", 0, null, 0],
    [2, "last_checked", "TIMESTAMP", 0, null, 0],
  ],
  directories: [
    [0, "dirhash", "varchar(256)", 0, null, 1],
    [1, "dircap", "varchar(256)", 0, null, 0],
    [2, "last_uploaded", "TIMESTAMP", 0, null, 0],
    [3, "last_checked", "TIMESTAMP", 0, null, 0],
  ],
};

const A = { size: 3, mtime: 1_799_999_000, ctime: 1_799_999_001 };
const CAP = "URI:CHK:aaaa:bbbb:1:1:3";

describe("a new backupdb", () => {
  it("is created on save with Tahoe's tables, version 2, caps as BLOBs like Tahoe 1.20's, and no temp file left", async () => {
    const db = await BackupDb.open(file, options);
    expect(existsSync(file)).toBe(false);
    db.didUploadFile("/home/u/a.txt", A, CAP);
    db.didCreateDirectory(backupDirhash(new Map([["a.txt", CAP]])), "URI:DIR2-CHK:x:y:1:1:100");
    await db.save();
    db.close();
    for (const [table, info] of Object.entries(TAHOE_TABLES)) {
      expect(rows(`PRAGMA table_info(${table})`), table).toEqual(info);
    }
    expect(rows("SELECT version FROM version")).toEqual([[2]]);
    expect(rows("SELECT typeof(path), typeof(size), typeof(mtime), typeof(ctime) FROM local_files")).toEqual([
      ["text", "integer", "integer", "integer"],
    ]);
    expect(rows("SELECT typeof(filecap) FROM caps")).toEqual([["blob"]]);
    expect(rows("SELECT typeof(last_uploaded), typeof(last_checked) FROM last_upload")).toEqual([
      ["real", "real"],
    ]);
    expect(rows("SELECT typeof(dirhash), typeof(dircap) FROM directories")).toEqual([["blob", "blob"]]);
    expect(readdirSync(dir)).toEqual(["backupdb.sqlite"]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe("files", () => {
  it("an upload is remembered across a reopen, and reused while size, mtime and ctime match", async () => {
    let db = await BackupDb.open(file, options);
    expect(db.checkFile("/home/u/a.txt", A, true)).toEqual({ filecap: undefined, shouldCheck: false });
    db.didUploadFile("/home/u/a.txt", A, CAP);
    db = await reopen(db);
    expect(db.checkFile("/home/u/a.txt", A, true)).toEqual({ filecap: CAP, shouldCheck: false });
    expect(db.checkFile("/home/u/other.txt", A, true).filecap).toBeUndefined();
    db.close();
  });

  it("a changed size, mtime or ctime, or --ignore-timestamps, means upload, and forgets the old entry", async () => {
    for (const changed of [
      { ...A, size: 4 },
      { ...A, mtime: A.mtime + 1 },
      { ...A, ctime: A.ctime + 1 },
    ]) {
      let db = await BackupDb.open(file, options);
      db.didUploadFile("/p", A, CAP);
      db = await reopen(db);
      expect(db.checkFile("/p", changed, true).filecap).toBeUndefined();
      db = await reopen(db);
      expect(db.checkFile("/p", A, true).filecap, "the entry was deleted").toBeUndefined();
      db.close();
    }
    const db = await BackupDb.open(file, options);
    db.didUploadFile("/p", A, CAP);
    expect(db.checkFile("/p", A, false).filecap).toBeUndefined();
    db.close();
  });

  it("identical files share one caps row (the filecap is reused by its hash)", async () => {
    let db = await BackupDb.open(file, options);
    db.didUploadFile("/one", A, CAP);
    db.didUploadFile("/two", A, CAP);
    db.didUploadFile("/three", A, "URI:LIT:nbuq");
    db = await reopen(db);
    db.close();
    expect(rows("SELECT count(*) FROM caps")).toEqual([[2]]);
    expect(rows("SELECT path, fileid FROM local_files ORDER BY path")).toEqual([
      ["/one", 1],
      ["/three", 2],
      ["/two", 1],
    ]);
  });

  it("follows Tahoe's re-check window: never before a month, by chance between one and two, always after", async () => {
    let db = await BackupDb.open(file, options);
    db.didUploadFile("/p", A, CAP);
    db = await reopen(db);
    draw = 0;
    clock += 29 * DAY;
    expect(db.checkFile("/p", A, true).shouldCheck).toBe(false);
    clock += 16 * DAY; // 45 days: a one-in-two chance
    draw = 0.49;
    expect(db.checkFile("/p", A, true)).toEqual({ filecap: CAP, shouldCheck: true });
    draw = 0.51;
    expect(db.checkFile("/p", A, true).shouldCheck).toBe(false);
    clock += 16 * DAY;
    draw = 0.999;
    expect(db.checkFile("/p", A, true).shouldCheck).toBe(true);
    db.didCheckFileHealthy(CAP);
    db = await reopen(db);
    expect(db.checkFile("/p", A, true)).toEqual({ filecap: CAP, shouldCheck: false });
    db.close();
  });
});

describe("directories", () => {
  it("hash their (name, cap) pairs as Tahoe's backupdb_dirhash does, in any order", () => {
    // Computed by Tahoe-LAFS 1.20's BackupDB_v2.check_directory for {"f.txt": b"URI:LIT:nbuq"}.
    expect(backupDirhash(new Map([["f.txt", "URI:LIT:nbuq"]]))).toBe(
      "vfagd4derj753orzzyzrlrsk43mzxupa6x6s4jtbwvgeqmnyyvla",
    );
    const one = new Map([
      ["b", "URI:LIT:a"],
      ["é", "URI:LIT:b"],
      ["a", "URI:LIT:c"],
    ]);
    const two = new Map([...one].reverse());
    expect(backupDirhash(one)).toBe(backupDirhash(two));
    expect(backupDirhash(one)).not.toBe(backupDirhash(new Map([...one, ["a", "URI:LIT:d"]])));
  });

  it("a created directory is reused for the same contents, and re-checked after the window", async () => {
    const contents = new Map([["a.txt", CAP]]);
    let db = await BackupDb.open(file, options);
    const first = db.checkDirectory(contents);
    expect(first.dircap).toBeUndefined();
    db.didCreateDirectory(first.dirhash, "URI:DIR2-CHK:x:y:1:1:100");
    db = await reopen(db);
    expect(db.checkDirectory(contents)).toEqual({
      dirhash: first.dirhash,
      dircap: "URI:DIR2-CHK:x:y:1:1:100",
      shouldCheck: false,
    });
    clock += 61 * DAY;
    expect(db.checkDirectory(contents).shouldCheck).toBe(true);
    db.didCheckDirectoryHealthy("URI:DIR2-CHK:x:y:1:1:100");
    expect(db.checkDirectory(contents).shouldCheck).toBe(false);
    db.close();
  });
});

function writeDb(sqls: string[]): void {
  const db = new SQL.Database();
  for (const sql of sqls) db.run(sql);
  writeFileSync(file, db.export());
  db.close();
}

const V1 = [
  "CREATE TABLE version (version INTEGER)",
  "CREATE TABLE local_files (path VARCHAR(1024) PRIMARY KEY, size INTEGER, mtime NUMBER, ctime NUMBER, fileid INTEGER)",
  "CREATE TABLE caps (fileid INTEGER PRIMARY KEY AUTOINCREMENT, filecap VARCHAR(256) UNIQUE)",
  "CREATE TABLE last_upload (fileid INTEGER PRIMARY KEY, last_uploaded TIMESTAMP, last_checked TIMESTAMP)",
];

describe("databases written by others", () => {
  it("a version 1 database is upgraded to 2, keeping its entries; TEXT caps of older Tahoes are read", async () => {
    writeDb([
      ...V1,
      "INSERT INTO version VALUES (1)",
      `INSERT INTO caps VALUES (7, '${CAP}')`,
      `INSERT INTO last_upload VALUES (7, ${clock}, ${clock})`,
      `INSERT INTO local_files VALUES ('/p', ${A.size}, ${A.mtime}, ${A.ctime}, 7)`,
    ]);
    let db = await BackupDb.open(file, options);
    expect(db.checkFile("/p", A, true)).toEqual({ filecap: CAP, shouldCheck: false });
    db = await reopen(db);
    db.close();
    expect(rows("SELECT version FROM version")).toEqual([[2]]);
    expect(rows("PRAGMA table_info(directories)")).toEqual(TAHOE_TABLES.directories);
  });

  it("a corrupt file, a foreign schema and an unknown version are clear errors naming the file, which stays unchanged", async () => {
    const cases: [() => void, string, RegExp][] = [
      [() => writeFileSync(file, randomBytes(4096)), "TAHOE_ERR_CLI_BACKUPDB_UNUSABLE", /not a database/],
      [
        () => writeDb(["CREATE TABLE notes (text TEXT)"]),
        "TAHOE_ERR_CLI_BACKUPDB_UNUSABLE",
        /no such table: version/,
      ],
      [
        () =>
          writeDb([
            ...V1.slice(0, 1),
            "CREATE TABLE local_files (name TEXT, size INTEGER)",
            ...V1.slice(2),
            "INSERT INTO version VALUES (2)",
          ]),
        "TAHOE_ERR_CLI_BACKUPDB_UNUSABLE",
        /table local_files has columns \(name, size\)/,
      ],
      [
        () => writeDb([...V1, "INSERT INTO version VALUES (3)"]),
        "TAHOE_ERR_CLI_BACKUPDB_VERSION",
        /version 3/,
      ],
    ];
    for (const [make, code, detail] of cases) {
      make();
      const before = readFileSync(file);
      const error = await BackupDb.open(file, options).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(error?.code).toBe(code);
      expect(error?.message).toContain(file);
      expect(error?.message).toMatch(detail);
      expect(readFileSync(file).equals(before)).toBe(true);
    }
  });

  it("an unfinished SQLite transaction beside the file (a -journal) is refused, and nothing is touched", async () => {
    const db = await BackupDb.open(file, options);
    db.didUploadFile("/p", A, CAP);
    await db.save();
    db.close();
    writeFileSync(`${file}-journal`, randomBytes(512));
    await expect(BackupDb.open(file, options)).rejects.toMatchObject({
      code: "TAHOE_ERR_CLI_BACKUPDB_UNUSABLE",
      message: expect.stringContaining(`${file}-journal`),
    });
    writeFileSync(`${file}-journal`, "");
    (await BackupDb.open(file, options)).close();
  });

  it("a database that cannot be written is a clear error: at the start when its directory is missing, else on save", async () => {
    const missing = join(dir, "missing", "backupdb.sqlite");
    await expect(BackupDb.open(missing, options)).rejects.toMatchObject({
      code: "TAHOE_ERR_CLI_BACKUPDB_WRITE",
      message: expect.stringContaining(missing),
    });
    const sub = join(dir, "sub");
    mkdirSync(sub);
    const db = await BackupDb.open(join(sub, "backupdb.sqlite"), options);
    db.didUploadFile("/p", A, CAP);
    rmSync(sub, { recursive: true });
    await expect(db.save()).rejects.toMatchObject({ code: "TAHOE_ERR_CLI_BACKUPDB_WRITE" });
    db.close();
  });
});
