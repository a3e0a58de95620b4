import { open } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { Readable } from "node:stream";
import type { BackupDb, LocalFileStat } from "./backup-db.js";
import { type Counts, progressReport, SKIP_WARNINGS } from "./backup-report.js";
import { type BackupTarget, localStat, type SkipReason } from "./backup-walk.js";
import type { CommandContext } from "./command.js";
import { quotePath } from "./paths.js";
import { type CliTransferError, httpError, readBody, send } from "./put-get-commands.js";

/**
 * Tahoe's BackerUpper: each local entry, deepest first, uploaded or found again through the
 * backupdb (with a check when one is due), each directory made immutable from its children.
 */

const REDRAW_MS = 100;

type Kind = "filenode" | "dirnode";
interface Child {
  readonly kind: Kind;
  readonly cap: string;
  readonly metadata: Record<string, number>;
}

/** The node's web API, with the upload token read once. */
export interface Gateway {
  readonly base: URL;
  readonly auth: Record<string, string>;
}

export async function request(
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

export const textBody = (text: string) => ({
  stream: Readable.from([Buffer.from(text)]),
  length: Buffer.byteLength(text),
});

export class BackerUpper {
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
    this.warn(SKIP_WARNINGS[why](isDir ? "directory" : "file", quotePath(path)));
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
    this.context.err(`\r${progressReport(this.counts, this.total, now - this.started)}\x1b[K`);
    this.progressShown = true;
    if (final) this.clearProgress();
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.context.err("\r\x1b[K");
    this.progressShown = false;
  }
}
