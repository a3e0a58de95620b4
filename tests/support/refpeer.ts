import { type ChildProcess, execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * The reference Tahoe-LAFS 1.20 (../shared/tools/refpeer) from tests: find the build, start and
 * stop reference grids and static-only Tahoe clients, describe storage nodes (ours or Tahoe's)
 * as a servers.yaml. Reference nodes are detached (setsid) processes, so every directory started
 * here is remembered until stopped, and a process-exit hook stops whatever a test left running.
 */

/** ../shared/tools/refpeer beside the checkout. */
export const REFPEER_TOOLS = join(import.meta.dirname, "../../../shared/tools/refpeer");

/** The one variable that names the reference peer's directory (.ci/run exports it). */
export const REF_DIR_VARIABLE = "TAHOE_REF_DIR";

export const BUILD_COMMAND = '../shared/tools/refpeer/build.sh "$TAHOE_REF_DIR"';

export interface RefPeer {
  /** TAHOE_REF_DIR: where build.sh put venv/ and env.sh. */
  dir: string;
  /** The reference `tahoe` command. */
  cli: string;
  /** env.sh written by build.sh; the refpeer scripts source it. */
  envFile: string;
}

/**
 * The reference peer named by TAHOE_REF_DIR. Without the variable, outside CI, the caller skips
 * and a banner says how to get one. In CI (CI set) or when the variable is set, a missing or
 * unbuilt peer throws: the interop tests fail rather than quietly not running.
 */
export function findRefPeer(what: string): RefPeer | undefined {
  const dir = process.env[REF_DIR_VARIABLE];
  if (dir === undefined || dir === "") {
    if (process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false") {
      throw new Error(
        `CI is set but TAHOE_REF_DIR is not: ${what} need the reference Tahoe-LAFS (.ci/run builds it with ${BUILD_COMMAND})`,
      );
    }
    const message = `SKIPPING ${what}: TAHOE_REF_DIR is not set (export TAHOE_REF_DIR=~/.cache/lafs-ts/tahoe-ref; ${BUILD_COMMAND}; .ci/run does)`;
    console.warn(`\n${"!".repeat(message.length)}\n${message}\n${"!".repeat(message.length)}\n`);
    return undefined;
  }
  const envFile = join(dir, "env.sh");
  const cli = join(dir, "venv/bin/tahoe");
  if (!existsSync(envFile) || !existsSync(cli)) {
    throw new Error(
      `TAHOE_REF_DIR=${dir} holds no built reference Tahoe-LAFS (no env.sh or venv/bin/tahoe): run ${BUILD_COMMAND}`,
    );
  }
  return { dir, cli, envFile };
}

/**
 * Start scripts still running, by the directory they start. A test that times out runs afterAll
 * while start-grid.sh may still be launching nodes: stopRef ends the script first, so nothing is
 * launched after the stop.
 */
const starting = new Map<string, ChildProcess>();

/** Node or grid directories started here and not yet stopped. */
const running = new Set<string>();

function stopLeftovers(): void {
  // A start script still running would launch nodes after the stop: end it first, at once.
  for (const script of starting.values()) script.kill("SIGKILL");
  if (running.size === 0) return;
  const dirs = [...running].filter((dir) => existsSync(dir));
  running.clear();
  if (dirs.length === 0) return;
  try {
    execFileSync(join(REFPEER_TOOLS, "stop-grid.sh"), dirs, { stdio: "ignore", timeout: 30_000 });
  } catch {
    // Nothing more can be done while exiting; stop-grid.sh already tried SIGKILL.
  }
}

// The last resort when a test run ends without its afterAll (a crash, process.exit, Ctrl-C, a
// runner killing its worker with SIGTERM): the nodes are setsid'd, so no signal reaches them.
process.once("exit", stopLeftovers);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    stopLeftovers();
    // Die of the same signal, as the process would have without this handler.
    process.kill(process.pid, signal);
  });
}

interface ScriptResult {
  stdout: string;
  stderr: string;
}

