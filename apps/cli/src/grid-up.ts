import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadNodeConfig, NODE_FILES } from "@lafs/config";
import { TahoeError } from "@lafs/interface";
import type { CliCommand, CommandContext, HelpContext } from "./command.js";
import { createClientCommand, createIntroducerCommand, createNodeCommand } from "./create-commands.js";
import { DEFAULT_GRID_DIR, DEFAULT_GRID_SERVERS } from "./grid-defaults.js";
import { type GridChild, spawnNode } from "./grid-processes.js";
import { flag, type ParsedOptions, param, parseOptions } from "./option-parser.js";
import { absolutePath, quotePath } from "./paths.js";
import { CliUsageError } from "./usage-error.js";

/** The shape for a 5-server grid; smaller grids lower happy and needed to fit. */
const GRID_SHARES = { needed: 3, happy: 4, total: 5 } as const;
const MAX_GRID_SERVERS = 50;
const READY_TIMEOUT_MS = 30_000;
/** How long nodes get to stop after Ctrl-C before they are killed. */
const STOP_TIMEOUT_MS = 15_000;

export class GridDirectoryError extends TahoeError {
  constructor(dir: string, why: string) {
    super("TAHOE_ERR_CLI_GRID_DIR", `${quotePath(dir)} is not a grid directory: ${why}`, {
      hint: "Give 'tahoe grid up' an empty or new directory, or one an earlier 'tahoe grid up' made (introducer/, storageN/, client/).",
    });
  }
}

export class GridNodeDiedError extends TahoeError {
  constructor(child: GridChild, how: string) {
    const tail = child.tail();
    super(
      "TAHOE_ERR_CLI_GRID_NODE_DIED",
      `grid node ${child.name} (${child.basedir}) exited (${how}); the grid was stopped` +
        (tail.length > 0 ? `. Its last lines:\n  ${tail.join("\n  ")}` : ""),
      {
        hint: `Run 'tahoe run ${child.basedir}' on its own to see the whole problem, then 'tahoe grid up' again.`,
      },
    );
  }
}

export interface GridLayout {
  readonly dir: string;
  readonly introducer: string;
  readonly storage: readonly string[];
  readonly client: string;
}

export function gridLayout(dir: string, servers: number): GridLayout {
  return {
    dir,
    introducer: join(dir, "introducer"),
    storage: Array.from({ length: servers }, (_, i) => join(dir, `storage${i + 1}`)),
    client: join(dir, "client"),
  };
}

/** The storageN directories an earlier `grid up` made, so a bare second `grid up` runs the same grid. */
function existingServerCount(dir: string): number {
  if (!existsSync(dir)) return 0;
  const names = readdirSync(dir).filter((n) => /^storage[1-9]\d*$/.test(n));
  let count = 0;
  while (names.includes(`storage${count + 1}`)) count += 1;
  return count;
}

function readServers(parsed: ParsedOptions, dir: string): number {
  const typed = param(parsed, "servers");
  if (typed === undefined) return existingServerCount(dir) || DEFAULT_GRID_SERVERS;
  const n = Number(typed);
  if (!/^\d+$/.test(typed) || n < 1 || n > MAX_GRID_SERVERS) {
    throw new CliUsageError(
      `--servers=${typed} is not a number of servers`,
      `Give a whole number from 1 to ${MAX_GRID_SERVERS}, e.g. --servers=5.`,
    );
  }
  return n;
}

function checkGridDirectory(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length === 0 || existsSync(join(dir, "introducer", "tahoe.cfg"))) return;
  throw new GridDirectoryError(
    dir,
    `it holds other files (${entries.slice(0, 3).join(", ")}) and no introducer/tahoe.cfg`,
  );
}

/** Runs one `tahoe create-*` in this process, its output kept out of the grid's summary. */
async function create(command: CliCommand, argv: string[], context: CommandContext): Promise<void> {
  const help: HelpContext = { defaultNodeDir: context.defaultNodeDir };
  const quiet: CommandContext = { ...context, out: () => {}, err: () => {} };
  await command.run(parseOptions(command.options(help), argv), quiet);
}

function introducerNurl(introducerDir: string): string {
  const file = join(introducerDir, NODE_FILES.introducerNurl);
  const first = readFileSync(file, "utf8").split("\n")[0]?.trim();
  if (!first) throw new GridDirectoryError(introducerDir, `${quotePath(file)} holds no NURL`);
  return first;
}

/**
 * A free port on 127.0.0.1 only: --hostname would listen on every interface, and a grid for
 * trying things out has no business being reachable from the network.
 */
async function loopbackListener(context: CommandContext): Promise<string[]> {
  const port = await context.io.allocatePort({ host: "127.0.0.1" });
  return [`--port=tcp:${port}:interface=127.0.0.1`, `--location=tcp:127.0.0.1:${port}`];
}

/** Makes whatever part of the grid is missing; what exists is kept as it is. */
async function createMissing(layout: GridLayout, context: CommandContext): Promise<string[]> {
  const made: string[] = [];
  const missing = (basedir: string) => !existsSync(join(basedir, "tahoe.cfg"));
  if (missing(layout.introducer)) {
    await create(createIntroducerCommand, [...(await loopbackListener(context)), layout.introducer], context);
    made.push("introducer");
  }
  const nurl = introducerNurl(layout.introducer);
  for (const [i, basedir] of layout.storage.entries()) {
    if (!missing(basedir)) continue;
    const args = [
      ...(await loopbackListener(context)),
      `--nickname=storage${i + 1}`,
      `--introducer=${nurl}`,
      "--webport=none",
    ];
    await create(createNodeCommand, [...args, basedir], context);
    made.push(`storage${i + 1}`);
  }
  if (missing(layout.client)) {
    const servers = layout.storage.length;
    const happy = Math.min(GRID_SHARES.happy, servers);
    const port = await context.io.allocatePort({ host: "127.0.0.1" });
    await create(
      createClientCommand,
      [
        "--nickname=client",
        `--introducer=${nurl}`,
        `--webport=tcp:${port}:interface=127.0.0.1`,
        `--shares-needed=${Math.min(GRID_SHARES.needed, happy)}`,
        `--shares-happy=${happy}`,
        `--shares-total=${GRID_SHARES.total}`,
        layout.client,
      ],
      context,
    );
    made.push("client");
  }
  return made;
}

