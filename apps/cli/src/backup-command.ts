import { open, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { gridPathUrl, readAliases, resolveGridPath } from "./aliases.js";
import type { BackupDb, LocalFileStat } from "./backup-db.js";
import {
  type BackupTarget,
  collectBackupTargets,
  excludeFilter,
  localStat,
  type SkipReason,
} from "./backup-walk.js";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type ParsedOptions, params } from "./option-parser.js";
import { absolutePath, quotePath } from "./paths.js";
import {
  CliTransferError,
  httpError,
  NODE_URL_OPTION,
  nodeDirectory,
  nodeUrl,
  readBody,
  send,
  uploadAuthorization,
} from "./put-get-commands.js";
import { CliUsageError } from "./usage-error.js";

/** Tahoe's BackupOptions.vcs_patterns: what --exclude-vcs leaves out. */
const VCS_PATTERNS = [
  "CVS",
  "RCS",
  "SCCS",
  ".git",
  ".gitignore",
  ".cvsignore",
  ".svn",
  ".arch-ids",
  "{arch}",
  "=RELEASE-ID",
  "=meta-update",
  "=update",
  ".bzr",
  ".bzrignore",
  ".bzrtags",
  ".hg",
  ".hgignore",
  "_darcs",
];

const SAVE_EVERY_MS = 10_000;
const REDRAW_MS = 100;

type Kind = "filenode" | "dirnode";
interface Child {
  readonly kind: Kind;
  readonly cap: string;
  readonly metadata: Record<string, number>;
}

/** The counts of Tahoe's BackupProgress and BackupComplete. */
interface Counts {
  filesCreated: number;
  filesReused: number;
  filesSkipped: number;
  directoriesCreated: number;
  directoriesReused: number;
  directoriesSkipped: number;
  filesChecked: number;
  directoriesChecked: number;
}

/** The node's web API, with the upload token read once. */
interface Gateway {
  readonly base: URL;
  readonly auth: Record<string, string>;
}

async function request(
  gateway: Gateway,
  method: string,
  path: string,
  body?: { stream: Readable; length: number },
): Promise<{ status: number; text: string; error?: CliTransferError; what: string }> {
  const headers: Record<string, string | number> = method === "GET" ? {} : { ...gateway.auth };
  if (body !== undefined) headers["content-length"] = body.length;
  const res = await send(new URL(path, gateway.base), method, body?.stream, headers);
  const what = `${method} ${decodeURIComponent(path.split("?")[0] as string)}`;
  const status = res.statusCode ?? 0;
  if (status >= 300) return { status, text: "", error: await httpError(res, what), what };
  return { status, text: (await readBody(res)).trim(), what };
}

const textBody = (text: string) => ({
  stream: Readable.from([Buffer.from(text)]),
  length: Buffer.byteLength(text),
});

/** str(datetime.timedelta) without the microseconds: "0:00:07", "1 day, 2:03:04". */
export function formatElapsed(ms: number): string {
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const h = Math.floor(total / 3600) % 24;
  const m = String(Math.floor(total / 60) % 60).padStart(2, "0");
  const s = String(total % 60).padStart(2, "0");
  const clock = `${h}:${m}:${s}`;
  return days === 0 ? clock : `${days} day${days === 1 ? "" : "s"}, ${clock}`;
}

/** Tahoe's archive name: iso_utc(int(time.time()), sep="_") + "Z". */
export function archiveName(nowMs: number): string {
  return `${new Date(Math.floor(nowMs / 1000) * 1000).toISOString().slice(0, 19).replace("T", "_")}Z`;
}

const WARNINGS: Record<SkipReason, (kind: string, path: string) => string> = {
  permission: (kind, path) => `WARNING: permission denied on ${kind} ${path}`,
  encoding: (kind, path) => `WARNING: could not list ${kind} ${path} due to a filename encoding error`,
  symlink: (_kind, path) => `WARNING: cannot backup symlink ${path}`,
  special: (_kind, path) => `WARNING: cannot backup special ${path}`,
};

class BackerUpper {
  readonly counts: Counts = {
    filesCreated: 0,
    filesReused: 0,
    filesSkipped: 0,
    directoriesCreated: 0,
    directoriesReused: 0,
    directoriesSkipped: 0,
    filesChecked: 0,
    directoriesChecked: 0,
  };
  /** The finished children of each local directory, by the directory's path. */
  private readonly children = new Map<string, Map<string, Child>>();
  private progressShown = false;
  private drawnAt = 0;
  lastDircap: string | undefined;

  constructor(
    private readonly context: CommandContext,
    private readonly gateway: Gateway,
    private readonly db: BackupDb,
    private readonly options: { verbose: boolean; useTimestamps: boolean; interactive: boolean },
    private readonly started: number,
    private readonly total: number,
  ) {}

