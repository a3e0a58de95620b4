import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type GridPath, gridPathUrl, readAliases, resolveGridPath } from "./aliases.js";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type ParsedOptions } from "./option-parser.js";
import { absolutePath } from "./paths.js";
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

type Child = [string, Record<string, unknown>];

/**
 * A grid directory that files are copied into (Tahoe's TahoeDirectoryTarget): each file is
 * uploaded unlinked (or, an immutable grid file, just named), and all of them are linked at the
 * end with one `POST DIR?t=set_children`, one directory edit instead of one per file.
 */
interface GridDirectory {
  url: string;
  /** Its children when the copy began, read once on first use: a mutable file there is overwritten in place. */
  existing: Record<string, Child> | undefined;
  /** Name -> cap, for the set_children at the end. */
  pending: Map<string, string>;
}

type Where =
  | { kind: "local"; path: string }
  | { kind: "grid"; url: string; name: string | undefined; into?: GridDirectory };

interface Copier {
  base: URL;
  auth: Record<string, string>;
  capsOnly: boolean;
  files: number;
  /** Shows "N files copied" on a terminal; nothing in a pipe. */
  tick(): void;
}

function joinUrl(url: string, name: string): string {
  return `${url.replace(/\/$/, "")}/${encodeURIComponent(name)}`;
}

function gridDirectory(url: string): GridDirectory {
  return { url, existing: undefined, pending: new Map() };
}

/** Where a child of `to` goes: a grid child is linked through its directory's batch. */
function childWhere(to: Where, dir: GridDirectory | undefined, name: string): Where {
  return to.kind === "grid"
    ? { kind: "grid", url: joinUrl(to.url, name), name, ...(dir === undefined ? {} : { into: dir }) }
    : { kind: "local", path: join(to.path, name) };
}

async function getJson(c: Copier, url: string): Promise<Child | undefined> {
  const res = await send(new URL(`${url}?t=json`, c.base), "GET", undefined, {});
  if (res.statusCode === 404) {
    res.resume();
    return undefined;
  }
  if (res.statusCode !== 200) throw await httpError(res, `reading ${decodeURIComponent(url)}`);
  return JSON.parse(await readBody(res)) as Child;
}

async function expectOk(res: Awaited<ReturnType<typeof send>>, what: string): Promise<string> {
  if (res.statusCode !== 200 && res.statusCode !== 201) throw await httpError(res, what);
  return (await readBody(res)).trim();
}

function bodyOf(text: string): [Readable, Record<string, number>] {
  const bytes = Buffer.from(text);
  return [Readable.from([bytes]), { "content-length": bytes.length }];
}

/**
 * Bytes for `to`: into a directory, uploaded unlinked (PUT /uri) and kept for its set_children,
 * unless the directory already holds a mutable file by that name, which is overwritten in place
 * (as Tahoe's cp does); anywhere else, a PUT to the path itself.
 */
async function uploadTo(
  c: Copier,
  to: Extract<Where, { kind: "grid" }>,
  body: Readable,
  headers: Record<string, string | number>,
  what: string,
): Promise<void> {
  const dir = to.into;
  if (dir === undefined || to.name === undefined) {
    await expectOk(await send(new URL(to.url, c.base), "PUT", body, { ...c.auth, ...headers }), what);
    return;
  }
  dir.existing ??= ((await getJson(c, dir.url))?.[1].children as Record<string, Child> | undefined) ?? {};
  const there = dir.existing[to.name];
  if (there?.[0] === "filenode" && there[1].mutable === true) {
    await expectOk(await send(new URL(to.url, c.base), "PUT", body, { ...c.auth, ...headers }), what);
    dir.pending.delete(to.name);
    return;
  }
  dir.pending.set(
    to.name,
    await expectOk(await send(new URL("uri", c.base), "PUT", body, { ...c.auth, ...headers }), what),
  );
}

/** Links what was copied into `dir` with one set_children (Tahoe sends every cap as rw_uri; the node sorts them out). */
async function linkPending(c: Copier, dir: GridDirectory): Promise<void> {
  if (dir.pending.size === 0) return;
  const children = Object.fromEntries(
    [...dir.pending].map(([name, cap]) => [name, ["filenode", { rw_uri: cap }]]),
  );
  const [body, headers] = bodyOf(JSON.stringify(children));
  await expectOk(
    await send(new URL(`${dir.url}?t=set_children`, c.base), "POST", body, { ...c.auth, ...headers }),
    `linking ${dir.pending.size} files into ${decodeURIComponent(dir.url)}`,
  );
  dir.pending.clear();
}

