import { bytesSource } from "@lafs/immutable";
import { silentLogger } from "@lafs/interface";
import { type MutableFormat, parseMutableCap, writekeyOf } from "@lafs/mutable";
import {
  createMutableFile,
  isMutableFileError,
  type MutableGridOptions,
  newMutableKeyPair,
  openDownload,
  openMutableFile,
  overwriteMutableFile,
  type ServerMap,
  updateServermap,
  uploadImmutable,
} from "@lafs/storage-client";
import {
  type DirectoryCap,
  type DirectoryFormat,
  directoryCapOfFileCap,
  parseDirectoryCap,
  readOnlyDirectoryCap,
  verifyDirectoryCap,
} from "./caps.js";
import { classifyChildCap } from "./child-caps.js";
import { DirectoryError, shownCap } from "./errors.js";
import { nowSeconds, updateMetadata } from "./metadata.js";
import { checkChildName, compareNames, normalizeName } from "./names.js";
import {
  type DirectoryEntry,
  type DirectoryProblem,
  packDirectory,
  type UnpackedDirectory,
  unpackDirectory,
} from "./pack.js";

/** Where directories live: the mutable-file grid options, plus what immutable directories need. */
export interface DirectoryGridOptions extends MutableGridOptions {
  /** private/convergence, so identical immutable directories dedupe; a random key when absent. */
  readonly convergenceSecret?: Uint8Array | undefined;
  /** Attempts of one edit before TAHOE_ERR_DIRECTORY_BUSY; default 4 (Tahoe's BackoffAgent). */
  readonly maxAttempts?: number | undefined;
  /** The first retry waits about this long, each next one e times longer; default 1000 ms (Tahoe's). */
  readonly retryDelayMs?: number | undefined;
  /** Seconds since the epoch for link times; default the clock. */
  readonly now?: (() => number) | undefined;
}

