import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { type GridPath, gridPathUrl, readAliases, resolveGridPath } from "./aliases.js";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type ParsedOptions, param } from "./option-parser.js";
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

interface Answer {
  status: number;
  text: string;
}

/** One request to the node's web API, its whole (small) answer read. */
export async function call(
  parsed: ParsedOptions,
  context: CommandContext,
  method: string,
  path: string,
  body?: string,
): Promise<Answer> {
  const url = new URL(path, await nodeUrl(parsed, context));
  const headers: Record<string, string | number> = method === "GET" ? {} : await uploadAuthorization(context);
  if (body !== undefined) headers["content-length"] = Buffer.byteLength(body);
  const res = await send(
    url,
    method,
    body === undefined ? undefined : Readable.from([Buffer.from(body)]),
    headers,
  );
  if (res.statusCode !== undefined && res.statusCode >= 300) {
    const error = await httpError(res, `${method} ${decodeURIComponent(url.pathname).slice(0, 60)}`);
    return { status: res.statusCode, text: error.message };
  }
  return { status: res.statusCode ?? 0, text: await readBody(res) };
}

export function failed(answer: Answer): CliTransferError {
  return new CliTransferError(
    "TAHOE_ERR_CLI_HTTP",
    answer.text,
    "The message above is the node's; check the path with tahoe ls.",
  );
}

export async function gridPath(typed: string, context: CommandContext): Promise<GridPath> {
  return resolveGridPath(typed, await readAliases(nodeDirectory(context))) as GridPath;
}

type Child = [string, Record<string, unknown>];