async function putFile(c: Copier, from: string, to: Extract<Where, { kind: "grid" }>): Promise<void> {
  const size = (await stat(from)).size;
  await uploadTo(c, to, createReadStream(from), { "content-length": size }, `uploading ${from}`);
  c.files += 1;
  c.tick();
}

async function getFile(c: Copier, url: string, cap: string, to: string): Promise<void> {
  if (c.capsOnly) {
    await pipeline(Readable.from([`${cap}\n`]), createWriteStream(to));
  } else {
    const res = await send(new URL(url, c.base), "GET", undefined, {});
    if (res.statusCode !== 200) throw await httpError(res, `downloading ${decodeURIComponent(url)}`);
    try {
      await pipeline(res, createWriteStream(to));
    } catch (error) {
      await rm(to, { force: true });
      throw new CliTransferError(
        "TAHOE_ERR_CLI_WRITE_FAILED",
        `cannot write '${to}': ${(error as Error).message}`,
        "Check the directory is writable.",
        error,
      );
    }
  }
  c.files += 1;
  c.tick();
}

/** A grid file into a grid path: an immutable cap is linked as is (Tahoe's cp), a mutable one's bytes copied. */
async function gridToGrid(
  c: Copier,
  fromUrl: string,
  attrs: Record<string, unknown>,
  to: Extract<Where, { kind: "grid" }>,
): Promise<void> {
  const ro = attrs.ro_uri as string | undefined;
  if (attrs.mutable === false && ro !== undefined) {
    if (to.into !== undefined && to.name !== undefined) to.into.pending.set(to.name, ro);
    else {
      const [body, headers] = bodyOf(ro);
      await expectOk(
        await send(new URL(`${to.url}?t=uri`, c.base), "PUT", body, { ...c.auth, ...headers }),
        `linking ${decodeURIComponent(to.url)}`,
      );
    }
  } else {
    const res = await send(new URL(fromUrl, c.base), "GET", undefined, {});
    if (res.statusCode !== 200) throw await httpError(res, `downloading ${decodeURIComponent(fromUrl)}`);
    const length = res.headers["content-length"];
    await uploadTo(
      c,
      to,
      res,
      length ? { "content-length": length } : {},
      `uploading ${decodeURIComponent(to.url)}`,
    );
  }
  c.files += 1;
  c.tick();
}

/** POST ?t=mkdir on a grid path (an existing directory is kept): the directory its files are linked into. */
async function makeGridDirectory(c: Copier, url: string): Promise<GridDirectory> {
  await expectOk(
    await send(new URL(`${url}?t=mkdir`, c.base), "POST", undefined, c.auth),
    `making ${decodeURIComponent(url)}`,
  );
  return gridDirectory(url);
}

async function copyTree(c: Copier, from: Where, fromChild: Child | undefined, to: Where): Promise<void> {
  if (from.kind === "local") {
    const info = await stat(from.path);
    if (!info.isDirectory()) {
      if (to.kind === "grid") return putFile(c, from.path, to);
      await pipeline(createReadStream(from.path), createWriteStream(to.path));
      c.files += 1;
      return;
    }
    const dir = to.kind === "grid" ? await makeGridDirectory(c, to.url) : undefined;
    if (to.kind === "local") await mkdir(to.path, { recursive: true });
    for (const name of (await readdir(from.path)).sort()) {
      await copyTree(c, { kind: "local", path: join(from.path, name) }, undefined, childWhere(to, dir, name));
    }
    if (dir !== undefined) await linkPending(c, dir);
    return;
  }
  const child = fromChild ?? (await getJson(c, from.url));
  if (child === undefined)
    throw new CliTransferError(
      "TAHOE_ERR_CLI_HTTP",
      `No such file or directory: ${decodeURIComponent(from.url)}`,
      "Check the path with tahoe ls.",
    );
  const [kind, attrs] = child;
  const cap = (attrs.rw_uri ?? attrs.ro_uri) as string;
  if (kind !== "dirnode") {
    if (to.kind === "local") return getFile(c, from.url, cap, to.path);
    return gridToGrid(c, from.url, attrs, to);
  }
  const dir = to.kind === "grid" ? await makeGridDirectory(c, to.url) : undefined;
  if (to.kind === "local") await mkdir(to.path, { recursive: true });
  const listing = (fromChild === undefined ? attrs : ((await getJson(c, from.url)) as Child)[1])
    .children as Record<string, Child>;
  // A child is reached by its own cap, so a directory that is renamed meanwhile is still read whole.
  for (const name of Object.keys(listing).sort()) {
    const sub = listing[name] as Child;
    const subCap = (sub[1].rw_uri ?? sub[1].ro_uri) as string;
    const source: Where = { kind: "grid", url: `uri/${encodeURIComponent(subCap)}`, name };
    await copyTree(c, source, sub, childWhere(to, dir, name));
  }
  if (dir !== undefined) await linkPending(c, dir);
}