/** Runs a refpeer script; a failure carries the command and the last lines it printed. */
function runScript(
  peer: RefPeer,
  script: string,
  args: string[],
  startsDir?: string,
  env: Record<string, string> = {},
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(REFPEER_TOOLS, script),
      args,
      {
        env: { ...process.env, TAHOE_REF_ENV: peer.envFile, WAIT_SECS: "100", ...env },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 150_000,
      },
      (error, stdout, stderr) => {
        if (startsDir !== undefined) starting.delete(startsDir);
        if (error === null) resolve({ stdout, stderr });
        else {
          const tail = stderr.trim().split("\n").slice(-15).join("\n");
          reject(new Error(`${script} ${args.join(" ")} failed (${error.message.split("\n")[0]}):\n${tail}`));
        }
      },
    );
    if (startsDir !== undefined) starting.set(startsDir, child);
  });
}

/** Stops reference nodes (grid or node directories) with stop-grid.sh: never by name. */
export async function stopRef(peer: RefPeer, ...dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const script = starting.get(dir);
    if (script === undefined || script.exitCode !== null || script.signalCode !== null) continue;
    const exited = new Promise((resolve) => script.once("exit", resolve));
    script.kill("SIGTERM");
    await exited;
  }
  // A directory that was never made (a start that failed early) has nothing to stop.
  const present = dirs.filter((dir) => existsSync(dir));
  try {
    if (present.length > 0) await runScript(peer, "stop-grid.sh", present);
  } finally {
    for (const dir of dirs) running.delete(dir);
  }
}

export interface RefGrid {
  dir: string;
  /** The reference client's web root. */
  url: string;
  /** GRIDDIR/storage1..N. */
  storageDirs: string[];
}

/**
 * start-grid.sh: a Tahoe introducer, `n` Tahoe storage nodes and a Tahoe client; with
 * `introducerFurl`, no Tahoe introducer: the nodes use that one (ours, say).
 */
export async function startRefGrid(
  peer: RefPeer,
  dir: string,
  shape: { n: number; k: number; happy: number; total: number; introducerFurl?: string },
): Promise<RefGrid> {
  running.add(dir);
  const args = [dir, shape.n, shape.k, shape.happy, shape.total].map(String);
  const env: Record<string, string> =
    shape.introducerFurl === undefined ? {} : { INTRODUCER_FURL: shape.introducerFurl };
  const { stdout } = await runScript(peer, "start-grid.sh", args, dir, env);
  const storageDirs = Array.from({ length: shape.n }, (_, i) => join(dir, `storage${i + 1}`));
  return { dir, url: stdout.trim(), storageDirs };
}

/**
 * export-servers.py --probe: the servers.yaml a client needs for these storage node directories,
 * Tahoe's or ours (both write node.pubkey, private/storage.furl, private/node.pem and
 * permutation-seed). The probe checks each NURL's certificate pin and GET /storage/v1/version.
 */
export async function exportServers(peer: RefPeer, out: string, nodeDirs: string[]): Promise<void> {
  await runScript(peer, "export-servers.py", ["--probe", "-o", out, ...nodeDirs]);
}

/**
 * tahoe-client-static.sh: a Tahoe client that knows only the servers in `serversYaml`, connected
 * to all of them. With `convergence` (the text of a private/convergence file), the node is made
 * first with that secret, so its CHK caps can be compared with another client's.
 */
export async function startRefStaticClient(
  peer: RefPeer,
  dir: string,
  serversYaml: string,
  shape: { k: number; happy: number; n: number; convergence?: string },
): Promise<string> {
  running.add(dir);
  if (shape.convergence !== undefined) {
    await new Promise<void>((resolve, reject) =>
      execFile(
        peer.cli,
        ["create-client", "--nickname=ref-static-client", "--webport=tcp:0:interface=127.0.0.1", dir],
        (error, _stdout, stderr) =>
          error === null ? resolve() : reject(new Error(`create-client: ${stderr}`)),
      ),
    );
    await mkdir(join(dir, "private"), { recursive: true });
    await writeFile(join(dir, "private/convergence"), shape.convergence, { mode: 0o600 });
  }
  const args = [dir, serversYaml, shape.k, shape.happy, shape.n].map(String);
  const { stdout } = await runScript(peer, "tahoe-client-static.sh", args, dir);
  return stdout.trim();
}