  async backup(target: BackupTarget): Promise<void> {
    if (target.kind === "file") await this.file(target.path);
    else if (target.kind === "directory") await this.directory(target.path);
    else this.skip(target.path, target.isDir, target.why);
    this.drawProgress(false);
  }

  /** -v lines on stdout; on a terminal the progress line is cleared first so the two don't mix. */
  private verbose(line: string): void {
    if (!this.options.verbose) return;
    this.clearProgress();
    this.context.out(`${line}\n`);
  }

  private warn(line: string): void {
    this.clearProgress();
    this.context.err(`${line}\n`);
  }

  private skip(path: string, isDir: boolean, why: SkipReason): void {
    if (isDir) this.counts.directoriesSkipped += 1;
    else this.counts.filesSkipped += 1;
    this.warn(WARNINGS[why](isDir ? "directory" : "file", quotePath(path)));
  }

  private record(path: string, child: Child): void {
    const parent = dirname(path);
    let siblings = this.children.get(parent);
    if (siblings === undefined) {
      siblings = new Map();
      this.children.set(parent, siblings);
    }
    siblings.set(basename(path), child);
  }

  private async file(path: string): Promise<void> {
    let local: Awaited<ReturnType<typeof localStat>>;
    try {
      local = await localStat(path);
    } catch {
      return this.skip(path, false, "permission");
    }
    const reuse = await this.reusableFile(path, local);
    if (reuse !== undefined) {
      this.verbose(`skipping ${quotePath(path)}..`);
      this.counts.filesReused += 1;
      this.record(path, { kind: "filenode", cap: reuse, metadata: local.metadata });
      return;
    }
    this.verbose(`uploading ${quotePath(path)}..`);
    const cap = await this.upload(path);
    if (cap === undefined) return this.skip(path, false, "permission");
    this.verbose(` ${path} -> ${cap}`);
    this.db.didUploadFile(path, local, cap);
    this.counts.filesCreated += 1;
    this.record(path, { kind: "filenode", cap, metadata: local.metadata });
  }

  /** The cap of an earlier upload of this very file, when the backupdb (and a check if due) says so. */
  private async reusableFile(path: string, local: LocalFileStat): Promise<string | undefined> {
    const verdict = this.db.checkFile(path, local, this.options.useTimestamps);
    if (verdict.filecap === undefined) return undefined;
    if (!verdict.shouldCheck) return verdict.filecap;
    this.counts.filesChecked += 1;
    if (!(await this.healthy(verdict.filecap))) return undefined;
    this.db.didCheckFileHealthy(verdict.filecap);
    return verdict.filecap;
  }

  /** Tahoe's check before trusting an old entry: POST t=check; anything but a healthy answer means redo. */
  private async healthy(cap: string): Promise<boolean> {
    this.verbose(`checking ${quotePath(cap)}`);
    const answer = await request(this.gateway, "POST", `uri/${encodeURIComponent(cap)}?t=check&output=JSON`);
    if (answer.status !== 200) return false;
    try {
      return (JSON.parse(answer.text) as { results?: { healthy?: unknown } }).results?.healthy === true;
    } catch {
      return false;
    }
  }

