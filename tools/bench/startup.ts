/**
 * Start-up benchmark: how fast `tahoe` starts and how much memory an idle node holds.
 * `tahoe grid up --servers=1` makes an introducer, a storage node and a client in a temporary
 * directory and is stopped again; then, median of ROUNDS:
 *   - `tahoe --version` (CLI start alone),
 *   - `tahoe run storage1`, spawn to its `node running:` line,
 *   - `tahoe run client` with the introducer and storage node running: spawn to the web port
 *     answering and to the ready line, and the client's RSS once it is connected to the server.
 * Prints the machine load next to the figures (the 2 cores are shared); never pass/fail.
 *
 *   pnpm bench:startup               (from the repo root; needs `pnpm build` first)
 *   pnpm bench:startup --rounds=9
 *   pnpm bench:startup --no-bundle   (TAHOE_NO_BUNDLE=1: the separate modules, not the bundle)
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "..", "..", "apps", "cli", "bin", "tahoe.js");
const ROUNDS = Number(
  /^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith("--rounds=")) ?? "")?.[1] ?? 5,
);

const NO_BUNDLE = process.argv.includes("--no-bundle");
const ENV = NO_BUNDLE ? { ...process.env, TAHOE_NO_BUNDLE: "1" } : process.env;

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function tahoe(args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"], env: ENV });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return Object.assign(child, { output: () => out });
}

async function waitFor(
  child: ReturnType<typeof tahoe>,
  what: string,
  done: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await done())) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${what}: gave up; output:\n${child.output()}`);
    await sleep(2);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  await exited;
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: "GET" }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}

/** CPU seconds (user + system) the process has used so far: far less disturbed by load than wall time. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ)
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN) / 1024;

async function serversConnected(webUrl: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${webUrl}?t=json`, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => {
        const connected = body.match(/"connection":\{"state":"connected"/g);
        resolve(connected?.length ?? 0);
      });
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

/** Whether bin/tahoe.js will run the bundle (apps/cli/scripts/bundle.mjs) or the separate modules. */
function bundleIsFresh(): boolean {
  if (NO_BUNDLE) return false;
  const cliDir = join(import.meta.dirname, "..", "..", "apps", "cli");
  try {
    const inputs = JSON.parse(readFileSync(join(cliDir, "dist", "bundle", "inputs.json"), "utf8")) as [
      string,
      number,
    ][];
    return inputs.every(([path, mtimeMs]) => statSync(join(cliDir, path)).mtimeMs <= mtimeMs);
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "lafs-startup-"));
  const load = () => loadavg()[0]?.toFixed(1);
  const started: ChildProcess[] = [];
  try {
    const grid = tahoe(["grid", "up", dir, "--servers=1"]);
    await waitFor(grid, "grid up", () => grid.output().includes("Press Ctrl-C to stop the grid."));
    const webUrl = /client web: +(http\S+)/.exec(grid.output())?.[1];
    if (webUrl === undefined) throw new Error(`no client web URL in:\n${grid.output()}`);
    await stop(grid);
    const bundled = bundleIsFresh();
    console.log(
      `load average at start: ${load()}; rounds: ${ROUNDS}; tahoe runs ${bundled ? "the bundle" : "the separate modules (bundle missing or stale)"}`,
    );

    const version: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, [BIN, "--version"], { stdio: "ignore", env: ENV });
      version.push(seconds(t0));
    }

    const storageReady: number[] = [];
    const storageCpu: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint();
      const child = tahoe(["run", join(dir, "storage1")]);
      await waitFor(child, "storage node", () => child.output().includes("node running:"));
      storageReady.push(seconds(t0));
      storageCpu.push(cpuSeconds(child.pid ?? 0));
      await stop(child);
    }

    const introducer = tahoe(["run", join(dir, "introducer")]);
    started.push(introducer);
    await waitFor(introducer, "introducer", () => introducer.output().includes("node running:"));
    const storage = tahoe(["run", join(dir, "storage1")]);
    started.push(storage);
    await waitFor(storage, "storage node", () => storage.output().includes("node running:"));

    const web: number[] = [];
    const ready: number[] = [];
    const rss: number[] = [];
    const webCpu: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint();
      const child = tahoe(["run", join(dir, "client")]);
      let webS: number | undefined;
      let readyS: number | undefined;
      await waitFor(child, "client", async () => {
        if (readyS === undefined && child.output().includes("node running:")) readyS = seconds(t0);
        if (webS === undefined && (await answers(webUrl))) {
          webS = seconds(t0);
          webCpu.push(cpuSeconds(child.pid ?? 0));
        }
        return readyS !== undefined && webS !== undefined;
      });
      web.push(webS ?? Number.NaN);
      ready.push(readyS ?? Number.NaN);
      await waitFor(child, "client connected", async () => (await serversConnected(webUrl)) > 0);
      // Let start-up garbage settle, as an idle node would.
      await sleep(1000);
      rss.push(rssMb(child.pid ?? 0));
      await stop(child);
    }

    const fresh = bundled ? `; bundle still fresh: ${bundleIsFresh()}` : "";
    console.log(`load average at end: ${load()}${fresh}`);
    console.log(`median of ${ROUNDS}:`);
    console.log(`  tahoe --version:                    ${median(version).toFixed(3)} s`);
    console.log(`  tahoe run storage node, ready line: ${median(storageReady).toFixed(3)} s`);
    console.log(`    CPU used by then:                 ${median(storageCpu).toFixed(2)} s`);
    console.log(`  tahoe run client, web port answers: ${median(web).toFixed(3)} s`);
    console.log(`    CPU used by then:                 ${median(webCpu).toFixed(2)} s`);
    console.log(`  tahoe run client, ready line:       ${median(ready).toFixed(3)} s`);
    console.log(`  client RSS once connected, idle:    ${median(rss).toFixed(0)} MB`);
  } finally {
    for (const child of started.reverse()) await stop(child);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