/** A child to link: its caps and, optionally, metadata that replaces all but `tahoe`. */
export interface ChildToSet {
  readonly writeCap?: string | undefined;
  readonly readCap?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/** replace=true (default), false (refuse an existing name) or "only-files" (refuse to replace a directory). */
export type ReplaceRule = boolean | "only-files";

export interface SetOptions {
  readonly replace?: ReplaceRule | undefined;
}

export interface RenameOptions extends SetOptions {
  /** Move into this directory instead (Tahoe's move_child_to with another parent). */
  readonly toDirectory?: DirectoryHandle | undefined;
}

export interface DirectoryHandle {
  readonly cap: string;
  readonly readCap: string;
  /** Undefined for DIR2-LIT, which has no verify cap. */
  readonly verifyCap: string | undefined;
  readonly writable: boolean;
  readonly format: DirectoryFormat;
  /** A fresh read of the children, sorted by name. */
  list(): Promise<readonly DirectoryEntry[]>;
  /** A fresh read with the entries that could not be read. */
  read(): Promise<UnpackedDirectory>;
  get(name: string): Promise<DirectoryEntry | undefined>;
  set(name: string, child: ChildToSet, opts?: SetOptions): Promise<void>;
  setMany(children: readonly (ChildToSet & { readonly name: string })[], opts?: SetOptions): Promise<void>;
  /** Removes a child and returns it; TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD when there is none. */
  delete(name: string): Promise<DirectoryEntry>;
  rename(from: string, to: string, opts?: RenameOptions): Promise<void>;
}

function label(cap: DirectoryCap): string {
  return `directory ${shownCap(cap.text)}`;
}

function readOnlyError(cap: DirectoryCap, what: string): DirectoryError {
  const kind = cap.mutable ? "a read-only cap" : "immutable";
  return new DirectoryError(
    "TAHOE_ERR_DIRECTORY_READ_ONLY",
    `cannot ${what} in ${label(cap)}: it is read-only (${kind})`,
    { hint: "Changing a directory needs its write cap (URI:DIR2: or URI:DIR2-MDMF:)." },
  );
}

function noSuchChild(cap: DirectoryCap, name: string): DirectoryError {
  return new DirectoryError(
    "TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD",
    `No such child: ${name} (in ${label(cap)})`,
    {
      hint: "List the directory to see its children; names are compared after NFC normalisation.",
    },
  );
}

function existingChild(cap: DirectoryCap, name: string, asDirectory: boolean): DirectoryError {
  return new DirectoryError(
    "TAHOE_ERR_DIRECTORY_EXISTS",
    `child ${JSON.stringify(name)} already exists${asDirectory ? " as a directory" : ""} (in ${label(cap)})`,
    { hint: "Pass replace=true to replace it, or choose another name." },
  );
}

/**
 * The entry Tahoe's set_uri(name, writecap, readcap) makes: a known cap becomes a node, so its
 * write cap is kept only when it is one (a URI:CHK: given as "write cap" is a read cap) and its
 * read cap is derived from it; unknown caps are kept as given (unknown.py).
 */
function entryOf(name: string, child: ChildToSet, metadata: Record<string, unknown>): DirectoryEntry {
  const givenWrite = child.writeCap === "" ? undefined : child.writeCap;
  const givenRead = child.readCap === "" ? undefined : child.readCap;
  if (givenWrite === undefined && givenRead === undefined) {
    throw new DirectoryError("TAHOE_ERR_DIRECTORY_BAD_CHILD", `child ${JSON.stringify(name)} has no cap`, {
      hint: "Give the child a write cap, a read cap or both.",
    });
  }
  if (givenRead !== undefined && classifyChildCap(givenRead).isWriteCap) {
    throw new DirectoryError(
      "TAHOE_ERR_DIRECTORY_BAD_CHILD",
      `child ${JSON.stringify(name)}: a write cap was given as its read-only cap: ${shownCap(givenRead)}`,
      { hint: "Give the write cap as writeCap; its read-only cap is derived from it." },
    );
  }
  const info = classifyChildCap(givenWrite ?? givenRead!);
  const known = info.kind !== "unknown";
  const writeCap = known ? (info.isWriteCap ? givenWrite : undefined) : givenWrite;
  const readCap = known ? info.readCap : givenRead;
  return {
    name,
    ...(writeCap === undefined ? {} : { writeCap }),
    ...(readCap === undefined ? {} : { readCap }),
    metadata,
    kind: info.kind,
    ...(info.mutable === undefined ? {} : { mutable: info.mutable }),
  };
}

/** The children of a directory being edited: a map by NFC name, plus the entries that could not be read. */
interface Children {
  readonly map: Map<string, DirectoryEntry>;
  readonly problems: DirectoryProblem[];
}

/** What an edit does to the children; returning false means "no change, do not publish". */
type Modifier = (children: Children, now: number) => boolean | undefined;

function applySet(
  cap: DirectoryCap,
  children: Children,
  name: string,
  child: ChildToSet,
  replace: ReplaceRule,
  now: number,
): void {
  const old = children.map.get(name) ?? children.problems.find((p) => p.name === name);
  let oldMetadata: Record<string, unknown> | undefined;
  if (old !== undefined) {
    if (replace === false) throw existingChild(cap, name, false);
    if ("kind" in old) {
      if (replace === "only-files" && old.kind === "dirnode") throw existingChild(cap, name, true);
      oldMetadata = old.metadata;
    }
  }
  children.map.set(name, entryOf(name, child, updateMetadata(oldMetadata, child.metadata, now)));
  const i = children.problems.findIndex((p) => p.name === name);
  if (i >= 0) children.problems.splice(i, 1);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A normal variate by Box-Muller, for Tahoe's jittered backoff. */
function normal(mean: number, sd: number): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Another writer's publish beat ours (or came between our servermap and our read). */
function isCollision(error: unknown): boolean {
  return (
    isMutableFileError(error, "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE") ||
    (error instanceof DirectoryError && error.code === "TAHOE_ERR_DIRECTORY_BUSY")
  );
}

/**
 * A read that ran out of shares because a writer replaced them under it: read again. A file
 * that is truly unrecoverable fails the same way every time, and the attempts are bounded.
 */
function isChangedWhileRead(error: unknown): boolean {
  return isMutableFileError(error, "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES");
}

/** Tahoe's BackoffAgent: delay × e each time, jittered by 12%. */
const BACKOFF_FACTOR = Math.E;
/** Reads of a listing that a concurrent publish may spoil before one is given up. */
const READ_ATTEMPTS = 3;
const BACKOFF_JITTER = 0.11962656492;

class GridDirectory implements DirectoryHandle {
  readonly cap: string;
  readonly readCap: string;
  readonly verifyCap: string | undefined;
  readonly writable: boolean;
  readonly format: DirectoryFormat;

  constructor(
    private readonly o: DirectoryGridOptions,
    private readonly parsed: DirectoryCap,
  ) {
    this.cap = parsed.text;
    this.readCap = readOnlyDirectoryCap(parsed)!;
    this.verifyCap = verifyDirectoryCap(parsed);
    this.writable = parsed.writable;
    this.format = parsed.format;
  }

  private async contents(): Promise<Uint8Array> {
    const p = this.parsed;
    if (p.mutable) {
      for (let attempt = 1; ; attempt++) {
        try {
          const file = await openMutableFile({ ...this.o, cap: p.fileCap });
          return await file.readAll(undefined, this.o.signal);
        } catch (error) {
          if (!isChangedWhileRead(error) || attempt >= READ_ATTEMPTS) throw error;
          await sleep(Math.random() * (this.o.retryDelayMs ?? 1000), this.o.signal);
        }
      }
    }
    const download = await openDownload(p.fileCap, this.o.servers, {
      signal: this.o.signal,
      logger: this.o.logger,
      queryTimeoutMs: this.o.queryTimeoutMs,
    });
    return download.readAll();
  }

  async read(): Promise<UnpackedDirectory> {
    const packed = await this.contents();
    const unpacked = unpackDirectory(packed, this.parsed);
    unpacked.entries.sort((a, b) => compareNames(a.name, b.name));
    return { ...unpacked, size: packed.length };
  }

  async list(): Promise<readonly DirectoryEntry[]> {
    return (await this.read()).entries;
  }

  async get(name: string): Promise<DirectoryEntry | undefined> {
    const wanted = normalizeName(name);
    return (await this.list()).find((e) => e.name === wanted);
  }

  /**
   * Tahoe's MutableFileNode.modify: a servermap for writing, a read of exactly the version it
   * found, the change, and a publish tested against every share the map saw. Another writer in
   * between makes the publish fail with UNCOORDINATED_WRITE; then it starts over from a fresh read,
   * after a jittered backoff, so both writers' changes end up in the directory.
   */
  private async modify(what: string, modifier: Modifier): Promise<void> {
    const p = this.parsed;
    if (!p.writable || p.writekey === undefined) throw readOnlyError(p, what);
    const fileCap = parseMutableCap(p.fileCap);
    const maxAttempts = Math.max(1, this.o.maxAttempts ?? 4);
    let delay = this.o.retryDelayMs ?? 1000;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let read = true;
      try {
        const map: ServerMap = await updateServermap(fileCap, {
          servers: this.o.servers,
          signal: this.o.signal,
          logger: (this.o.logger ?? silentLogger).child({ component: "directory" }),
          queryTimeoutMs: this.o.queryTimeoutMs ?? 15_000,
          forWrite: true,
        });
        // The version the map found, which the publish will test against: a writer that comes
        // in between makes the read or the publish fail, and this starts over.
        const file = await openMutableFile({ ...this.o, cap: p.fileCap, servermap: map });
        const unpacked = unpackDirectory(await file.readAll(undefined, this.o.signal), p);
        const children: Children = {
          map: new Map(unpacked.entries.map((e) => [e.name, e])),
          problems: unpacked.problems,
        };
        const changed = modifier(children, (this.o.now ?? nowSeconds)());
        if (changed === false) return;
        read = false;
        const packed = packDirectory([...children.map.values()], p.writekey, {
          preserved: children.problems,
          dirName: this.cap,
        });
        await overwriteMutableFile({ ...this.o, writeCap: p.fileCap, contents: packed, servermap: map });
        return;
      } catch (error) {
        const collided = isCollision(error) || (read && isChangedWhileRead(error));
        if (!collided) throw error;
        lastError = error;
        if (attempt === maxAttempts) break;
        delay = Math.max(1, normal(delay * BACKOFF_FACTOR, delay * BACKOFF_FACTOR * BACKOFF_JITTER));
        await sleep(Math.random() * delay, this.o.signal);
      }
    }
    throw new DirectoryError(
      "TAHOE_ERR_DIRECTORY_BUSY",
      `could not ${what} in ${label(p)}: another writer changed it ${maxAttempts} times in a row`,
      {
        hint: "Someone else is editing this directory at the same moment; try again. Nothing was lost: every change that was reported done is in it.",
        cause: lastError,
      },
    );
  }

  async set(name: string, child: ChildToSet, opts: SetOptions = {}): Promise<void> {
    await this.setMany([{ ...child, name }], opts);
  }

  async setMany(
    children: readonly (ChildToSet & { readonly name: string })[],
    opts: SetOptions = {},
  ): Promise<void> {
    const named = children.map((c) => ({ ...c, name: checkChildName(c.name, this.cap) }));
    const replace = opts.replace ?? true;
    await this.modify(
      `set ${named.length === 1 ? JSON.stringify(named[0]!.name) : `${named.length} children`}`,
      (kids, now) => {
        for (const c of named) applySet(this.parsed, kids, c.name, c, replace, now);
        return true;
      },
    );
  }

  async delete(name: string): Promise<DirectoryEntry> {
    const wanted = normalizeName(name);
    let removed: DirectoryEntry | undefined;
    await this.modify(`delete ${JSON.stringify(wanted)}`, (kids) => {
      removed = kids.map.get(wanted);
      if (removed === undefined) {
        const i = kids.problems.findIndex((x) => x.name === wanted);
        if (i < 0) throw noSuchChild(this.parsed, wanted);
        // A damaged entry can still be deleted: it is the one thing that can be done with it.
        kids.problems.splice(i, 1);
        removed = { name: wanted, metadata: {}, kind: "unknown" };
        return true;
      }
      kids.map.delete(wanted);
      return true;
    });
    return removed!;
  }

  async rename(from: string, to: string, opts: RenameOptions = {}): Promise<void> {
    const source = normalizeName(from);
    const target = checkChildName(to, this.cap);
    const replace = opts.replace ?? true;
    const other = opts.toDirectory;
    if (other === undefined || other.cap === this.cap) {
      if (source === target) return; // Tahoe: "redundant rename/relink"
      await this.modify(`rename ${JSON.stringify(source)}`, (kids, now) => {
        const child = kids.map.get(source);
        if (child === undefined) throw noSuchChild(this.parsed, source);
        applySet(this.parsed, kids, target, { ...caps(child), metadata: child.metadata }, replace, now);
        kids.map.delete(source);
        return true;
      });
      return;
    }
    if (!this.writable) throw readOnlyError(this.parsed, `move ${JSON.stringify(source)}`);
    // move_child_to: link in the new parent first, then unlink here, so a failure loses nothing.
    const child = await this.get(source);
    if (child === undefined) throw noSuchChild(this.parsed, source);
    await other.set(target, { ...caps(child), metadata: child.metadata }, { replace });
    await this.delete(source);
  }
}

function caps(e: DirectoryEntry): ChildToSet {
  return { writeCap: e.writeCap, readCap: e.readCap };
}

/** Opens a directory by any cap but a verify cap. Listing and editing read it fresh each time. */
export async function openDirectory(o: DirectoryGridOptions & { cap: string }): Promise<DirectoryHandle> {
  const parsed = parseDirectoryCap(o.cap);
  if (parsed.verifier) {
    throw new DirectoryError(
      "TAHOE_ERR_DIRECTORY_CAP",
      `${shownCap(parsed.text)} is a verify cap: it can check the directory's shares but not list it`,
      { hint: "Open the directory with its write cap or read cap." },
    );
  }
  return new GridDirectory(o, parsed);
}

function initialEntries(children: readonly DirectoryEntry[] | undefined, where: string): DirectoryEntry[] {
  const seen = new Set<string>();
  return (children ?? []).map((c) => {
    const name = checkChildName(c.name, where);
    if (seen.has(name)) {
      throw new DirectoryError(
        "TAHOE_ERR_DIRECTORY_BAD_NAME",
        `child ${JSON.stringify(name)} is given twice (in ${where})`,
        {
          hint: "Each child of a directory has its own name (after NFC normalisation).",
        },
      );
    }
    seen.add(name);
    // Children given at creation keep exactly their metadata: no link times (mkdir-with-children).
    return entryOf(name, c, c.metadata ?? {});
  });
}

/**
 * A new mutable directory (SDMF unless format MDMF), optionally with children, as Tahoe's
 * create_new_mutable_directory: the key first, so the children's write caps are encrypted
 * with the new directory's writekey.
 */
export async function createDirectory(
  o: DirectoryGridOptions & {
    format?: MutableFormat | undefined;
    children?: readonly DirectoryEntry[] | undefined;
  },
): Promise<{ writeCap: string; readCap: string; verifyCap: string }> {
  const format = o.format ?? "SDMF";
  const entries = initialEntries(o.children, "the new directory");
  const der = (await newMutableKeyPair()).privateKeyDer;
  const packed = packDirectory(entries, writekeyOf(der), { dirName: "the new directory" });
  const created = await createMutableFile({ ...o, format, contents: packed, privateKey: der });
  const writeCap = directoryCapOfFileCap(created.writeCap);
  return {
    writeCap,
    readCap: directoryCapOfFileCap(created.readCap),
    verifyCap: directoryCapOfFileCap(created.verifyCap),
  };
}

/**
 * An immutable directory (Tahoe's create_immutable_directory): packed without a writekey, every
 * child deep-immutable, stored as a CHK file with the convergence secret (so equal directories
 * dedupe), or in the cap itself as URI:DIR2-LIT: when it packs to 55 bytes or less.
 */
export async function createImmutableDirectory(
  o: DirectoryGridOptions & { children: readonly DirectoryEntry[] },
): Promise<{ cap: string; verifyCap: string | undefined }> {
  const entries = initialEntries(o.children, "the new immutable directory");
  const packed = packDirectory(entries, undefined, {
    deepImmutable: true,
    dirName: "the new immutable directory",
  });
  const uploaded = await uploadImmutable(bytesSource(packed, "immutable directory"), {
    servers: o.servers,
    leaseSecret: o.leaseSecret,
    k: o.k,
    happy: o.happy,
    n: o.n,
    ...(o.convergenceSecret === undefined ? { randomKey: true } : { convergenceSecret: o.convergenceSecret }),
    signal: o.signal,
    logger: o.logger,
    queryTimeoutMs: o.queryTimeoutMs,
  });
  const cap = directoryCapOfFileCap(uploaded.cap);
  return { cap, verifyCap: verifyDirectoryCap(parseDirectoryCap(cap)) };
}

/** What resolvePath found: the entry at the path and, unless the path is empty, its parent. */
export interface ResolvedPath {
  readonly entry: DirectoryEntry;
  readonly parent?: DirectoryHandle | undefined;
  /** The entry opened, when it is a directory. */
  readonly directory?: DirectoryHandle | undefined;
}

/**
 * Walks `path` from `rootCap` (Tahoe's get_child_at_path), taking each directory's write cap
 * when its parent gives one. An empty path is the root itself.
 */
export async function resolvePath(
  o: DirectoryGridOptions & { rootCap: string; path: readonly string[] },
): Promise<ResolvedPath> {
  let current = await openDirectory({ ...o, cap: o.rootCap });
  const root = parseDirectoryCap(o.rootCap);
  let entry: DirectoryEntry = {
    name: "",
    ...(root.writable ? { writeCap: root.text } : {}),
    readCap: current.readCap,
    metadata: {},
    kind: "dirnode",
    mutable: root.mutable,
  };
  let parent: DirectoryHandle | undefined;
  const walked: string[] = [];
  for (const [i, segment] of o.path.entries()) {
    const name = normalizeName(segment);
    const child = await current.get(name);
    walked.push(name);
    if (child === undefined) {
      throw new DirectoryError(
        "TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD",
        `No such child: ${walked.join("/")} (from ${shownCap(o.rootCap)})`,
        { hint: "Check the path with a listing of its parent directory." },
      );
    }
    parent = current;
    entry = child;
    if (i < o.path.length - 1) {
      if (child.kind !== "dirnode") {
        throw new DirectoryError(
          "TAHOE_ERR_DIRECTORY_NOT_A_DIRECTORY",
          `${walked.join("/")} is not a directory, so it has no child ${JSON.stringify(o.path[i + 1])} (from ${shownCap(o.rootCap)})`,
          { hint: "Only directories have children." },
        );
      }
      current = await openDirectory({ ...o, cap: child.writeCap ?? child.readCap! });
    }
  }
  if (parent === undefined) return { entry, directory: current };
  const directory =
    entry.kind === "dirnode"
      ? await openDirectory({ ...o, cap: entry.writeCap ?? entry.readCap! })
      : undefined;
  return { entry, parent, ...(directory === undefined ? {} : { directory }) };
}
