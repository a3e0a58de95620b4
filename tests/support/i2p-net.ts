import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { i2pdConf } from "../../packages/transport/test/i2pd-conf.js";

/**
 * A private I2P network on this machine: i2pd routers, each in a network namespace of its own
 * joined by veth pairs to one bridge, on addresses of 198.18.0.0/15 (RFC 2544's benchmarking
 * block: never routed on the internet). Loopback routers refuse each other (i2pd drops incoming
 * NTCP2 from 127/8 and every other reserved block, whatever `reservedrange` says); i2pd 2.45's
 * reserved-range table spells 198.18.0.0/15's end as 192.19.255.255, so it never matches and these
 * addresses pass. Nothing can leave: the namespaces have no route but their /24, the bridge is
 * not connected to any interface, and no router reseeds or knows a router outside the network.
 *
 * Router 1 is the floodfill; every router's netDb is seeded with every other's router.info
 * (made by a first start that is then killed), so no reseed is ever needed. Each SAM bridge
 * listens on 127.0.0.1 inside its router's namespace, so a node using it runs there too
 * (`inNamespace`): i2pd 2.45 ignores STREAM FORWARD's HOST= and connects to the address the SAM
 * client came from, which must be where the node's tub listens (127.0.0.1). The host side of the
 * bridge holds 198.18.N.254 and reaches each router's namespace at 198.18.N.i.
 * Needs root (ip netns, veth, bridge) and i2pd; `i2pNetUnavailable()` says why not.
 */

export interface I2pNet {
  /** 198.18.N.254: this namespace's address on the bridge, reachable from every router's. */
  readonly hostAddress: string;
  /** Router i's (1-based) address on the bridge, 198.18.N.i. */
  routerAddress(router: number): string;
  /** Every router's SAM bridge, valid inside its namespace: `tcp:127.0.0.1:7656`. */
  readonly samPort: string;
  /** The `ip netns exec NS` prefix that runs a command beside router i. */
  inNamespace(router: number, argv: readonly string[]): string[];
  /** Router i's log (i2pd's), to quote when a test fails. */
  logOf(router: number): Promise<string>;
  /** Ends every process in the namespaces (by PID), deletes them, the bridge and the data. */
  stop(): Promise<void>;
}

const PREFIX = "lafs-i2p-";

/** Why this machine cannot run the network, or undefined when it can. */
export function i2pNetUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root (ip netns and veth pairs need it)";
  if (spawnSync("sh", ["-c", "command -v i2pd"]).status !== 0) return "i2pd is not installed";
  if (spawnSync("sh", ["-c", "command -v ip"]).status !== 0) return "iproute2's 'ip' is not installed";
  return undefined;
}

function ip(args: string[], allowFailure = false): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0 && !allowFailure) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what runs in a namespace of ours (our routers and nodes) and deletes it. */
function removeNamespace(ns: string): void {
  for (const pid of ip(["netns", "pids", ns], true).split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
  ip(["netns", "del", ns], true);
}

/** Namespaces, bridges and data left by a run whose process is gone (killed before its cleanup ran). */
function sweepLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = /^lafs-i2pnet-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  for (const line of ip(["netns", "list"], true).split("\n")) {
    const m = new RegExp(`^(${PREFIX}(\\d+)-\\d+)`).exec(line);
    if (m && !pidAlive(Number(m[2]))) removeNamespace(m[1]!);
  }
  for (const line of ip(["-o", "link", "show", "type", "bridge"], true).split("\n")) {
    const m = /^\d+: (li(\d+)br)[:@]/.exec(line);
    if (m && !pidAlive(Number(m[2]))) ip(["link", "del", m[1]!], true);
  }
}

function freeSubnet(): number {
  const used = ip(["-o", "addr"], true);
  for (let n = 1 + (process.pid % 200); n < 255; n++) if (!used.includes(`198.18.${n}.`)) return n;
  throw new Error("no free 198.18.N.0/24 for the I2P test network");
}

function routerConf(dir: string, address: string, floodfill: boolean): string {
  return i2pdConf({
    logFile: join(dir, "i2pd.log"),
    logLevel: "info",
    host: address,
    routerPort: 12345,
    floodfill,
    published: true,
    samPort: 7656,
    mainExtra: [`address4 = ${address}`, "nat = false", "reservedrange = false", "bandwidth = X"],
    exploratory: [
      "inbound.length = 1",
      "outbound.length = 1",
      "inbound.quantity = 2",
      "outbound.quantity = 2",
    ],
    // Without it the default subscription list names hosts it cannot resolve here.
    emptySubscriptions: false,
  });
}