/** node.url once the node writes it; until then the URL its web.port promises. */
async function clientWebUrl(basedir: string): Promise<string | undefined> {
  const nodeUrl = join(basedir, NODE_FILES.nodeUrl);
  if (existsSync(nodeUrl)) return readFileSync(nodeUrl, "utf8").trim();
  const { config } = await loadNodeConfig(basedir);
  const endpoint = config?.node.webPort;
  if (endpoint?.kind !== "tcp") return undefined;
  return `http://${endpoint.interface ?? "127.0.0.1"}:${endpoint.port}/`;
}

function onceStopRequested(): { stopped: Promise<string>; dispose: () => void } {
  let dispose = () => {};
  const stopped = new Promise<string>((resolve) => {
    const onInt = () => resolve("SIGINT");
    const onTerm = () => resolve("SIGTERM");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    dispose = () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
  });
  return { stopped, dispose };
}

/** Ctrl-C to every node, then a kill for any that has not stopped in time. */
async function stopAll(children: readonly GridChild[]): Promise<void> {
  for (const child of children) child.stop();
  const timer = setTimeout(() => {
    for (const child of children) child.kill();
  }, STOP_TIMEOUT_MS);
  await Promise.all(children.map((c) => c.exited));
  clearTimeout(timer);
}

export async function up(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const [, typedDir, ...extra] = parsed.args;
  if (extra.length > 0) {
    throw new CliUsageError(
      `unexpected arguments: ${extra.join(" ")}`,
      "Usage: tahoe grid up [--servers=N] [DIR]",
    );
  }
  const dir = absolutePath(typedDir ?? DEFAULT_GRID_DIR, context.io.cwd, context.io.homeDir);
  checkGridDirectory(dir);
  const layout = gridLayout(dir, readServers(parsed, dir));
  const made = await createMissing(layout, context);
  context.out(
    made.length > 0
      ? `grid created in ${quotePath(dir)}: ${made.join(", ")}\n`
      : `grid reused: ${quotePath(dir)}\n`,
  );

  const verbose = flag(parsed, "verbose");
  const onLine = verbose ? (name: string, line: string) => context.out(`${name}: ${line}\n`) : undefined;
  const spawnOne = (name: string, basedir: string) =>
    spawnNode(name, basedir, { readyTimeoutMs: READY_TIMEOUT_MS, ...(onLine ? { onLine } : {}) });
  const stop = onceStopRequested();
  const interrupted = stop.stopped.then(() => "interrupted" as const);
  const children: GridChild[] = [];
  const stopGrid = async () => {
    stop.dispose();
    await stopAll(children);
  };
  let outcome: "ready" | "interrupted";
  try {
    // The introducer first, so the others find it listening and subscribe at once.
    const introducer = spawnOne("introducer", layout.introducer);
    children.push(introducer);
    outcome = await Promise.race([introducer.ready.then(() => "ready" as const), interrupted]);
    if (outcome === "ready") {
      for (const [i, basedir] of layout.storage.entries())
        children.push(spawnOne(`storage${i + 1}`, basedir));
      children.push(spawnOne("client", layout.client));
      const allReady = Promise.all(children.map((c) => c.ready)).then(() => "ready" as const);
      outcome = await Promise.race([allReady, interrupted]);
    }
  } catch (error) {
    await stopGrid();
    throw error;
  }
  if (outcome === "ready") {
    context.out(await summary(layout, children));
    const died = Promise.race(
      children.map((child) => child.exited.then((how) => ({ child, how: how.signal ?? `code ${how.code}` }))),
    );
    const ending = await Promise.race([interrupted, died]);
    await stopGrid();
    if (ending !== "interrupted") throw new GridNodeDiedError(ending.child, ending.how);
  } else {
    await stopGrid();
  }
  context.out(`grid stopped: ${quotePath(dir)}\n`);
  return 0;
}

async function summary(layout: GridLayout, children: readonly GridChild[]): Promise<string> {
  const web = await clientWebUrl(layout.client);
  const pids = children.map((c) => `${c.name}=${c.pid ?? "?"}`).join(" ");
  return (
    `grid running in ${quotePath(layout.dir)}: introducer, ${layout.storage.length} storage node` +
    `${layout.storage.length === 1 ? "" : "s"}, client\n` +
    `  client web:  ${web ?? "(none: the client has no tcp web.port)"}\n` +
    `  client dir:  ${quotePath(layout.client)} (tahoe -d ${quotePath(layout.client)} ...)\n` +
    `  panel:       tahoe -d ${quotePath(layout.client)} webopen --control-panel\n` +
    `  introducer:  ${quotePath(join(layout.introducer, NODE_FILES.introducerNurl))} (Tahoe-LAFS nodes: ${quotePath(join(layout.introducer, NODE_FILES.introducerFurl))})\n` +
    `  processes:   ${pids}\n` +
    "Press Ctrl-C to stop the grid.\n"
  );
}
