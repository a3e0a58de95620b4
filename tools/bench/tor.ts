/**
 * Tor benchmark (issue 20), on a private Tor network (../shared/tools/tornet, 127.0.0.1 only):
 *   - an onion storage server: `tahoe run` spawn to "tor: ready" (its onion descriptor uploaded,
 *     i.e. reachable over Tor), median of ROUNDS restarts with the same key;
 *   - a hide-ip client (stream isolation on) putting and getting 10 MiB through the onions.
 * The introducer and the server use tornet's client tor through its control port; the client
 * uses its SOCKS port. Prints the machine load next to the figures; never pass/fail.
 *
 *   pnpm bench:tor               (from the repo root; needs `pnpm build` and tor on PATH)
 *   pnpm bench:tor --rounds=5
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const BIN = join(import.meta.dirname, "..", "..", "apps", "cli", "bin", "tahoe.js");
const TORNET = join(import.meta.dirname, "..", "..", "..", "shared", "tools", "tornet", "tornet.sh");
const ROUNDS = Number(
  /^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith("--rounds=")) ?? "")?.[1] ?? 3,
);
const run = promisify(execFile);
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const tahoe = (args: string[]) => run(process.execPath, [BIN, ...args], { maxBuffer: 64 * 1024 * 1024 });

function start(basedir: string): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [BIN, "run", "--tor-timeout=300", basedir], { stdio: "pipe" });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return Object.assign(child, { output: () => out });
}

async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 300_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "lafs-bench-tor-"));
  const base = 20_000 + Math.floor(Math.random() * 127) * 100;
  const env = {
    ...process.env,
    TORNET_DIR: join(dir, "net"),
    TORNET_BASE_PORT: String(base),
    TORNET_OWNER_PID: String(process.pid),
  };
  const control = `tcp:127.0.0.1:${base + 62}`;
  const socks = `tcp:127.0.0.1:${base + 63}`;
  const children: ChildProcess[] = [];
  try {
    let t0 = process.hrtime.bigint();
    await run("bash", [TORNET, "start"], { env, timeout: 300_000 });
    console.log(`tornet started in ${seconds(t0).toFixed(1)} s (load ${loadavg()[0]?.toFixed(2)})`);
    const intro = join(dir, "intro");
    await tahoe(["create-introducer", "--listen=tor", "--hide-ip", `--tor-control-port=${control}`, intro]);
    const introducer = start(intro);
    children.push(introducer);
    await until("the introducer's tor: ready", () => /^tor: ready/m.test(introducer.output()));
    const furl = readFileSync(join(intro, "private", "introducer.nurl"), "utf8").split("\n")[0] as string;

    const storage = join(dir, "storage1");
    await tahoe([
      "create-node",
      "--listen=tor",
      "--hide-ip",
      `--tor-control-port=${control}`,
      `--introducer=${furl}`,
      "--webport=none",
      storage,
    ]);
    const times: number[] = [];
    let server: ReturnType<typeof start> | undefined;
    for (let i = 0; i < ROUNDS; i++) {
      if (server) await stop(server);
      t0 = process.hrtime.bigint();
      server = start(storage);
      children.push(server);
      await until("the server's tor: ready", () => /^tor: ready/m.test(server?.output() ?? ""));
      times.push(seconds(t0));
    }
    console.log(
      `onion server, tahoe run -> "tor: ready" (descriptor uploaded): median ${median(times).toFixed(2)} s of ${ROUNDS} (${times.map((t) => t.toFixed(2)).join(", ")})`,
    );

    const clientDir = join(dir, "client");
    const webPort = base + 95;
    await tahoe([
      "create-client",
      "--hide-ip",
      `--tor-socks-port=${socks}`,
      `--introducer=${furl}`,
      "--shares-needed=1",
      "--shares-happy=1",
      "--shares-total=1",
      `--webport=tcp:${webPort}:interface=127.0.0.1`,
      clientDir,
    ]);
    const client = start(clientDir);
    children.push(client);
    await until("the client to connect to the server", async () =>
      /^servers: 1 of 1 connected$/m.test(
        (await tahoe(["status", clientDir]).catch(() => ({ stdout: "" }))).stdout,
      ),
    );
    const file = join(dir, "10MiB");
    writeFileSync(file, randomBytes(10 * 1024 * 1024));
    t0 = process.hrtime.bigint();
    const cap = (await tahoe(["-d", clientDir, "put", file])).stdout.trim();
    const put = seconds(t0);
    t0 = process.hrtime.bigint();
    await tahoe(["-d", clientDir, "get", cap, join(dir, "10MiB.back")]);
    const get = seconds(t0);
    const same = readFileSync(file).equals(readFileSync(join(dir, "10MiB.back")));
    console.log(
      `10 MiB through onions (1-of-1, stream isolation on): put ${put.toFixed(2)} s (${(10 / put).toFixed(2)} MiB/s), get ${get.toFixed(2)} s (${(10 / get).toFixed(2)} MiB/s), identical: ${same}`,
    );
    console.log(
      `load after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
  } finally {
    for (const c of children.reverse()) await stop(c);
    await run("bash", [TORNET, "stop"], { env }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
