import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { gridPathUrl, readAliases, resolveGridPath } from "./aliases.js";
import { archiveName, summary } from "./backup-report.js";
import { BackerUpper, type Gateway, request, textBody } from "./backup-upper.js";
import { collectBackupTargets, excludeFilter } from "./backup-walk.js";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type ParsedOptions, params } from "./option-parser.js";
import { absolutePath, quotePath } from "./paths.js";
import {
  CliTransferError,
  NODE_URL_OPTION,
  nodeDirectory,
  nodeUrl,
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
