import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

// Real `tahoe run` processes with real tors: offline ones (DisableNetwork 1, or none at all), and
// one private Tor network (../shared/tools/tornet) for the node that becomes reachable.
const BIN = join(import.meta.dirname, "..", "bin", "tahoe.js");
const TORNET = join(import.meta.dirname, "../../../../shared/tools/tornet/tornet.sh");
const execFileAsync = promisify(execFile);
const torOnPath = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "tor")));
if (!torOnPath)
  console.warn("\n!!! SKIPPING tahoe run Tor tests: 'tor' not on PATH (.ci/run installs it) !!!\n");

let root: string;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "lafs-cli-tor-"));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tahoe = (args: string[]) => execFileAsync(process.execPath, [BIN, ...args]);

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
}

function tahoeRun(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, "run", "--allow-stdin-close", ...args], { stdio: "pipe" });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return { child, stdout: () => stdout, stderr: () => stderr };
}

async function waitFor(run: Running, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.stdout() + run.stderr())) {
    if (run.child.exitCode !== null)
      throw new Error(`tahoe run exited ${run.child.exitCode}: ${run.stderr()}`);
    if (Date.now() > deadline)
      throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${run.stdout()}\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  return typeof address === "object" && address ? address.port : 0;
}

interface WelcomeJson {
  tor: Record<string, unknown>;
  uploads: { ready: boolean; reason: string | null };
}

async function welcome(basedir: string): Promise<{ json: WelcomeJson; html: string }> {
  const url = readFileSync(join(basedir, "node.url"), "utf8").trim();
  const json = (await (await fetch(`${url}?t=json`)).json()) as WelcomeJson;
  const html = await (await fetch(url)).text();
  return { json, html };
}

describe.skipIf(!torOnPath)("tahoe run with a Tor that does not work", () => {
  it("a tor with DisableNetwork 1: run, status, welcome page and readiness say so (not 'published')", async () => {
    const basedir = join(root, "disabled");
    await tahoe([
      "create-node",
      "--listen=tor",
      "--tor-launch",
      "--hide-ip",
      "--webport=tcp:0:interface=127.0.0.1",
      basedir,
    ]);
    writeFileSync(join(basedir, "offline.torrc"), "DisableNetwork 1\n");
    const cfg = readFileSync(join(basedir, "tahoe.cfg"), "utf8");
    writeFileSync(join(basedir, "tahoe.cfg"), cfg.replace("[tor]\n", "[tor]\ntorrc.file = offline.torrc\n"));

    const run = tahoeRun(["--tor-timeout=2", basedir]);
    await waitFor(run, /^tor: the node keeps running/m, 20_000);
    expect(run.stdout()).toMatch(/^node running: /m);
    const problem =
      /^tor: not ready after 2 s: (tor \(control port tcp:127\.0\.0\.1:\d+\) has DisableNetwork 1: it connects to nothing, so it cannot bootstrap, reach servers or publish an onion service)$/m.exec(
        run.stderr(),
      )?.[1];
    expect(problem, run.stderr()).toBeDefined();
    expect(run.stderr()).toContain(
      "hint: Remove 'DisableNetwork 1' from that tor's torrc (or [tor]torrc.file) and restart it.\n",
    );

    const status = (await tahoe(["status", basedir])).stdout;
    expect(status).toMatch(
      /^tor: NOT READY: bootstrapped 0% \(Starting\), SOCKS port not reachable, onion [a-z2-7]{56}\.onion descriptor not uploaded$/m,
    );
    expect(status).toContain(`  why: ${problem}\n`);

    const { json, html } = await welcome(basedir);
    expect(json.tor).toMatchObject({
      ready: false,
      via: "control-port",
      bootstrapped: false,
      bootstrap_progress: 0,
      network_disabled: true,
      socks: { reachable: false },
      onion: { descriptor_uploaded: false },
      problem,
    });
    expect(json.uploads.ready).toBe(false);
    expect(json.uploads.reason).toMatch(/^Tor is not ready: tor \(control port .*\) has DisableNetwork 1/);
    expect(html).toContain(
      '<p id="tor-state" class="not-ready" role="alert">Tor is not ready: tor (control port',
    );
    expect(html).toMatch(
      /<tr><th>Onion service<\/th><td><code>[a-z2-7]{56}\.onion<\/code>: descriptor not uploaded<\/td><\/tr>/,
    );

    const logs = (await tahoe(["logs", basedir])).stdout;
    expect(logs).not.toContain("onion service published");
    expect(logs).toContain("onion service added to tor; reachable once its descriptor is uploaded");
  }, 60_000);

  it("no tor at all behind a hide-ip client's SOCKS port: run, status and readiness name the port", async () => {
    const basedir = join(root, "no-tor");
    await tahoe(["create-client", "--webport=tcp:0:interface=127.0.0.1", basedir]);
    const port = await closedPort();
    const cfg = readFileSync(join(basedir, "tahoe.cfg"), "utf8")
      .replace("reveal-IP-address = true", "reveal-IP-address = false")
      .replace("[node]\n", "[connections]\ntcp = tor\n\n[node]\n");
    writeFileSync(join(basedir, "tahoe.cfg"), `${cfg}\n[tor]\nsocks.port = tcp:127.0.0.1:${port}\n`);

    const run = tahoeRun(["--tor-timeout=1", basedir]);
    await waitFor(run, /^tor: the node keeps running/m, 20_000);
    const problem = `tor's SOCKS port tcp:127.0.0.1:${port} does not answer: ECONNREFUSED`;
    expect(run.stderr()).toContain(`tor: not ready after 1 s: ${problem}\n`);
    expect(run.stderr()).toContain(
      "hint: Give that tor a SocksPort (torrc), or name a working one with [tor]socks.port.\n",
    );
    const status = (await tahoe(["status", basedir])).stdout;
    expect(status).toContain(
      `tor: NOT READY: bootstrap unknown (no control port to ask), SOCKS tcp:127.0.0.1:${port} not reachable\n  why: ${problem}\n`,
    );
    const { json } = await welcome(basedir);
    expect(json.tor).toMatchObject({ ready: false, via: "socks-probe", bootstrapped: null, problem });
    expect(json.uploads.reason).toContain(`Tor is not ready: ${problem}`);
  }, 60_000);
});