  /** An unlinked immutable upload (PUT /uri); undefined when the file cannot be opened. */
  private async upload(path: string): Promise<string | undefined> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, "r");
    } catch {
      return undefined;
    }
    try {
      const { size } = await handle.stat();
      // Exactly the bytes stat saw: a file that grows meanwhile must not overrun content-length.
      const stream =
        size === 0
          ? Readable.from([])
          : handle.createReadStream({ start: 0, end: size - 1, autoClose: false });
      const answer = await request(this.gateway, "PUT", "uri", { stream, length: size });
      if (answer.error !== undefined) throw answer.error;
      return answer.text;
    } finally {
      await handle.close();
    }
  }

  private async directory(path: string): Promise<void> {
    const metadata = await localStat(path).then(
      (s) => s.metadata,
      () => ({}),
    );
    const kids = this.children.get(path) ?? new Map<string, Child>();
    this.children.delete(path);
    const compare = new Map([...kids].map(([name, child]) => [name, child.cap]));
    const verdict = this.db.checkDirectory(compare);
    let dircap = verdict.dircap;
    if (dircap !== undefined && verdict.shouldCheck) {
      this.counts.directoriesChecked += 1;
      if (await this.healthy(dircap)) this.db.didCheckDirectoryHealthy(dircap);
      else dircap = undefined;
    }
    if (dircap === undefined) {
      this.verbose(` creating directory for ${quotePath(path)}`);
      dircap = await this.mkdirImmutable(kids);
      this.db.didCreateDirectory(verdict.dirhash, dircap);
      this.counts.directoriesCreated += 1;
    } else {
      this.verbose(` re-using old directory for ${quotePath(path)}`);
      this.counts.directoriesReused += 1;
    }
    this.record(path, { kind: "dirnode", cap: dircap, metadata });
    this.lastDircap = dircap;
  }

  private async mkdirImmutable(kids: ReadonlyMap<string, Child>): Promise<string> {
    const body: Record<string, [Kind, { ro_uri: string; metadata: Record<string, number> }]> = {};
    for (const [name, child] of kids)
      body[name] = [child.kind, { ro_uri: child.cap, metadata: child.metadata }];
    const answer = await request(
      this.gateway,
      "POST",
      "uri?t=mkdir-immutable",
      textBody(JSON.stringify(body)),
    );
    if (answer.error !== undefined) throw answer.error;
    return answer.text;
  }

  /** Tahoe's "Backing up N/T... elapsed" line, on stderr and only on a terminal. */
  drawProgress(final: boolean): void {
    if (!this.options.interactive) return;
    const now = Date.now();
    if (!final && now - this.drawnAt < REDRAW_MS) return;
    this.drawnAt = now;
    const c = this.counts;
    const done =
      c.filesCreated +
      c.filesReused +
      c.filesSkipped +
      c.directoriesCreated +
      c.directoriesReused +
      c.directoriesSkipped;
    const seconds = Math.floor((now - this.started) / 1000);
    const elapsed = `${Math.floor(seconds / 3600)}h ${Math.floor(seconds / 60) % 60}m ${seconds % 60}s`;
    this.context.err(`\rBacking up ${done}/${this.total}... ${elapsed} elapsed...\x1b[K`);
    this.progressShown = true;
    if (final) this.clearProgress();
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.context.err("\r\x1b[K");
    this.progressShown = false;
  }
}

/** Tahoe's BackupComplete.report: the counts line, with -v the checks line, then the time. */
export function summary(counts: Counts, verbose: boolean, elapsedMs: number): string {
  const c = counts;
  const lines = [
    ` ${c.filesCreated} files uploaded (${c.filesReused} reused), ${c.filesSkipped} files skipped, ` +
      `${c.directoriesCreated} directories created (${c.directoriesReused} reused), ${c.directoriesSkipped} directories skipped`,
  ];
  if (verbose) lines.push(` ${c.filesChecked} files checked, ${c.directoriesChecked} directories checked`);
  lines.push(` backup done, elapsed time: ${formatElapsed(elapsedMs)}`);
  return `${lines.join("\n")}\n`;
}