async function cp(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length < 2)
    throw new CliUsageError(
      `Wrong number of arguments: expected SOURCE... and TARGET, got ${parsed.args.length}.`,
      "tahoe cp [-r] FROM.. TO",
    );
  const aliases = await readAliases(nodeDirectory(context));
  const where = (typed: string): Where => {
    // Tahoe's cp: no alias means a local path.
    const grid: GridPath | undefined = resolveGridPath(typed, aliases, null);
    if (grid === undefined)
      return { kind: "local", path: absolutePath(typed, context.io.cwd, context.io.homeDir) };
    const name = grid.path
      .split("/")
      .filter((p) => p !== "")
      .pop();
    return { kind: "grid", url: gridPathUrl({ ...grid, path: grid.path.replace(/\/$/, "") }), name };
  };
  const sources = parsed.args.slice(0, -1).map(where);
  const target = where(parsed.args[parsed.args.length - 1] as string);
  const recursive = flag(parsed, "recursive");
  const interactive = !context.global.quiet && process.stderr.isTTY === true;
  const c: Copier = {
    base: await nodeUrl(parsed, context),
    auth: await uploadAuthorization(context),
    capsOnly: flag(parsed, "caps-only"),
    files: 0,
    tick: () => {
      if (interactive) context.err(`\r${c.files} files copied`);
    },
  };
  const targetIsDir =
    target.kind === "local"
      ? await stat(target.path).then(
          (s) => s.isDirectory(),
          () => false,
        )
      : (await getJson(c, target.url))?.[0] === "dirnode";
  if (sources.length > 1 && !targetIsDir) {
    throw new CliUsageError("when copying multiple sources, the target must be an existing directory");
  }
  // Sources copied straight into an existing grid directory are linked there together at the end.
  const targetDir = targetIsDir && target.kind === "grid" ? gridDirectory(target.url) : undefined;
  for (const source of sources) {
    const name = source.kind === "local" ? basename(source.path) : source.name;
    const child = source.kind === "grid" ? await getJson(c, source.url) : undefined;
    const isDir =
      source.kind === "local" ? (await stat(source.path)).isDirectory() : child?.[0] === "dirnode";
    if (source.kind === "grid" && child === undefined) {
      throw new CliTransferError(
        "TAHOE_ERR_CLI_HTTP",
        `No such file or directory: ${parsed.args[sources.indexOf(source)]}`,
        "Check the path with tahoe ls.",
      );
    }
    if (isDir && !recursive)
      throw new CliUsageError(
        `cannot copy directories without --recursive: ${parsed.args[sources.indexOf(source)]}`,
      );
    let to = target;
    // Into an existing directory: under the source's own name (a bare dircap's contents go straight in).
    if (targetIsDir && name !== undefined) to = childWhere(target, targetDir, name);
    await copyTree(c, source, child, to);
  }
  if (targetDir !== undefined) await linkPending(c, targetDir);
  if (interactive) context.err("\n");
  context.out(c.files === 1 ? "Success: file copied\n" : "Success: files copied\n");
  return 0;
}

export const cpCommand: CliCommand = {
  name: "cp",
  group: "Using the filesystem",
  summary: "Copy one or more files or directories.",
  synopsis: "[options] FROM.. TO",
  description:
    "Copy files and (with -r) directories between the local disk and the grid, or within the grid. " +
    "Grid paths are ALIAS:path or DIRCAP[/path]; anything else is local. Into an existing directory, " +
    "each source goes under its own name. Immutable files copied within the grid are linked, not re-uploaded. " +
    "A count of files copied is shown when stderr is a terminal.",
  options: (context) => [
    NODE_URL_OPTION(context),
    { name: "recursive", short: "r", takesValue: false, help: "Copy source directory recursively." },
    {
      name: "caps-only",
      takesValue: false,
      help: "When copying to local files, write out filecaps instead of actual data (only useful for debugging and tree-comparison purposes).",
    },
  ],
  run: cp,
};
