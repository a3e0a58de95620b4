import { createPrivateKey } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { type IncomingMessage, request } from "node:http";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TahoeError } from "@lafs/interface";
import { type GridPath, gridPathUrl, readAliases, resolveGridPath } from "./aliases.js";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type OptionSpec, type ParsedOptions, param } from "./option-parser.js";
import { absolutePath, quotePath } from "./paths.js";
import { createProgress, type Progress } from "./progress.js";
import { CliUsageError } from "./usage-error.js";

/** The file a running node writes with its web API's URL (Tahoe-LAFS: BASEDIR/node.url). */
const NODE_URL_FILE = "node.url";

export type CliTransferErrorCode =
  | "TAHOE_ERR_CLI_NODE_URL"
  | "TAHOE_ERR_CLI_NODE_UNREACHABLE"
  | "TAHOE_ERR_CLI_HTTP"
  | "TAHOE_ERR_CLI_READ_FAILED"
  | "TAHOE_ERR_CLI_WRITE_FAILED";

export class CliTransferError extends TahoeError {
  declare readonly code: CliTransferErrorCode;
  constructor(code: CliTransferErrorCode, message: string, hint: string, cause?: unknown) {
    super(code, message, { hint, cause });
  }
}

export const NODE_URL_OPTION = (context: { defaultNodeDir: string }): OptionSpec => ({
  name: "node-url",
  short: "u",
  takesValue: true,
  help: `Specify the URL of the Tahoe gateway node to use. [default: the URL in ${quotePath(join(context.defaultNodeDir, NODE_URL_FILE))}]`,
});

function checkNodeUrl(text: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    url = new URL("invalid:");
  }
  if (url.protocol !== "http:") {
    throw new CliTransferError(
      "TAHOE_ERR_CLI_NODE_URL",
      `${where}: '${text}' is not an http:// URL`,
      "The node URL looks like http://127.0.0.1:3456/ (what the node writes to BASEDIR/node.url).",
    );
  }
  if (!url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`;
  return url;
}

export function nodeDirectory(context: CommandContext): string {
  const { io, global } = context;
  return global.nodeDirectory !== undefined
    ? absolutePath(global.nodeDirectory, io.cwd, io.homeDir)
    : context.defaultNodeDir;
}

/**
 * `Authorization: tahoe-bearer TOKEN` from BASEDIR/private/api_auth_token when this user can read it:
 * what a node with web.upload-authority = private asks of uploads. Absent otherwise.
 */
export async function uploadAuthorization(context: CommandContext): Promise<Record<string, string>> {
  try {
    const token = (await readFile(join(nodeDirectory(context), "private", "api_auth_token"), "utf8")).trim();
    return token === "" ? {} : { authorization: `tahoe-bearer ${token}` };
  } catch {
    return {};
  }
}

/** --node-url, else the node.url of -d/--node-directory, else of ~/.tahoe. */
export async function nodeUrl(parsed: ParsedOptions, context: CommandContext): Promise<URL> {
  const given = param(parsed, "node-url");
  if (given !== undefined) return checkNodeUrl(given, "--node-url");
  const { io, global } = context;
  const basedir =
    global.nodeDirectory !== undefined
      ? absolutePath(global.nodeDirectory, io.cwd, io.homeDir)
      : context.defaultNodeDir;
  const file = join(basedir, NODE_URL_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CliTransferError(
      "TAHOE_ERR_CLI_NODE_URL",
      `cannot read ${quotePath(file)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      "Start the node (tahoe run) with [node]web.port set, which writes node.url; or give --node-url=URL or -d NODEDIR.",
      error,
    );
  }
  return checkNodeUrl(text.trim(), quotePath(file));
}

export async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The node's error page as one line: its text/plain body, or the status line. */
export async function httpError(res: IncomingMessage, what: string): Promise<CliTransferError> {
  // The node's text error page starts with its own "Error NNN:", said once already here.
  const body = (await readBody(res).catch(() => "")).trim().replace(/^Error \d+:\s*/, "");
  const detail = body.length > 0 && body.length < 4000 ? body : (res.statusMessage ?? "");
  return new CliTransferError(
    "TAHOE_ERR_CLI_HTTP",
    `${what}: the node answered ${res.statusCode}: ${detail}`,
    "The message above is the node's; for an upload it usually means too few storage servers are connected (see the node's welcome page).",
  );
}

