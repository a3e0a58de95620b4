import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openControlClient } from "@lafs/control-tub";
import { launchTor } from "@lafs/transport";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stopProgress } from "../src/control-commands.js";

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

/** A create command that must fail: its exit code and stderr, and whether it left the directory. */
async function refused(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await tahoe(args);
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error(`tahoe ${args.join(" ")} succeeded`);
}

const torSection = (basedir: string) =>
  /^\[tor\]\n((?:.+\n)*)/m.exec(readFileSync(join(basedir, "tahoe.cfg"), "utf8"))?.[1] ?? "";

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

describe("tahoe run under --hide-ip refuses a rules-file tcp override at start", () => {
  it("names the rules file and line, and starts nothing", async () => {
    const basedir = join(root, "rules-tcp");
    await tahoe(["create-client", "--hide-ip", "--webport=none", basedir]);
    const rulesFile = join(basedir, "private", "connections.rules");
    writeFileSync(rulesFile, "# direct to the LAN\nhint *.lan tcp\n");
    const run = tahoeRun([basedir]);
    const code = await new Promise<number | null>((r) => run.child.once("exit", (c) => r(c)));
    expect(code).toBe(1);
    expect(run.stderr()).toContain(
      `${rulesFile}:2: this rule sends matching tcp hints to the tcp handler, but reveal-IP-address = false in tahoe.cfg: a direct connection reveals this node's IP address`,
    );
    expect(run.stdout()).not.toContain("node running");
    expect(existsSync(join(basedir, "running.process"))).toBe(false);
  }, 30_000);
});

describe("control-port CLI reliability", () => {
  it("`tahoe stop`: a control tub that drops the connection while closing means 'still stopping', not an internal error", async () => {
    // A real listener that resets every connection, as a closing control tub does to a probe.
    const sockets = new Set<import("node:net").Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.resetAndDestroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const client = await openControlClient(root, {
        url: { port, spkiHash: "x".repeat(52), swissnum: "s" },
      });
      const error = await client.status().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(stopProgress(error)).toBe("stopping");
    } finally {
      server.close();
    }
    // Once nothing listens, the node is stopped; any other error is still an error.
    const closed = await openControlClient(root, { url: { port, spkiHash: "x".repeat(52), swissnum: "s" } });
    expect(stopProgress(await closed.status().catch((e: unknown) => e))).toBe("stopped");
    expect(() => stopProgress(new TypeError("a bug"))).toThrow("a bug");
  });

  it("`tahoe logs | head`: a reader that goes away ends logs quietly, exit 0, no stack trace", async () => {
    const basedir = join(root, "logs-pipe");
    await tahoe(["create-client", "--webport=none", basedir]);
    const run = tahoeRun([basedir]);
    await waitFor(run, /^node running: /m, 20_000);
    for (let attempt = 0; attempt < 3; attempt++) {
      const logs = spawn(process.execPath, [BIN, "logs", "--limit=1000", basedir], { stdio: "pipe" });
      let stderr = "";
      logs.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      // Like `head -c 10`: read once, then close the pipe while logs is still writing.
      await new Promise<void>((r) => logs.stdout.once("data", () => r()));
      logs.stdout.destroy();
      const code = await new Promise<number | null>((r) => logs.once("exit", (c) => r(c)));
      expect(stderr).toBe("");
      expect(code).toBe(0);
    }
  }, 40_000);
});

describe("create-* Tor flags that cannot work are refused before anything is written", () => {
  it.each([
    [
      ["create-node", "--listen=tcp", "--hostname=a.example", "--tor-socks-port=tcp:127.0.0.1:9050"],
      "--tor-socks-port= requires --listen=tor",
    ],
    [
      ["create-client", "--tor-launch", "--tor-socks-port=tcp:127.0.0.1:9050"],
      "use either --tor-launch or --tor-socks-port=, not both",
    ],
    [["create-client", "--tor-torrc-file=x.torrc"], "--tor-torrc-file= is used only with --tor-launch"],
    [
      ["create-client", "--hide-ip", "--tor-socks-port=tcp:10.0.0.1:9050"],
      "--hide-ip requires --tor-socks-port= on this machine (a loopback address or a unix socket), not 'tcp:10.0.0.1:9050'",
    ],
  ])("%j", async (args, message) => {
    const basedir = join(root, `usage-${Math.random()}`);
    const r = await refused([...args, basedir]);
    expect(r.code, r.stderr).toBeGreaterThan(0);
    expect(r.stderr).toContain(message);
    expect(existsSync(basedir)).toBe(false);
  });

  it("a closed SOCKS port or control port: the error names the port, the hint this command's flags", async () => {
    const port = await closedPort();
    const socks = await refused([
      "create-client",
      "--hide-ip",
      `--tor-socks-port=tcp:127.0.0.1:${port}`,
      join(root, "c1"),
    ]);
    expect(socks.code).toBe(1);
    expect(socks.stderr).toContain(
      `no Tor SOCKS port answers at tcp:127.0.0.1:${port}: ECONNREFUSED\nStart tor first, or fix --tor-socks-port=`,
    );
    const control = await refused([
      "create-client",
      `--tor-control-port=tcp:127.0.0.1:${port}`,
      join(root, "c2"),
    ]);
    expect(control.stderr).toContain(
      `could not reach Tor's control port at tcp:127.0.0.1:${port}: ECONNREFUSED\nStart tor with a ControlPort and CookieAuthentication 1 and give that endpoint with --tor-control-port=, or use --tor-launch`,
    );
    expect(existsSync(join(root, "c1")) || existsSync(join(root, "c2"))).toBe(false);
  });
});