/** Tahoe's opt_exclude_from_utf_8: one glob per line, blank lines ignored. */
async function excludesFrom(file: string, context: CommandContext): Promise<string[]> {
  const path = absolutePath(file, context.io.cwd, context.io.homeDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CliUsageError(
      `Error opening exclude file ${quotePath(path)}. (Error: ${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return text.split("\n");
}

async function excludePatterns(parsed: ParsedOptions, context: CommandContext): Promise<string[]> {
  const typed = [...params(parsed, "exclude")];
  for (const file of params(parsed, "exclude-from-utf-8")) typed.push(...(await excludesFrom(file, context)));
  if (flag(parsed, "exclude-vcs")) typed.push(...VCS_PATTERNS);
  return [...new Set(typed.map((p) => p.trim()).filter((p) => p !== ""))];
}

async function backup(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length !== 2)
    throw new CliUsageError(
      `Wrong number of arguments: expected FROM and ALIAS:TO, got ${parsed.args.length}.`,
      "tahoe backup [options] FROM ALIAS:TO",
    );
  const started = Date.now();
  const [from, to] = parsed.args as [string, string];
  const local = absolutePath(from, context.io.cwd, context.io.homeDir);
  const keep = excludeFilter(await excludePatterns(parsed, context));
  const isDir = await stat(local).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir)
    throw new CliTransferError(
      "TAHOE_ERR_CLI_READ_FAILED",
      `cannot back up ${quotePath(local)}: not a directory`,
      "tahoe backup takes a local directory and backs up everything under it.",
    );
  const nodeDir = nodeDirectory(context);
  const target = resolveGridPath(to, await readAliases(nodeDir));
  if (target === undefined) throw new CliUsageError(`not a grid path: ${to}`);
  const gateway: Gateway = { base: await nodeUrl(parsed, context), auth: await uploadAuthorization(context) };
  // Loaded here: SQLite (WebAssembly) is for this verb alone.
  const { BackupDb } = await import("./backup-db.js");
  const db = await BackupDb.open(join(nodeDir, "private", "backupdb.sqlite"));
  try {
    const toUrl = gridPathUrl({ ...target, path: target.path.replace(/\/+$/, "") });
    const archivesUrl = `${toUrl}/Archives`;
    // First make sure TO/Archives exists, as Tahoe does before touching anything else.
    const archives = await request(gateway, "GET", `${archivesUrl}?t=json`);
    if (archives.status === 404) {
      const made = await request(gateway, "POST", `${archivesUrl}?t=mkdir`);
      if (made.status !== 200)
        throw new CliTransferError(
          "TAHOE_ERR_CLI_HTTP",
          `Unable to create target directory: ${made.error?.message ?? made.status}`,
          "Check that ALIAS:TO is a writeable directory (tahoe ls).",
        );
    } else if (archives.error !== undefined) throw archives.error;

    const targets = await collectBackupTargets(local, keep);
    const interactive = !context.global.quiet && process.stderr.isTTY === true;
    const verbose = flag(parsed, "verbose");
    const useTimestamps = !flag(parsed, "ignore-timestamps");
    const upper = new BackerUpper(
      context,
      gateway,
      db,
      { verbose, useTimestamps, interactive },
      started,
      targets.length,
    );
    let savedAt = Date.now();
    for (const t of targets) {
      await upper.backup(t);
      if (t.kind === "directory" && Date.now() - savedAt > SAVE_EVERY_MS) {
        await db.save();
        savedAt = Date.now();
      }
    }
    upper.drawProgress(true);
    // Tahoe's elapsed time ends here, before the snapshot is linked.
    const finished = Date.now();
    await db.save();
    const dircap = upper.lastDircap;
    if (dircap === undefined || targets[targets.length - 1]?.kind !== "directory")
      throw new CliTransferError(
        "TAHOE_ERR_CLI_READ_FAILED",
        `cannot back up ${quotePath(local)}: it could not be listed`,
        "Check that the directory is readable by this user.",
      );
    // Third: link the new snapshot under Archives/<UTC time> and as Latest.
    const name = archiveName(Date.now());
    for (const [where, what] of [
      [`${archivesUrl}/${encodeURIComponent(name)}?t=uri`, `Archives/${name}`],
      [`${toUrl}/Latest?t=uri`, "Latest"],
    ] as const) {
      const linked = await request(gateway, "PUT", where, textBody(dircap));
      if (linked.error !== undefined || (linked.status !== 200 && linked.status !== 201))
        throw (
          linked.error ?? new CliTransferError("TAHOE_ERR_CLI_HTTP", `linking ${what}: ${linked.status}`, "")
        );
    }
    context.out(summary(upper.counts, verbose, finished - started));
    const c = upper.counts;
    return c.filesSkipped > 0 || c.directoriesSkipped > 0 ? 2 : 0;
  } finally {
    // Uploads done before a failure stay recorded, so a rerun does not redo them.
    try {
      await db.save();
    } finally {
      db.close();
    }
  }
}

export const backupCommand: CliCommand = {
  name: "backup",
  group: "Using the filesystem",
  summary: "Make target dir look like local dir.",
  synopsis: "[options] FROM ALIAS:TO",
  description:
    "Add a versioned backup of the local FROM directory to a timestamped subdirectory of the TO/Archives " +
    "directory on the grid, sharing as many files and directories as possible with earlier backups. Create " +
    "TO/Latest as a reference to the latest backup. Behaves somewhat like 'rsync -a " +
    "--link-dest=TO/Archives/(previous) FROM TO/Archives/(new); ln -sf TO/Archives/(new) TO/Latest'. " +
    "Unchanged files are found through NODEDIR/private/backupdb.sqlite, Tahoe-LAFS's own backup database. " +
    "Symlinks and special files are skipped with a warning; the exit code is 2 when anything was skipped. " +
    "Progress is shown when stderr is a terminal.",
  options: (context) => [
    NODE_URL_OPTION(context),
    { name: "verbose", short: "v", takesValue: false, help: "Be noisy about what is happening." },
    {
      name: "ignore-timestamps",
      takesValue: false,
      help: "Do not use backupdb timestamps to decide whether a local file is unchanged.",
    },
    {
      name: "exclude",
      takesValue: true,
      help: "Ignore files matching a glob pattern. You may give multiple '--exclude' options.",
    },
    {
      name: "exclude-from-utf-8",
      takesValue: true,
      help: "Ignore file matching glob patterns listed in file, one per line. The file is assumed to be in the argv encoding.",
    },
    {
      name: "exclude-vcs",
      takesValue: false,
      help: "Exclude files and directories used by following version control systems: CVS, RCS, SCCS, Git, SVN, Arch, Bazaar(bzr), Mercurial, Darcs.",
    },
  ],
  run: backup,
};