describe.skipIf(!torOnPath)("tahoe run on a private Tor network (tornet)", () => {
  const env: NodeJS.ProcessEnv = { ...process.env, TORNET_OWNER_PID: String(process.pid) };
  let controlPort = 0;
  beforeAll(async () => {
    env.TORNET_DIR = mkdtempSync(join(tmpdir(), "lafs-cli-tornet-"));
    // tornet needs 100 ports from its base; a range the kernel does not hand out for port 0.
    const base = 20_000 + Math.floor(Math.random() * 300) * 100;
    env.TORNET_BASE_PORT = String(base);
    controlPort = base + 62;
    await execFileAsync("bash", [TORNET, "start"], { env, timeout: 240_000 });
  }, 250_000);
  afterAll(async () => {
    await execFileAsync("bash", [TORNET, "stop"], { env }).catch(() => {});
    if (env.TORNET_DIR) rmSync(env.TORNET_DIR, { recursive: true, force: true });
  }, 60_000);

  it("an onion server prints 'tor: ready' once its descriptor is uploaded, and status agrees", async () => {
    const basedir = join(root, "onion");
    await tahoe([
      "create-node",
      "--listen=tor",
      `--tor-control-port=tcp:127.0.0.1:${controlPort}`,
      "--hide-ip",
      "--webport=none",
      basedir,
    ]);
    const started = Date.now();
    const run = tahoeRun(["--tor-timeout=120", basedir]);
    await waitFor(run, /^tor: ready: /m, 130_000);
    const seconds = (Date.now() - started) / 1000;
    console.info(`tahoe run -> "tor: ready" (onion descriptor uploaded) on tornet: ${seconds.toFixed(1)} s`);
    expect(run.stdout()).toMatch(
      /^tor: ready: bootstrapped 100%, SOCKS tcp:127\.0\.0\.1:\d+ answers, onion service [a-z2-7]{56}\.onion descriptor uploaded$/m,
    );
    expect(run.stderr()).not.toContain("tor: not ready");
    const status = (await tahoe(["status", basedir])).stdout;
    expect(status).toMatch(
      /^tor: ready: bootstrapped 100% \(Done\), SOCKS .* answers, onion .* descriptor uploaded$/m,
    );
  }, 150_000);
});