describe.skipIf(!torOnPath)("create-* Tor flags checked against real (offline) tors", () => {
  it("a control-port tor with SocksPort 0 is refused, naming --tor-socks-port", async () => {
    // DisableNetwork 1 and SocksPort 0: offline, and exactly the tor the issue describes.
    const tor = await launchTor({ dataDirectory: join(root, "socks0-tor"), disableNetwork: true });
    try {
      const basedir = join(root, "socks0");
      const r = await refused([
        "create-client",
        "--hide-ip",
        `--tor-control-port=${tor.control.endpoint}`,
        basedir,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `the tor at ${tor.control.endpoint} has no SOCKS port (SocksPort 0), so the node could make no connection through it\n` +
          "Add a SocksPort line to that tor's torrc, or give its SOCKS port with --tor-socks-port=ENDPOINT.",
      );
      expect(existsSync(basedir)).toBe(false);
    } finally {
      await tor.stop();
    }
  });

  it("--tor-launch --tor-torrc-file: a line tor refuses is quoted; good lines are written as [tor]torrc.file", async () => {
    const bad = join(root, "bad.torrc");
    writeFileSync(bad, "NoSuchTorOption 1\n");
    const r = await refused([
      "create-client",
      "--hide-ip",
      "--tor-launch",
      `--tor-torrc-file=${bad}`,
      join(root, "bad"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not launch tor .*: it exited at start/);
    expect(r.stderr).toContain("NoSuchTorOption");
    expect(r.stderr).toContain("fix the lines of --tor-torrc-file= that tor refused");
    expect(existsSync(join(root, "bad"))).toBe(false);

    const good = join(root, "good.torrc");
    writeFileSync(good, "# a comment\nClientUseIPv6 0\n");
    const basedir = join(root, "good");
    const made = await tahoe([
      "create-client",
      "--hide-ip",
      "--tor-launch",
      "--tor-executable=tor",
      `--tor-torrc-file=${good}`,
      basedir,
    ]);
    expect(made.stderr).toBe("checking tor: tor (offline) with --tor-torrc-file's lines...\n");
    expect(torSection(basedir)).toBe(`launch = true\ntor.executable = tor\ntorrc.file = ${good}\n`);
    expect(readFileSync(join(basedir, "tahoe.cfg"), "utf8")).toContain("[connections]\ntcp = tor\n");
  }, 30_000);
});

describe.skipIf(!torOnPath)("tahoe run on a private Tor network (tornet)", () => {
  const env: NodeJS.ProcessEnv = { ...process.env, TORNET_OWNER_PID: String(process.pid) };
  let controlPort = 0;
  beforeAll(async () => {
    env.TORNET_DIR = mkdtempSync(join(tmpdir(), "lafs-cli-tornet-"));
    // tornet needs 100 ports from its base, all below Linux's ephemeral range (32768-60999), which
    // the kernel hands out for port 0 and outgoing connections: a base of 35300 once lost a port to one.
    const base = 20_000 + Math.floor(Math.random() * 127) * 100;
    env.TORNET_BASE_PORT = String(base);
    controlPort = base + 62;
    await execFileAsync("bash", [TORNET, "start"], { env, timeout: 240_000 });
  }, 250_000);
  afterAll(async () => {
    await execFileAsync("bash", [TORNET, "stop"], { env }).catch(() => {});
    if (env.TORNET_DIR) rmSync(env.TORNET_DIR, { recursive: true, force: true });
  }, 60_000);

  it("create-client --hide-ip --tor-control-port: the tor's SOCKS port is found now; tahoe run says ready", async () => {
    const basedir = join(root, "hide-ip-client");
    const made = await tahoe([
      "create-client",
      "--hide-ip",
      `--tor-control-port=tcp:127.0.0.1:${controlPort}`,
      "--webport=none",
      basedir,
    ]);
    expect(made.stderr).toBe(`checking tor: control port tcp:127.0.0.1:${controlPort}...\n`);
    expect(torSection(basedir)).toBe(`control.port = tcp:127.0.0.1:${controlPort}\n`);
    const run = tahoeRun(["--tor-timeout=60", basedir]);
    await waitFor(run, /^tor: (ready|not ready)/m, 70_000);
    expect(run.stdout()).toMatch(/^tor: ready: bootstrapped 100%, SOCKS tcp:127\.0\.0\.1:\d+ answers$/m);
  }, 90_000);

  it("`tahoe stop` of an onion node: 8 of 8 stops print 'node stopped' and exit 0", async () => {
    const basedir = join(root, "stop-soak");
    await tahoe([
      "create-node",
      "--listen=tor",
      `--tor-control-port=tcp:127.0.0.1:${controlPort}`,
      "--hide-ip",
      "--webport=none",
      basedir,
    ]);
    for (let i = 0; i < 8; i++) {
      const run = tahoeRun(["--tor-timeout=60", basedir]);
      await waitFor(run, /^node running: /m, 20_000);
      const stopped = await tahoe(["stop", basedir]);
      expect(stopped.stdout).toBe(`node stopped: '${basedir}'\n`);
      expect(stopped.stderr).toBe("");
      await new Promise<void>((r) => (run.child.exitCode !== null ? r() : run.child.once("exit", () => r())));
      expect(run.child.exitCode).toBe(0);
    }
  }, 120_000);

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
