import { access, constants, open, rename, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { base32Encode, netstring, taggedHash } from "@lafs/crypto";
import { TahoeError } from "@lafs/interface";
import type initSqlJs from "sql.js";
import type { Database, SqlValue, Statement } from "sql.js";
import { quotePath } from "./paths.js";

/**
 * Tahoe-LAFS's backupdb (NODEDIR/private/backupdb.sqlite, schema version 2), read and written
 * with Tahoe's tables and rules so a user's existing database keeps working and Tahoe can use
 * ours. SQLite comes from sql.js (WebAssembly, no native build): the file is read whole into
 * memory and written back whole, through a temporary file and a rename, by save().
 */

export type BackupDbErrorCode =
  | "TAHOE_ERR_CLI_BACKUPDB_UNUSABLE"
  | "TAHOE_ERR_CLI_BACKUPDB_VERSION"
  | "TAHOE_ERR_CLI_BACKUPDB_WRITE";

export class BackupDbError extends TahoeError {
  declare readonly code: BackupDbErrorCode;
  constructor(code: BackupDbErrorCode, message: string, hint: string, cause?: unknown) {
    super(code, message, { hint, cause });
  }
}

const DAY = 24 * 60 * 60;
const MONTH = 30 * DAY;
/** Tahoe's window: an entry younger than a month is trusted, older than two is always re-checked. */
export const NO_CHECK_BEFORE = MONTH;
export const ALWAYS_CHECK_AFTER = 2 * MONTH;

const SCHEMA_VERSION = 2;
const DIRHASH_TAG = "allmydata_backupdb_dirhash_v1";

// Column names, declared types and keys exactly as Tahoe 1.20's backupdb.py creates them: the
// declared types decide SQLite's type affinity, so they must match for the stored values to.
const TABLES_V1 = [
  "CREATE TABLE version (version INTEGER)",
  "CREATE TABLE local_files (path VARCHAR(1024) PRIMARY KEY, size INTEGER, mtime NUMBER, ctime NUMBER, fileid INTEGER)",
  "CREATE TABLE caps (fileid INTEGER PRIMARY KEY AUTOINCREMENT, filecap VARCHAR(256) UNIQUE)",
  "CREATE TABLE last_upload (fileid INTEGER PRIMARY KEY, last_uploaded TIMESTAMP, last_checked TIMESTAMP)",
];
const TABLE_DIRECTORIES =
  "CREATE TABLE directories (dirhash varchar(256) PRIMARY KEY, dircap varchar(256), last_uploaded TIMESTAMP, last_checked TIMESTAMP)";

/** The columns each table must have for this to be a backupdb we can use. */
const EXPECTED_COLUMNS: Record<string, readonly string[]> = {
  version: ["version"],
  local_files: ["path", "size", "mtime", "ctime", "fileid"],
  caps: ["fileid", "filecap"],
  last_upload: ["fileid", "last_uploaded", "last_checked"],
  directories: ["dirhash", "dircap", "last_uploaded", "last_checked"],
};

type SqlJs = Awaited<ReturnType<typeof initSqlJs>>;
let sqlJs: Promise<SqlJs> | undefined;

/**
 * sql.js is loaded with Node's own require, not bundled: it finds its .wasm next to itself
 * (through __dirname, which a bundled ES module does not have).
 */
function loadSqlJs(): Promise<SqlJs> {
  sqlJs ??= (createRequire(import.meta.url)("sql.js") as typeof initSqlJs)();
  return sqlJs;
}

/** What the backup knows of a local file: os.stat's size and whole-second mtime and ctime. */
export interface LocalFileStat {
  readonly size: number;
  readonly mtime: number;
  readonly ctime: number;
}

/** filecap absent: upload. Present and shouldCheck: check it first (t=check), reuse if healthy. */
export interface FileVerdict {
  readonly filecap: string | undefined;
  readonly shouldCheck: boolean;
}

export interface DirectoryVerdict {
  readonly dirhash: string;
  readonly dircap: string | undefined;
  readonly shouldCheck: boolean;
}

export interface BackupDbOptions {
  /** Seconds since the epoch (tests move time). */
  readonly now?: () => number;
  /** In [0, 1): the draw that decides a re-check (tests fix it). */
  readonly random?: () => number;
}

/** Caps are stored as BLOBs, as Tahoe 1.20 (Python 3 bytes) stores them; older Tahoes wrote TEXT. */
const blob = (text: string): Uint8Array => Buffer.from(text, "utf8");

function text(value: SqlValue | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return String(value);
}

/**
 * Tahoe's directory fingerprint: the sorted (name, childcap) pairs as netstrings, tagged-hashed,
 * in base32. Two local directories with the same names and child caps get the same one.
 */
export function backupDirhash(contents: ReadonlyMap<string, string>): string {
  const entries = [...contents].map(([name, cap]) => [Buffer.from(name, "utf8"), Buffer.from(cap, "utf8")]);
  entries.sort(([a], [b]) => Buffer.compare(a as Buffer, b as Buffer));
  const data = Buffer.concat(entries.flatMap(([name, cap]) => [netstring(name!), netstring(cap!)]));
  return base32Encode(taggedHash(DIRHASH_TAG, data));
}

export class BackupDb {
  private dirty = false;
  /** Changes since the last save go in one transaction: SQLite commits each statement otherwise, 10x slower. */
  private inTransaction = false;
  /** Prepared once per SQL text; export() frees them, so save() empties this. */
  private readonly statements = new Map<string, Statement>();
  private readonly now: () => number;
  private readonly random: () => number;

  private constructor(
    readonly file: string,
    private readonly db: Database,
    options: BackupDbOptions,
  ) {
    this.now = options.now ?? (() => Date.now() / 1000);
    this.random = options.random ?? Math.random;
  }

  /** Opens FILE, or starts a new database that save() will create there. */
  static async open(file: string, options: BackupDbOptions = {}): Promise<BackupDb> {
    await refuseLiveJournal(file);
    const SQL = await loadSqlJs();
    let bytes: Buffer | undefined;
    try {
      const handle = await open(file, "r");
      try {
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw unusable(file, error);
    }
    if (bytes === undefined) {
      // Found out now, not after the whole backup is uploaded (Tahoe also fails at the start).
      await access(dirname(file), constants.W_OK).catch((error: unknown) => {
        throw cannotWrite(file, error);
      });
      const db = new SQL.Database();
      for (const sql of [...TABLES_V1, TABLE_DIRECTORIES]) db.run(sql);
      db.run("INSERT INTO version (version) VALUES (?)", [SCHEMA_VERSION]);
      const fresh = new BackupDb(file, db, options);
      fresh.dirty = true;
      return fresh;
    }
    let db: Database;
    try {
      db = new SQL.Database(bytes);
    } catch (error) {
      throw unusable(file, error);
    }
    try {
      const upgraded = checkSchema(file, db);
      const opened = new BackupDb(file, db, options);
      opened.dirty = upgraded;
      return opened;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Tahoe's check_file: reuse the last upload while size, mtime and ctime are unchanged. */
  checkFile(path: string, now: LocalFileStat, useTimestamps: boolean): FileVerdict {
    const row = this.one("SELECT size, mtime, ctime, fileid FROM local_files WHERE path = ?", [path]);
    if (row === undefined) return { filecap: undefined, shouldCheck: false };
    const [size, mtime, ctime, fileid] = row;
    const known = this.one(
      "SELECT caps.filecap, last_upload.last_checked FROM caps, last_upload WHERE caps.fileid = ? AND last_upload.fileid = ?",
      [fileid ?? null, fileid ?? null],
    );
    const changed = size !== now.size || !useTimestamps || mtime !== now.mtime || ctime !== now.ctime;
    if (changed || known === undefined) {
      this.change("DELETE FROM local_files WHERE path = ?", [path]);
      return { filecap: undefined, shouldCheck: false };
    }
    return { filecap: text(known[0]), shouldCheck: this.dueForCheck(Number(known[1])) };
  }

  didUploadFile(path: string, now: LocalFileStat, filecap: string): void {
    const at = this.now();
    const fileid = this.fileidFor(filecap);
    this.change("INSERT OR REPLACE INTO last_upload VALUES (?, ?, ?)", [fileid, at, at]);
    this.change("INSERT OR REPLACE INTO local_files VALUES (?, ?, ?, ?, ?)", [
      path,
      now.size,
      now.mtime,
      now.ctime,
      fileid,
    ]);
  }

  didCheckFileHealthy(filecap: string): void {
    this.change("UPDATE last_upload SET last_checked = ? WHERE fileid = ?", [
      this.now(),
      this.fileidFor(filecap),
    ]);
  }

  /** Tahoe's check_directory: an immutable directory made earlier with exactly these children. */
  checkDirectory(contents: ReadonlyMap<string, string>): DirectoryVerdict {
    const dirhash = backupDirhash(contents);
    const row = this.one("SELECT dircap, last_checked FROM directories WHERE dirhash = ? OR dirhash = ?", [
      blob(dirhash),
      dirhash,
    ]);
    if (row === undefined) return { dirhash, dircap: undefined, shouldCheck: false };
    return { dirhash, dircap: text(row[0]), shouldCheck: this.dueForCheck(Number(row[1])) };
  }

  didCreateDirectory(dirhash: string, dircap: string): void {
    const at = this.now();
    this.change("DELETE FROM directories WHERE dirhash = ?", [dirhash]);
    this.change("REPLACE INTO directories VALUES (?, ?, ?, ?)", [blob(dirhash), blob(dircap), at, at]);
  }

  didCheckDirectoryHealthy(dircap: string): void {
    this.change("UPDATE directories SET last_checked = ? WHERE dircap = ? OR dircap = ?", [
      this.now(),
      blob(dircap),
      dircap,
    ]);
  }

  /** Writes the database to its file if anything changed: a new file, then a rename over the old. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    if (this.inTransaction) {
      this.db.run("COMMIT");
      this.inTransaction = false;
    }
    for (const statement of this.statements.values()) statement.free();
    this.statements.clear();
    const bytes = this.db.export();
    const temp = `${this.file}.${process.pid}.tmp`;
    const mode = await stat(this.file).then(
      (s) => s.mode & 0o777,
      () => 0o600,
    );
    try {
      const handle = await open(temp, "w", mode);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true });
      throw cannotWrite(this.file, error);
    }
    this.dirty = false;
  }

  /** Ends without saving: changes since the last save() are dropped. */
  close(): void {
    this.db.close();
  }

  /** Tahoe's re-check window: the chance of a check grows from 0 at one month to 1 at two. */
  private dueForCheck(lastChecked: number): boolean {
    const age = this.now() - lastChecked;
    const probability = (age - NO_CHECK_BEFORE) / (ALWAYS_CHECK_AFTER - NO_CHECK_BEFORE);
    return this.random() < Math.min(Math.max(probability, 0), 1);
  }

  /** One fileid per filecap: identical files (same cap) share a row, as in Tahoe. */
  private fileidFor(filecap: string): number {
    const find = () => this.one("SELECT fileid FROM caps WHERE filecap = ?", [blob(filecap)]);
    // Looked up first: INSERT OR IGNORE would use up an AUTOINCREMENT number on every repeat.
    let row = find();
    if (row === undefined) {
      this.change("INSERT INTO caps (filecap) VALUES (?)", [blob(filecap)]);
      row = find();
    }
    return Number(row?.[0]);
  }

  private statement(sql: string): Statement {
    let prepared = this.statements.get(sql);
    if (prepared === undefined) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  private one(sql: string, params: SqlValue[]): SqlValue[] | undefined {
    const statement = this.statement(sql);
    try {
      statement.bind(params);
      return statement.step() ? statement.get() : undefined;
    } finally {
      statement.reset();
    }
  }

  private change(sql: string, params: SqlValue[]): void {
    if (!this.inTransaction) {
      this.db.run("BEGIN");
      this.inTransaction = true;
    }
    this.statement(sql).run(params);
    this.dirty = true;
  }
}

/**
 * A non-empty -journal (or -wal) beside the file is a transaction SQLite has not finished: a Tahoe
 * backup running now, or one that crashed. SQLite would apply it on its next open, over whatever
 * we wrote, so the file is left alone.
 */
async function refuseLiveJournal(file: string): Promise<void> {
  for (const suffix of ["-journal", "-wal"]) {
    const size = await stat(`${file}${suffix}`).then(
      (s) => s.size,
      () => 0,
    );
    if (size > 0)
      throw new BackupDbError(
        "TAHOE_ERR_CLI_BACKUPDB_UNUSABLE",
        `the backup database ${quotePath(file)} has an unfinished SQLite transaction (${quotePath(`${file}${suffix}`)})`,
        "Another tahoe backup may be running from this node directory: wait for it. If none is, a crashed one left it: run Tahoe-LAFS's tahoe backup once (SQLite rolls it back), or move both files aside.",
      );
  }
}

function cannotWrite(file: string, cause: unknown): BackupDbError {
  return new BackupDbError(
    "TAHOE_ERR_CLI_BACKUPDB_WRITE",
    `cannot write the backup database ${quotePath(file)}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
    "Check that NODEDIR/private exists and is writable, and that the disk has room. Files already uploaded stay on the grid; the next backup uploads those this one could not record again, to the same caps.",
    cause,
  );
}

function unusable(file: string, cause: unknown): BackupDbError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BackupDbError(
    "TAHOE_ERR_CLI_BACKUPDB_UNUSABLE",
    `the backup database ${quotePath(file)} is unusable: ${detail}`,
    "It is not a Tahoe-LAFS backupdb (SQLite, schema version 2). Move it aside: the next backup starts a new one and uploads every file again (unchanged files get the same caps, so nothing is stored twice).",
    cause,
  );
}

/** Checks FILE's tables are Tahoe's; upgrades version 1 as Tahoe does. Returns whether it changed. */
function checkSchema(file: string, db: Database): boolean {
  let version: number;
  try {
    const rows = db.exec("SELECT version FROM version");
    version = Number(rows[0]?.values[0]?.[0]);
  } catch (error) {
    throw unusable(file, error);
  }
  let upgraded = false;
  if (version === 1) {
    db.run(TABLE_DIRECTORIES);
    db.run("UPDATE version SET version = 2");
    version = 2;
    upgraded = true;
  }
  if (version !== SCHEMA_VERSION) {
    throw new BackupDbError(
      "TAHOE_ERR_CLI_BACKUPDB_VERSION",
      `the backup database ${quotePath(file)} has schema version ${Number.isNaN(version) ? "(none)" : version}; this tahoe knows versions 1 and 2`,
      "It was written by a different program or a newer Tahoe-LAFS. Move it aside to start a new one.",
    );
  }
  for (const [table, columns] of Object.entries(EXPECTED_COLUMNS)) {
    const found = db.exec(`PRAGMA table_info(${table})`)[0]?.values.map((row) => String(row[1])) ?? [];
    if (found.join(",") !== columns.join(",")) {
      throw unusable(
        file,
        new Error(
          `table ${table} has columns (${found.join(", ")}), a Tahoe backupdb's has (${columns.join(", ")})`,
        ),
      );
    }
  }
  return upgraded;
}
