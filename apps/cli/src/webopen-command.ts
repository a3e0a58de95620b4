import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { TahoeError } from "@lafs/interface";
import { type GridPath, gridPathUrl, readAliases, resolveGridPath } from "./aliases.js";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type ParsedOptions } from "./option-parser.js";
import { absolutePath, quotePath } from "./paths.js";
import { CliUsageError } from "./usage-error.js";

export type WebopenErrorCode =
  | "TAHOE_ERR_CLI_NODE_URL"
  | "TAHOE_ERR_CLI_NO_PRIVATE"
  | "TAHOE_ERR_CLI_BROWSER";

class WebopenError extends TahoeError {
  declare readonly code: WebopenErrorCode;
  constructor(code: WebopenErrorCode, message: string, hint: string, cause?: unknown) {
    super(code, message, { hint, cause });
  }
}

function basedirOf(context: CommandContext): string {
  const typed = context.global.nodeDirectory;
  return typed === undefined
    ? context.defaultNodeDir
    : absolutePath(typed, context.io.cwd, context.io.homeDir);
}

async function readNodeUrl(basedir: string): Promise<URL> {
  const file = join(basedir, "node.url");
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (error) {
    throw new WebopenError(
      "TAHOE_ERR_CLI_NODE_URL",
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? `no node.url in ${quotePath(dirname(file))}: the node there is not running, or has no web port`
        : `cannot read ${quotePath(file)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      "The node writes node.url when it runs with [node]web.port set: start it with tahoe run, or give its directory with -d NODEDIR.",
      error,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || url.protocol !== "http:") {
    throw new WebopenError(
      "TAHOE_ERR_CLI_NODE_URL",
      `${quotePath(file)}: '${text}' is not an http:// URL`,
      "The node writes http://127.0.0.1:PORT/ there; start it again to rewrite the file.",
    );
  }
  if (!url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`;
  return url;
}

async function hasPrivateDirectory(basedir: string): Promise<boolean> {
  try {
    return (await stat(join(basedir, "private"))).isDirectory();
  } catch {
    return false;
  }
}

/** The desktop's own opener: xdg-open (Linux, BSD), open (macOS), start (Windows). */
function openerFor(url: string): { command: string; args: string[] } {
  if (process.platform === "darwin") return { command: "open", args: [url] };
  if (process.platform === "win32") return { command: "cmd", args: ["/c", "start", '""', url] };
  return { command: "xdg-open", args: [url] };
}

function openInBrowser(url: string): Promise<void> {
  const { command, args } = openerFor(url);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.once("error", (error) =>
      reject(
        new WebopenError(
          "TAHOE_ERR_CLI_BROWSER",
          `cannot start ${command} to open the browser: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
          "Run tahoe webopen --print and paste the URL into your browser.",
          error,
        ),
      ),
    );
    child.once("spawn", () => {
      child.unref();
      resolve();
    });
  });
}

async function webopen(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length > 1) {
    throw new CliUsageError(
      `Wrong number of arguments: tahoe webopen takes at most one PATH, got ${parsed.args.length}.`,
      "tahoe webopen [ALIAS:path]: the welcome page, or a directory's or file's page.",
    );
  }
  const basedir = basedirOf(context);
  const nodeUrl = await readNodeUrl(basedir);
  let url = nodeUrl.href;
  const typed = parsed.args[0];
  if (typed !== undefined) {
    // Tahoe's webopen: the alias's directory (or the path under it) on the node's web UI.
    const target = resolveGridPath(typed, await readAliases(basedir)) as GridPath;
    url = new URL(gridPathUrl(target), nodeUrl).href;
  }
  if (flag(parsed, "control-panel")) {
    if (!(await hasPrivateDirectory(basedir))) {
      throw new WebopenError(
        "TAHOE_ERR_CLI_NO_PRIVATE",
        `${quotePath(basedir)} has node.url but no private/ directory, so the control panel cannot be opened from it`,
        "The panel's secret URL is written to the node's own private/web.secret: run this on the node's machine with -d and the node's directory (a directory holding only node.url can reach the welcome page, not the panel).",
      );
    }
    // A fresh secret each time: the node reads the file per request, so any older panel URL dies now.
    const { rotateWebSecret } = await import("@lafs/config");
    const secret = await rotateWebSecret(basedir);
    url = new URL(`control/${secret}/`, nodeUrl).href;
  }
  if (flag(parsed, "print")) {
    context.io.stdout(`${url}\n`);
    return 0;
  }
  await openInBrowser(url);
  return 0;
}

export const webopenCommand: CliCommand = {
  name: "webopen",
  group: "Using the filesystem",
  summary: "Open the welcome page or control panel in a browser.",
  synopsis: "[options] [ALIAS:PATH]",
  description:
    "With ALIAS:PATH (or a path under the 'tahoe' alias), open that directory's or file's page. Otherwise open the node's welcome page (found through BASEDIR/node.url) in the desktop's browser " +
    "(xdg-open, open or start). With --control-panel, write a fresh secret into " +
    "BASEDIR/private/web.secret and open the control panel at node.url/control/SECRET/ instead: " +
    "an earlier panel URL stops working at once. That needs the node's own directory, with private/. " +
    "--print prints the URL instead of opening it (anyone who has a panel URL can change the node's settings).",
  options: () => [
    {
      name: "control-panel",
      takesValue: false,
      help: "Open the control panel (server choice, encoding, simulator) under a new secret URL.",
    },
    { name: "print", takesValue: false, help: "Print the URL instead of opening a browser." },
  ],
  run: webopen,
};
