import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

/**
 * A small grid of real `tahoe run` processes on 127.0.0.1 for integration tests (tests/grid,
 * tests/browser): an introducer, storage nodes without a web port, and one client whose web
 * port the system allocates, each made with `tahoe create-*`.
 */

const TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");

export interface TahoeResult {
  code: number;
  /** Bytes, since `tahoe get` writes the file there. */
  stdout: Buffer;
  stderr: string;
}

export interface ServerState {
  serverId: string;
  nickname: string;
  connection: { state: string };
}

export function tahoe(args: string[], stdin?: Uint8Array): Promise<TahoeResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [TAHOE, ...args],
      { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") reject(error);
        else
          resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr: stderr.toString() });
      },
    );
    child.stdin?.end(stdin);
  });
}

/** Runs `tahoe ARGS` and gives its output, or fails with what it printed on stderr. */
export async function tahoeOk(args: string[], stdin?: Uint8Array): Promise<Buffer> {
  const result = await tahoe(args, stdin);
  if (result.code !== 0) throw new Error(`tahoe ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

export interface Grid {
  root: string;
  /** Node directories by name: "intro", the storage names, "client". */
  dirs: Record<string, string>;
  storage: string[];
  /** The client's web root, from its node.url. */
  nodeUrl: string;
  /** What each node printed, for failure messages. */
  outputs: Map<string, string>;
  start(name: string): Promise<void>;
  /** Stops a node (SIGTERM unless told otherwise) and waits for it to exit. */
  stop(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (SIGSTOP / SIGCONT for a hung node); close() resumes stopped ones. */
  signal(name: string, signal: NodeJS.Signals): void;
  /** The client's view of the servers (private/server-list.json). */
  servers(): Promise<ServerState[]>;
  /** Waits until the client's view satisfies `test`, or fails after `ms`. */
  waitForServers(
    test: (servers: ServerState[]) => boolean,
    what: string,
    ms?: number,
  ): Promise<ServerState[]>;
  idOf(nickname: string): Promise<string>;
  close(): Promise<void>;
}

export interface GridOptions {
  storage: string[];
  k: number;
  happy: number;
  n: number;
  /** Edits a node's directory (its tahoe.cfg, say) after it is created and before it starts. */
  configure?: (name: string, dir: string) => Promise<void>;
  /** The command that runs a node, given `node tahoe.js run …` as argv; default that argv itself. */
  command?: (name: string, argv: string[]) => string[];
  /**
   * An introducer already running elsewhere (a Tahoe-LAFS one's pb:// fURL, say): no "intro"
   * node is made, and the client must also see `otherServers` servers announced there.
   */
  introducer?: { furl: string; otherServers: number };
}

export async function startGrid(options: GridOptions): Promise<Grid> {
  const root = await mkdtemp(join(tmpdir(), "lafs-test-grid-"));
  const dirs: Record<string, string> = {};
  const ownIntroducer = options.introducer === undefined;
  const names = [...(ownIntroducer ? ["intro"] : []), ...options.storage, "client"];
  for (const name of names) dirs[name] = join(root, name);
  const children = new Map<string, ChildProcess>();
  const outputs = new Map<string, string>();
  const paused = new Set<string>();

  /**
   * Starts a node; a node whose tub or control port was taken meanwhile (create-node chose it
   * while free, as Tahoe's does, and parallel tests or a grid just stopped may take it first)
   * gets a fresh port and starts again.
   */
  async function start(name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce(name);
      } catch (error) {
        if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error;
        await moveTakenPort(dirs[name]!, String(error));
      }
    }
  }

  async function startOnce(name: string): Promise<void> {
    const argv = [process.execPath, TAHOE, "run", "--allow-stdin-close", dirs[name]!];
    const [file, ...args] = options.command?.(name, argv) ?? argv;
    const child = spawn(file!, args, { stdio: ["ignore", "pipe", "pipe"] });
    children.set(name, child);
    // `outputs` keeps every run of a node; readiness is judged on this run's output alone.
    let output = "";
    const record = (chunk: Buffer) => {
      output += chunk.toString();
      outputs.set(name, (outputs.get(name) ?? "") + chunk.toString());
    };
    child.stdout!.on("data", record);
    child.stderr!.on("data", record);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", () => {
        if (output.includes("node running")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`${name} exited with ${code}: ${output}`)));
    });
  }

  async function stop(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = children.get(name);
    if (child === undefined) return;
    children.delete(name);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    // A stopped process keeps SIGTERM pending until it runs again.
    if (paused.delete(name)) child.kill("SIGCONT");
    await exited;
  }

  function signal(name: string, sig: NodeJS.Signals): void {
    const child = children.get(name);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    if (sig === "SIGSTOP") paused.add(name);
    if (sig === "SIGCONT") paused.delete(name);
    child.kill(sig);
  }

  async function servers(): Promise<ServerState[]> {
    try {
      const text = await readFile(join(dirs.client!, "private/server-list.json"), "utf8");
      return (JSON.parse(text) as { servers: ServerState[] }).servers;
    } catch {
      return [];
    }
  }

  async function waitForServers(
    test: (servers: ServerState[]) => boolean,
    what: string,
    ms = 15_000,
  ): Promise<ServerState[]> {
    const deadline = Date.now() + ms;
    let last: ServerState[] = [];
    while (Date.now() < deadline) {
      last = await servers();
      if (test(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
  }

  const grid: Grid = {
    root,
    dirs,
    storage: options.storage,
    nodeUrl: "",
    outputs,
    start,
    stop,
    signal,
    servers,
    waitForServers,
    async idOf(nickname) {
      const server = (await servers()).find((s) => s.nickname === nickname);
      if (server === undefined) throw new Error(`no server ${nickname} in the client's list`);
      return server.serverId;
    },
    async close() {
      await Promise.all([...children.keys()].map((name) => stop(name)));
      await rm(root, { recursive: true, force: true });
    },
  };

  try {
    let introducer = options.introducer?.furl ?? "";
    if (ownIntroducer) {
      await tahoeOk(["create-introducer", "--hostname=127.0.0.1", dirs.intro!]);
      introducer = (await readFile(join(dirs.intro!, "private/introducer.nurl"), "utf8"))
        .split("\n")[0]!
        .trim();
    }
    await Promise.all(
      options.storage.map((name) =>
        tahoeOk([
          "create-node",
          "--hostname=127.0.0.1",
          `--nickname=${name}`,
          "--webport=none",
          `--introducer=${introducer}`,
          dirs[name]!,
        ]),
      ),
    );
    await tahoeOk([
      "create-client",
      `--introducer=${introducer}`,
      "--nickname=client",
      "--webport=tcp:0:interface=127.0.0.1",
      `--shares-needed=${options.k}`,
      `--shares-happy=${options.happy}`,
      `--shares-total=${options.n}`,
      dirs.client!,
    ]);
    if (options.configure) {
      for (const name of [...options.storage, "client"]) await options.configure(name, dirs[name]!);
    }
    if (ownIntroducer) await start("intro");
    await Promise.all([...options.storage, "client"].map(start));
    const count = options.storage.length + (options.introducer?.otherServers ?? 0);
    await waitForServers(
      (list) => list.filter((s) => s.connection.state === "connected").length === count,
      `${count} connected servers`,
    );
    grid.nodeUrl = (await readFile(join(dirs.client!, "node.url"), "utf8")).trim();
  } catch (error) {
    await grid.close();
    throw error;
  }
  return grid;
}

/**
 * Gives the port a node could not listen on (the first `:PORT` of its error that tahoe.cfg names:
 * the tub's or the control tub's) a port that is free now, everywhere tahoe.cfg names it.
 */
async function moveTakenPort(dir: string, error: string): Promise<void> {
  const cfgPath = join(dir, "tahoe.cfg");
  const cfg = await readFile(cfgPath, "utf8");
  const named = (port: string) => new RegExp(`:${port}\\b`).test(cfg);
  const taken = [...error.matchAll(/:(\d{2,5})\b/g)].map((m) => m[1]!).find(named);
  if (taken === undefined) throw new Error(`${cfgPath} does not name the port that was taken: ${error}`);
  const port = String(await freePort());
  await writeFile(cfgPath, cfg.replace(new RegExp(`:${taken}\\b`, "g"), `:${port}`));
}