/** GNU ls's time column, as Tahoe's ls formats it: an old file shows its year. */
function timeColumn(seconds: number | undefined, now: number): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "-";
  const d = new Date(seconds * 1000);
  const month = d.toLocaleString("en-US", { month: "short" });
  const day = String(d.getDate()).padStart(2, "0");
  if (now - seconds > 6 * 30 * 24 * 60 * 60) return `${month} ${day}  ${d.getFullYear()}`;
  return `${month} ${day} ${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** Tahoe's tahoe_ls: GET ?t=json, then the columns formatted here. */
async function ls(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length > 1)
    throw new CliUsageError(`Wrong number of arguments: expected one PATH, got ${parsed.args.length}.`);
  const target = await gridPath(parsed.args[0] ?? "", context);
  const answer = await call(parsed, context, "GET", `${gridPathUrl(target)}?t=json`);
  if (answer.status === 404) {
    context.err("No such file or directory\n");
    return 2;
  }
  if (answer.status !== 200) throw failed(answer);
  if (flag(parsed, "json")) {
    context.out(answer.text.endsWith("\n") ? answer.text : `${answer.text}\n`);
    return 0;
  }
  const [type, data] = JSON.parse(answer.text) as Child;
  const children: Record<string, Child> =
    type === "dirnode"
      ? (data.children as Record<string, Child>)
      : { [target.path.split("/").pop() ?? ""]: [type, { metadata: {}, ...data }] };
  const now = Date.now() / 1000;
  const rows: string[][] = [];
  for (const name of Object.keys(children).sort()) {
    const [kind, child] = children[name] as Child;
    const metadata = (child.metadata ?? {}) as Record<string, unknown>;
    const tahoe = (metadata.tahoe ?? {}) as Record<string, unknown>;
    const when = (tahoe.linkmotime ?? metadata.mtime) as number | undefined;
    const rw = child.rw_uri as string | undefined;
    const ro = child.ro_uri as string | undefined;
    const t0 = kind === "dirnode" ? "d" : kind === "filenode" ? "-" : "?";
    const size = kind === "dirnode" ? "-" : kind === "filenode" ? String(child.size ?? "?") : "?";
    let classify = kind === "dirnode" ? "/" : kind === "filenode" ? (rw ? "*" : "") : "?";
    if (!flag(parsed, "classify")) classify = "";
    const row: string[] = [];
    if (flag(parsed, "long")) {
      row.push(
        `${t0}${ro ? "r" : "-"}${rw ? "w" : "-"}${kind === "dirnode" ? "x" : "-"}`,
        size,
        timeColumn(when, now),
      );
    }
    row.push(name + classify);
    if (flag(parsed, "uri")) row.push(rw ?? ro ?? "");
    if (flag(parsed, "readonly-uri")) row.push(ro ?? "-");
    rows.push(row);
  }
  const widths: number[] = [];
  const left: boolean[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
      left[i] = (left[i] ?? false) || cell.startsWith("URI");
    });
  }
  if (widths.length === 1) left[0] = true;
  for (const row of rows) {
    const line = row
      .map((cell, i) => (left[i] ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join(" ");
    context.out(`${line.trimEnd()}\n`);
  }
  return 0;
}

/** Tahoe's tahoe_mkdir: unlinked (POST /uri?t=mkdir) without a path, else POST PATH?t=mkdir. */
async function mkdir(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length > 1)
    throw new CliUsageError(
      `Wrong number of arguments: expected at most one PATH, got ${parsed.args.length}.`,
    );
  const format = param(parsed, "format");
  if (format !== undefined && !["SDMF", "MDMF"].includes(format.toUpperCase())) {
    throw new CliUsageError(`${format} is an invalid format`, "--format is SDMF or MDMF.");
  }
  const formatArg = format === undefined ? "" : `&format=${encodeURIComponent(format)}`;
  const typed = parsed.args[0];
  const target = typed === undefined ? undefined : await gridPath(typed, context);
  const path =
    target === undefined || target.path === ""
      ? `uri?t=mkdir${formatArg}`
      : `${gridPathUrl({ ...target, path: target.path.replace(/\/$/, "") })}?t=mkdir${formatArg}`;
  const answer = await call(parsed, context, "POST", path);
  if (answer.status !== 200 && answer.status !== 201) throw failed(answer);
  context.out(`${answer.text.trim()}\n`);
  return 0;
}

/** Tahoe's tahoe_unlink: DELETE PATH, answering "200 OK". */
async function unlink(parsed: ParsedOptions, context: CommandContext, verb: string): Promise<number> {
  if (parsed.args.length !== 1)
    throw new CliUsageError(`Wrong number of arguments: expected one PATH, got ${parsed.args.length}.`);
  const target = await gridPath(parsed.args[0] as string, context);
  if (target.path === "") {
    throw new CliUsageError(`'tahoe ${verb}' can only unlink directory entries, so a path must be given.`);
  }
  const answer = await call(parsed, context, "DELETE", gridPathUrl(target));
  if (answer.status !== 200) throw failed(answer);
  context.out("200 OK\n");
  return 0;
}

/**
 * Tahoe's tahoe_mv (mode "move" or "link"): GET FROM?t=json for its cap, PUT it at TO?t=uri
 * with replace=only-files (under FROM's name when TO is a directory), then for a move DELETE FROM.
 */
async function moveOrLink(
  parsed: ParsedOptions,
  context: CommandContext,
  mode: "move" | "link",
): Promise<number> {
  if (parsed.args.length !== 2)
    throw new CliUsageError(`Wrong number of arguments: expected FROM and TO, got ${parsed.args.length}.`);
  const from = await gridPath(parsed.args[0] as string, context);
  const to = await gridPath(parsed.args[1] as string, context);
  const source = await call(parsed, context, "GET", `${gridPathUrl(from)}?t=json`);
  if (source.status !== 200) throw failed(source);
  const [, attrs] = JSON.parse(source.text) as Child;
  const cap = (attrs.rw_uri ?? attrs.ro_uri) as string;
  let toUrl = gridPathUrl(to);
  const existing = await call(parsed, context, "GET", `${toUrl}?t=json`);
  if (existing.status === 200 && (JSON.parse(existing.text) as Child)[0] === "dirnode") {
    const base = from.path
      .split("/")
      .filter((p) => p !== "")
      .pop();
    if (base === undefined)
      throw new CliUsageError("the source is a directory cap with no name to link it under; give TO a name");
    toUrl = `${toUrl.replace(/\/$/, "")}/${encodeURIComponent(base)}`;
  }
  const put = await call(parsed, context, "PUT", `${toUrl}?t=uri&replace=only-files`, cap);
  if (put.status !== 200 && put.status !== 201) {
    if (put.status === 409) context.err("Error: You can't overwrite a directory with a file\n");
    else {
      context.err(`Error: ${put.text}\n`);
      if (mode === "move") context.err("NOT removing the original\n");
    }
    return 1;
  }
  if (mode === "move") {
    const del = await call(parsed, context, "DELETE", gridPathUrl(from));
    if (del.status !== 200) {
      context.err(`Error deleting original after move\n${del.text}\n`);
      return 2;
    }
  }
  context.out("OK\n");
  return 0;
}

/** The stdout line Tahoe's ManifestStreamer prints for one unit (none for the stats unit). */
function manifestLine(parsed: ParsedOptions, unit: Record<string, unknown>): string | undefined {
  if (unit.type !== "file" && unit.type !== "directory") return undefined;
  const only = flag(parsed, "storage-index")
    ? "storage-index"
    : flag(parsed, "verify-cap")
      ? "verifycap"
      : flag(parsed, "repair-cap")
        ? "repaircap"
        : undefined;
  if (only !== undefined) return unit[only] ? String(unit[only]) : undefined;
  return `${String(unit.cap)} ${((unit.path ?? []) as string[]).join("/")}`;
}

/**
 * Tahoe's tahoe_manifest: POST PATH?t=stream-manifest, read line by line: "CAP PATH" per
 * object, or only its storage index, verify cap or repair cap. From an "ERROR:" line on, the
 * node's words go to stderr and the exit code is 1; --raw copies the stream as it comes.
 */
async function manifest(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length > 1)
    throw new CliUsageError(`Wrong number of arguments: expected one PATH, got ${parsed.args.length}.`);
  const target = await gridPath(parsed.args[0] ?? "", context);
  const url = new URL(`${gridPathUrl(target)}?t=stream-manifest`, await nodeUrl(parsed, context));
  const res = await send(url, "POST", undefined, await uploadAuthorization(context));
  if (res.statusCode !== 200) throw await httpError(res, "listing the manifest");
  let failed = false;
  for await (const line of createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (flag(parsed, "raw")) {
      context.out(`${line}\n`);
      continue;
    }
    if (failed || line.startsWith("ERROR:")) {
      failed = true;
      context.err(`${line}\n`);
      continue;
    }
    if (line.trim() === "") continue;
    const out = manifestLine(parsed, JSON.parse(line) as Record<string, unknown>);
    if (out !== undefined) context.out(`${out}\n`);
  }
  return failed ? 1 : 0;
}

const GROUP = "Using the filesystem" as const;

export const manifestCommand: CliCommand = {
  name: "manifest",
  group: GROUP,
  summary: "List all files/directories in a subtree.",
  synopsis: "[options] [ALIAS:PATH]",
  description:
    "Print a line 'CAP PATH' for every file and directory under PATH (POST PATH?t=stream-manifest), " +
    "or only its storage index (-s), verify cap or repair cap; --raw prints the node's JSON lines.",
  options: (context) => [
    NODE_URL_OPTION(context),
    {
      name: "storage-index",
      short: "s",
      takesValue: false,
      help: "Only print storage index strings, not pathname+cap.",
    },
    { name: "verify-cap", takesValue: false, help: "Only print verifycap, not pathname+cap." },
    { name: "repair-cap", takesValue: false, help: "Only print repaircap, not pathname+cap." },
    { name: "raw", short: "r", takesValue: false, help: "Display raw JSON data instead of parsed." },
  ],
  run: manifest,
};

export const lsCommand: CliCommand = {
  name: "ls",
  group: GROUP,
  summary: "List a directory.",
  synopsis: "[options] [PATH]",
  description:
    "List the contents of some portion of the grid (GET PATH?t=json through the node's web API). " +
    "PATH is ALIAS:path, a directory cap, or a path under the 'tahoe' alias.",
  options: (context) => [
    NODE_URL_OPTION(context),
    {
      name: "long",
      short: "l",
      takesValue: false,
      help: "Use long format: show file sizes, and timestamps.",
    },
    { name: "uri", takesValue: false, help: "Show file/directory URIs." },
    { name: "readonly-uri", takesValue: false, help: "Show read-only file/directory URIs." },
    {
      name: "classify",
      short: "F",
      takesValue: false,
      help: "Append '/' to directory names, and '*' to mutable.",
    },
    { name: "json", takesValue: false, help: "Show the raw JSON output." },
  ],
  run: ls,
};

export const mkdirCommand: CliCommand = {
  name: "mkdir",
  group: GROUP,
  summary: "Create a new directory.",
  synopsis: "[options] [REMOTE_DIR]",
  description:
    "Create a new directory, either unlinked or as a subdirectory (intermediate directories are created), and print its write cap.",
  options: (context) => [
    NODE_URL_OPTION(context),
    {
      name: "format",
      takesValue: true,
      help: "Create a directory with the given format: SDMF (default) or MDMF. (case-insensitive)",
    },
  ],
  run: mkdir,
};

export const unlinkCommand: CliCommand = {
  name: "unlink",
  group: GROUP,
  summary: "Unlink a file or directory on the grid.",
  synopsis: "[options] REMOTE_FILE",
  description:
    "Remove a named file or directory from its parent directory (DELETE PATH). The object itself is not deleted.",
  options: (context) => [NODE_URL_OPTION(context)],
  run: (parsed, context) => unlink(parsed, context, "unlink"),
};

export const rmCommand: CliCommand = {
  ...unlinkCommand,
  name: "rm",
  summary: "Unlink a file or directory on the grid (same as unlink).",
  run: (parsed, context) => unlink(parsed, context, "rm"),
};

export const lnCommand: CliCommand = {
  name: "ln",
  group: GROUP,
  summary: "Make another link to an existing file or directory.",
  synopsis: "[options] FROM_LINK TO_LINK",
  description:
    "Link the file or directory at FROM_LINK also at TO_LINK (into TO_LINK under its name when TO_LINK is a directory). A directory at TO_LINK is never replaced.",
  options: (context) => [NODE_URL_OPTION(context)],
  run: (parsed, context) => moveOrLink(parsed, context, "link"),
};

export const mvCommand: CliCommand = {
  name: "mv",
  group: GROUP,
  summary: "Move a file within the grid.",
  synopsis: "[options] FROM TO",
  description:
    "Link FROM at TO, then unlink FROM, as Tahoe does (two steps, not atomic). A directory at TO is never replaced.",
  options: (context) => [NODE_URL_OPTION(context)],
  run: (parsed, context) => moveOrLink(parsed, context, "move"),
};