/** The router's identity hash as i2pd names its netDb file: base64 (I2P alphabet) of SHA-256. */
function routerHash(routerInfo: Buffer): string {
  const certLength = routerInfo.readUInt16BE(385);
  return createHash("sha256")
    .update(routerInfo.subarray(0, 387 + certLength))
    .digest("base64")
    .replace(/\+/g, "-")
    .replace(/\//g, "~");
}

async function waitFor(what: string, ms: number, test: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}

function samListening(ns: string): boolean {
  return ip(["netns", "exec", ns, "ss", "-Hltn", "src", "127.0.0.1:7656"], true).includes("127.0.0.1:7656");
}

export async function startI2pNet(options: { routers?: number } = {}): Promise<I2pNet> {
  const count = options.routers ?? 5;
  sweepLeftovers();
  const root = await mkdtemp(join(tmpdir(), `lafs-i2pnet-${process.pid}-`));
  const n = freeSubnet();
  const bridge = `li${process.pid}br`;
  const nsOf = (i: number) => `${PREFIX}${process.pid}-${i}`;
  const addressOf = (i: number) => `198.18.${n}.${i}`;
  const dirOf = (i: number) => join(root, `r${i}`);
  const children = new Map<number, ChildProcess>();
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", stopNow);
    stopNow();
    await rm(root, { recursive: true, force: true });
  };
  // Also on exit, so a test runner that ends without afterAll leaves no namespace behind.
  function stopNow(): void {
    for (const child of children.values()) child.kill("SIGKILL");
    for (let i = 1; i <= count; i++) removeNamespace(nsOf(i));
    ip(["link", "del", bridge], true);
  }
  process.on("exit", stopNow);

  const startRouter = (i: number) => {
    const dir = dirOf(i);
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        nsOf(i),
        "i2pd",
        `--datadir=${join(dir, "data")}`,
        `--conf=${join(dir, "i2pd.conf")}`,
        `--tunconf=${join(dir, "tunnels.conf")}`,
        `--tunnelsdir=${join(dir, "tunnels.d")}`,
        "--certsdir=/usr/share/i2pd/certificates",
      ],
      { stdio: "ignore" },
    );
    children.set(i, child);
    return child;
  };
  const killRouter = async (i: number) => {
    const child = children.get(i);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  };

  try {
    ip(["link", "add", bridge, "type", "bridge"]);
    ip(["addr", "add", `198.18.${n}.254/24`, "dev", bridge]);
    ip(["link", "set", bridge, "up"]);
    for (let i = 1; i <= count; i++) {
      const ns = nsOf(i);
      const veth = `li${process.pid}r${i}`;
      ip(["netns", "add", ns]);
      ip(["link", "add", veth, "type", "veth", "peer", "name", `${veth}b`]);
      ip(["link", "set", veth, "netns", ns]);
      ip(["link", "set", `${veth}b`, "master", bridge, "up"]);
      ip(["-n", ns, "addr", "add", `${addressOf(i)}/24`, "dev", veth]);
      ip(["-n", ns, "link", "set", veth, "up"]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
      const dir = dirOf(i);
      await mkdir(join(dir, "data"), { recursive: true });
      await writeFile(join(dir, "i2pd.conf"), routerConf(dir, addressOf(i), i === 1));
      await writeFile(join(dir, "tunnels.conf"), "");
      // A hosts.txt (even empty) counts as a loaded address book: no default download.
      await writeFile(join(dir, "data", "hosts.txt"), "");
    }
    // First start: each router makes its keys and router.info; then each learns the others'.
    for (let i = 1; i <= count; i++) startRouter(i);
    await waitFor("every router's router.info", 20_000, () => {
      for (let i = 1; i <= count; i++) if (!existsSync(join(dirOf(i), "data", "router.info"))) return false;
      return true;
    });
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 1; i <= count; i++) await killRouter(i);
    for (let j = 1; j <= count; j++) {
      const info = await readFile(join(dirOf(j), "data", "router.info"));
      const hash = routerHash(info);
      for (let i = 1; i <= count; i++) {
        if (i === j) continue;
        const netDb = join(dirOf(i), "data", "netDb", `r${hash[0]}`);
        await mkdir(netDb, { recursive: true });
        await copyFile(join(dirOf(j), "data", "router.info"), join(netDb, `routerInfo-${hash}.dat`));
      }
    }
    for (let i = 1; i <= count; i++) {
      await writeFile(join(dirOf(i), "i2pd.log"), "");
      startRouter(i);
    }
    for (let i = 1; i <= count; i++) {
      await waitFor(`router ${i}'s SAM bridge`, 15_000, () => samListening(nsOf(i)));
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    hostAddress: `198.18.${n}.254`,
    routerAddress: addressOf,
    samPort: "tcp:127.0.0.1:7656",
    inNamespace: (i, argv) => ["ip", "netns", "exec", nsOf(i), ...argv],
    logOf: (i) => readFile(join(dirOf(i), "i2pd.log"), "utf8").catch(() => ""),
    stop,
  };
}