export function send(
  url: URL,
  method: string,
  body: Readable | undefined,
  headers: Record<string, string | number>,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, resolve);
    req.on("error", (error) =>
      reject(
        new CliTransferError(
          "TAHOE_ERR_CLI_NODE_UNREACHABLE",
          `cannot reach the node at ${url.origin}: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
          "Is the node running? Start it with tahoe run; node.url may be left from an earlier run.",
          error,
        ),
      ),
    );
    if (body === undefined) req.end();
    else {
      body.on("error", (error) => req.destroy(error));
      body.pipe(req);
    }
  });
}

export function progressFor(context: CommandContext, total: number | undefined): Progress | undefined {
  // Only a person watching a terminal wants the bar; pipes and logs get the result alone.
  if (context.global.quiet || process.stderr.isTTY !== true) return undefined;
  return createProgress((text) => context.err(text), total);
}

export function counted(stream: Readable, progress: Progress | undefined): Readable {
  if (progress !== undefined) stream.on("data", (chunk: Buffer) => progress.add(chunk.length));
  return stream;
}

/** `--format`: CHK, SDMF or MDMF in any case, as Tahoe-LAFS's PutOptions checks it. */
function formatOption(parsed: ParsedOptions): string | undefined {
  const format = param(parsed, "format");
  if (format === undefined) return undefined;
  if (!["SDMF", "MDMF", "CHK"].includes(format.toUpperCase())) {
    throw new CliUsageError(
      `${format} is an invalid format`,
      "--format is SDMF or MDMF (mutable files) or CHK (immutable, the default).",
    );
  }
  return format;
}

/**
 * Where `tahoe put` sends the file: `PUT /uri` for a new unlinked file, `PUT /uri/CAP` to change
 * a mutable file in place (Tahoe-LAFS: "If the destination file already exists and is mutable,
 * it will be modified in-place, whether or not --mutable is specified"). The query carries
 * `mutable=true` and `format=` as Tahoe's CLI sends them.
 */
/**
 * `--private-key-path=PEM`: the key as Tahoe's CLI sends it, the PKCS#8 DER in URL-safe base64
 * (`private-key=`); only with --mutable, as Tahoe ("Can only supply a private key for mutables").
 */
async function privateKeyArgument(
  parsed: ParsedOptions,
  context: CommandContext,
): Promise<string | undefined> {
  const given = param(parsed, "private-key-path");
  if (given === undefined) return undefined;
  if (!flag(parsed, "mutable")) {
    throw new CliUsageError(
      "--private-key-path needs --mutable: a private key is only for mutable files",
      "Add --mutable (and --format=SDMF or MDMF), or leave --private-key-path out.",
    );
  }
  const path = absolutePath(given, context.io.cwd, context.io.homeDir);
  try {
    const der = createPrivateKey(await readFile(path, "utf8")).export({ type: "pkcs8", format: "der" });
    return Buffer.from(der).toString("base64url");
  } catch (error) {
    throw new CliTransferError(
      "TAHOE_ERR_CLI_READ_FAILED",
      `cannot read a PEM private key from ${quotePath(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      "Give a file holding a PEM-encoded RSA-2048 private key (-----BEGIN PRIVATE KEY-----).",
      error,
    );
  }
}

async function putTarget(
  parsed: ParsedOptions,
  to: string | undefined,
  privateKey: string | undefined,
  context: CommandContext,
): Promise<string> {
  const query: string[] = [];
  if (flag(parsed, "mutable")) query.push("mutable=true");
  if (privateKey !== undefined) query.push(`private-key=${privateKey}`);
  const format = formatOption(parsed);
  if (format !== undefined) query.push(`format=${encodeURIComponent(format)}`);
  const search = query.length > 0 ? `?${query.join("&")}` : "";
  if (to === undefined) return `uri${search}`;
  // Tahoe's put: a bare mutable write cap is overwritten in place; anything else is ALIAS:path.
  // A bare read-only mutable cap goes the same way, so the node refuses it in its own words
  // ("read-only cap") instead of "not a directory cap" for the path Tahoe would build.
  if (/^URI:(?:SSK|MDMF)(?:-RO)?:[^/]+$/.test(to)) return `uri/${encodeURIComponent(to)}${search}`;
  const target = resolveGridPath(to, await readAliases(nodeDirectory(context))) as GridPath;
  if (target.path.startsWith("/")) {
    throw new CliUsageError(
      "The remote filename must not start with a slash",
      `Please try again, perhaps with '${to.replace("/", "")}'`,
    );
  }
  // A directory cap alone gets a trailing '/', as Tahoe sends it: the node then names nothing.
  return `${gridPathUrl(target)}${target.path === "" ? "/" : ""}${search}`;
}

async function put(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length > 2) {
    throw new CliUsageError(
      `Wrong number of arguments: expected at most FILE and a target, got ${parsed.args.length}.`,
      "tahoe put [FILE|-] [ALIAS:path|WRITECAP]: one file, from stdin with '-' or nothing; where to link it, or a mutable file's write cap to replace its contents.",
    );
  }
  const typed = parsed.args[0] ?? "-";
  const target = await putTarget(parsed, parsed.args[1], await privateKeyArgument(parsed, context), context);
  const url = await nodeUrl(parsed, context);
  let body: Readable;
  let size: number | undefined;
  let name = "stdin";
  if (typed === "-") {
    body = process.stdin;
  } else {
    const path = absolutePath(typed, context.io.cwd, context.io.homeDir);
    name = quotePath(path);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
      size = info.size;
    } catch (error) {
      throw new CliTransferError(
        "TAHOE_ERR_CLI_READ_FAILED",
        `cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        "Check that the file exists, is a regular file and is readable.",
        error,
      );
    }
    body = createReadStream(path);
  }
  const progress = progressFor(context, size);
  const headers: Record<string, string | number> = {
    "content-type": "application/octet-stream",
    ...(await uploadAuthorization(context)),
  };
  if (size !== undefined) headers["content-length"] = size;
  const res = await send(new URL(target, url), "PUT", counted(body, progress), headers);
  progress?.done();
  if (res.statusCode !== 200 && res.statusCode !== 201) throw await httpError(res, `uploading ${name}`);
  const cap = (await readBody(res)).trim();
  context.out(`${cap}\n`);
  return 0;
}

async function get(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const [cap, target, ...rest] = parsed.args;
  if (cap === undefined || rest.length > 0) {
    throw new CliUsageError(
      `Wrong number of arguments: expected CAP and an optional FILE, got ${parsed.args.length}.`,
      "tahoe get URI:CHK:... [FILE|-]: without FILE, or with '-', the file goes to stdout.",
    );
  }
  const source = resolveGridPath(cap, await readAliases(nodeDirectory(context))) as GridPath;
  const url = await nodeUrl(parsed, context);
  const res = await send(new URL(gridPathUrl(source), url), "GET", undefined, {});
  if (res.statusCode !== 200) throw await httpError(res, `downloading ${cap}`);
  const length = Number(res.headers["content-length"]);
  if (target === undefined || target === "-") {
    await pipeline(res, process.stdout as Writable, { end: false });
    return 0;
  }
  const path = absolutePath(target, context.io.cwd, context.io.homeDir);
  const progress = progressFor(context, Number.isSafeInteger(length) ? length : undefined);
  try {
    await pipeline(counted(res, progress), createWriteStream(path));
  } catch (error) {
    // A partly written file must not pass for the whole one.
    await rm(path, { force: true });
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (!res.complete) {
      throw new CliTransferError(
        "TAHOE_ERR_CLI_WRITE_FAILED",
        `the node stopped sending ${quotePath(path)} part way (${reason}); the partial file was removed`,
        "See the node's log for why (servers lost, shares missing), then run tahoe get again.",
        error,
      );
    }
    throw new CliTransferError(
      "TAHOE_ERR_CLI_WRITE_FAILED",
      `cannot write ${quotePath(path)}: ${reason}`,
      "Check the directory exists and is writable, and that the disk has room.",
      error,
    );
  } finally {
    progress?.done();
  }
  return 0;
}

export const putCommand: CliCommand = {
  name: "put",
  group: "Using the filesystem",
  summary: "Upload a file into the grid.",
  synopsis: "[options] [FROMFILE|-] [TOPATH|WRITECAP]",
  description:
    "Upload FROMFILE (or stdin, with '-' or no argument) to the grid through the node's web API " +
    "and print its cap (URI:CHK:... or URI:LIT:... for 55 bytes or less). With --mutable or " +
    "--format=SDMF|MDMF the new file is mutable and its write cap (URI:SSK:... or URI:MDMF:...) is " +
    "printed. With TOPATH (ALIAS:path, DIRCAP:./path, or a path under the 'tahoe' alias) the file is " +
    "linked there, intermediate directories created. With WRITECAP, the mutable file it names is modified in place, whether or not " +
    "--mutable is given. The node is found through BASEDIR/node.url, or --node-url. A progress bar " +
    "is shown when stderr is a terminal.",
  options: (context) => [
    NODE_URL_OPTION(context),
    {
      name: "mutable",
      short: "m",
      takesValue: false,
      help: "Create a mutable file instead of an immutable one (like --format=SDMF)",
    },
    {
      name: "format",
      takesValue: true,
      help: "Create a file with the given format: SDMF and MDMF for mutable, CHK (default) for immutable. (case-insensitive)",
    },
    {
      name: "private-key-path",
      takesValue: true,
      help:
        "***Warning*** It is possible to use this option to spoil the normal security properties of mutable objects. " +
        "For mutables only, this gives a file containing a PEM-encoded 2048 bit RSA private key to use as the signature key for the mutable. " +
        "A single private key must not be used for more than one mutable.",
    },
  ],
  run: put,
};

export const getCommand: CliCommand = {
  name: "get",
  group: "Using the filesystem",
  summary: "Retrieve a file from the grid.",
  synopsis: "[options] REMOTE_FILE [LOCAL_FILE|-]",
  description:
    "Download the file REMOTE_FILE names (a cap, ALIAS:path, DIRCAP:./path or a path under the 'tahoe' alias; immutable, or the newest version of a mutable file) and write it to LOCAL_FILE, or to stdout without one or with '-'. " +
    "Every block is verified against the cap; a failed download leaves no partial LOCAL_FILE. " +
    "The node is found through BASEDIR/node.url, or --node-url.",
  options: (context) => [NODE_URL_OPTION(context)],
  run: get,
};
