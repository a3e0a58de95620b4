/**
 * lafs-ts against the reference Tahoe-LAFS 1.20, side by side in one run (issue 23): a lafs-ts
 * grid (tests/support/local-grid.ts: introducer, 4 storage nodes, a client, each its own
 * `tahoe run`) and a Tahoe-LAFS grid of the same shape (refpeer's start-grid.sh), both 2-of-4
 * with happy 3, both up at once. Through each client's web API, rounds alternate between the two
 * (lafs-ts, Tahoe, lafs-ts, Tahoe, ...): PUT /uri of fresh random bytes, then GET /uri/CAP compared
 * byte for byte with them, for 10 MiB, 100 MiB and 1 GiB (the bytes are made before the clock
 * starts, so this process does little more than socket work while a transfer runs; its CPU per GiB
 * is printed too). Prints the median MB/s of each and the ratio lafs-ts / Tahoe, the CPU
 * seconds per GiB summed over the client and all four storage servers (user + system of every
 * process of each grid, from /proc/PID/stat: the figure a loaded machine moves least), and the
 * client's RSS idle and at its peak during the 1 GiB upload and download. The shares of each
 * transfer are deleted from the servers' directories once it has been read back, so five 1 GiB
 * rounds do not fill the disk. Never pass/fail.
 *
 *   pnpm bench:grid --vs-tahoe             (from the repo root; needs `pnpm build` first)
 *   pnpm bench:grid --vs-tahoe --no-gib    (10 and 100 MiB only; the bench then holds 100 MiB of
 *                                           bytes in memory instead of 1 GiB)
 *   pnpm bench:grid --vs-tahoe --rounds 3  (rounds per size and implementation; default 5)
 *   TAHOE_REF_DIR=...                      (default ~/.cache/lafs-ts/tahoe-ref; without a built
 *                                           reference only the lafs-ts columns are measured)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startGrid } from "../../tests/support/local-grid.js";
import {
  findRefPeer,
  REF_DIR_VARIABLE,
  type RefPeer,
  startRefGrid,
  stopRef,
} from "../../tests/support/refpeer.js";
import {
  download,
  freshPayload,
  MB,
  MIB,
  median,
  memoryOf,
  numberOption,
  treeCpu,
  treeCpuSince,
  upload,
  watchPeak,
} from "./grid-transfer.js";

const SHAPE = { k: 2, happy: 3, n: 4 };
const STORAGE_NODES = 4;
const GIB_MIB = 1024;
const SIZES_MIB = [10, 100, ...(process.argv.includes("--no-gib") ? [] : [GIB_MIB])];
const ROUNDS = numberOption("rounds", 5);
/** A transfer on each side before the rounds, not counted: JIT warm-up and first connections. */
const WARM_UP_MIB = 10;

/** One running grid, whichever implementation. */
interface Side {
  name: string;
  webUrl: string;
  clientPid: number;
  /** The client's and the storage servers' pids (their descendants are found at each reading). */
  pids: number[];
  /** NODEDIR/storage/shares of each storage node. */
  shareDirs: string[];
  stop(): Promise<void>;
}

/** What one upload and its download cost. */
interface Round {
  upS: number;
  downS: number;
  /** CPU seconds of the client and of all the storage servers (with descendants). */
  upClientCpu: number;
  upServersCpu: number;
  downClientCpu: number;
  downServersCpu: number;
  upPeakRss: number;
  downPeakRss: number;
  /** CPU seconds of this benchmark's own process while it sent and while it read back. */
  upBenchCpu: number;
  downBenchCpu: number;
}

/** Seconds of a process.cpuUsage() difference. */
const cpuOf = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

/** The pid in NODEDIR/running.process ("PID CREATE_TIME", both implementations). */
function pidOf(nodeDir: string): number {
  const pid = Number(readFileSync(join(nodeDir, "running.process"), "utf8").trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${nodeDir}/running.process`);
  return pid;
}

async function startOurs(): Promise<Side> {
  const storage = Array.from({ length: STORAGE_NODES }, (_, i) => `s${i + 1}`);
  const grid = await startGrid({ storage, ...SHAPE });
  try {
    const clientPid = pidOf(grid.dirs.client!);
    return {
      name: "lafs-ts",
      webUrl: grid.nodeUrl.endsWith("/") ? grid.nodeUrl : `${grid.nodeUrl}/`,
      clientPid,
      pids: [clientPid, ...storage.map((s) => pidOf(grid.dirs[s]!))],
      shareDirs: storage.map((s) => join(grid.dirs[s]!, "storage", "shares")),
      stop: () => grid.close(),
    };
  } catch (error) {
    await grid.close();
    throw error;
  }
}

async function startTheirs(peer: RefPeer): Promise<Side> {
  const root = await mkdtemp(join(tmpdir(), "lafs-bench-vs-tahoe-"));
  const dir = join(root, "grid");
  const stop = async () => {
    try {
      await stopRef(peer, dir);
    } finally {
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  };
  try {
    const ref = await startRefGrid(peer, dir, {
      n: STORAGE_NODES,
      k: SHAPE.k,
      happy: SHAPE.happy,
      total: SHAPE.n,
    });
    const clientPid = pidOf(join(dir, "client"));
    return {
      name: "Tahoe-LAFS",
      webUrl: `${ref.url}/`,
      clientPid,
      pids: [clientPid, ...ref.storageDirs.map(pidOf)],
      shareDirs: ref.storageDirs.map((d) => join(d, "storage", "shares")),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Removes the stored shares (the two-letter prefix directories under storage/shares), never
 * `incoming`: every upload has its own storage index, so nothing later asks for them.
 */
async function dropShares(side: Side): Promise<void> {
  for (const dir of side.shareDirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      if (/^[a-z2-7]{2}$/.test(entry)) await rm(join(dir, entry), { recursive: true, force: true });
    }
  }
}

async function round(side: Side, mib: number): Promise<Round> {
  // Made before any reading starts: the nodes' CPU and the peak cover the transfers alone.
  const payload = freshPayload(mib * MIB);
  const servers = side.pids.slice(1);
  const client = [side.clientPid];
  let peak = watchPeak(side.clientPid);
  let clientCpu = treeCpu(client);
  let serversCpu = treeCpu(servers);
  const alive = () => {
    for (const pid of side.pids) {
      if (!existsSync(`/proc/${pid}`))
        throw new Error(`${side.name}: a node of the grid (pid ${pid}) has exited`);
    }
  };
  alive();
  let benchCpu = process.cpuUsage();
  const up = await upload(side.webUrl, payload).finally(alive);
  const upBenchCpu = cpuOf(process.cpuUsage(benchCpu));
  const upPeakRss = peak();
  const upClientCpu = treeCpuSince(clientCpu, client);
  const upServersCpu = treeCpuSince(serversCpu, servers);
  peak = watchPeak(side.clientPid);
  clientCpu = treeCpu(client);
  serversCpu = treeCpu(servers);
  benchCpu = process.cpuUsage();
  const downS = await download(side.webUrl, up.cap, payload).finally(alive);
  const downBenchCpu = cpuOf(process.cpuUsage(benchCpu));
  const result: Round = {
    upS: up.s,
    downS,
    upClientCpu,
    upServersCpu,
    downClientCpu: treeCpuSince(clientCpu, client),
    downServersCpu: treeCpuSince(serversCpu, servers),
    upPeakRss,
    downPeakRss: peak(),
    upBenchCpu,
    downBenchCpu,
  };
  await dropShares(side);
  return result;
}

interface Summary {
  upMbps: number;
  downMbps: number;
  /** Median CPU seconds per GiB moved: client, servers, and the two summed (per round). */
  upCpu: { client: number; servers: number; total: number };
  downCpu: { client: number; servers: number; total: number };
  upPeakRss: number;
  downPeakRss: number;
  /** Median CPU seconds per GiB of this benchmark's own process while it sent, and read back. */
  benchCpu: { up: number; down: number };
  /** Slowest and fastest round, MB/s. */
  upRange: [number, number];
  downRange: [number, number];
}

function summarize(rounds: readonly Round[], mib: number): Summary {
  const mb = (mib * MIB) / MB;
  const gib = mib / 1024;
  const perGib = (f: (r: Round) => number) => median(rounds.map(f)) / gib;
  const rates = (f: (r: Round) => number) => rounds.map((r) => mb / f(r));
  const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
  return {
    upMbps: median(rates((r) => r.upS)),
    downMbps: median(rates((r) => r.downS)),
    upCpu: {
      client: perGib((r) => r.upClientCpu),
      servers: perGib((r) => r.upServersCpu),
      total: perGib((r) => r.upClientCpu + r.upServersCpu),
    },
    downCpu: {
      client: perGib((r) => r.downClientCpu),
      servers: perGib((r) => r.downServersCpu),
      total: perGib((r) => r.downClientCpu + r.downServersCpu),
    },
    upPeakRss: Math.max(...rounds.map((r) => r.upPeakRss)),
    benchCpu: { up: perGib((r) => r.upBenchCpu), down: perGib((r) => r.downBenchCpu) },
    downPeakRss: Math.max(...rounds.map((r) => r.downPeakRss)),
    upRange: range(rates((r) => r.upS)),
    downRange: range(rates((r) => r.downS)),
  };
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const size = (mib: number) => (mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`);
const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function printTable(
  ours: Map<number, Summary>,
  theirs: Map<number, Summary> | undefined,
  idle: Map<string, number>,
): void {
  const cols = theirs === undefined ? ["lafs-ts"] : ["Tahoe-LAFS 1.20", "lafs-ts", "lafs-ts / Tahoe"];
  console.log(`\n| | ${cols.join(" | ")} |`);
  console.log(`| --- |${cols.map(() => " ---: |").join("")}`);
  const line = (label: string, ourText: string, theirText?: string, ratio?: string) =>
    console.log(
      theirs === undefined
        ? `| ${label} | ${ourText} |`
        : `| ${label} | ${theirText ?? "-"} | ${ourText} | ${ratio ?? "-"} |`,
    );
  const x = (a: number, b: number | undefined) => (b === undefined ? undefined : `${f2(a / b)}x`);
  for (const dir of ["up", "down"] as const) {
    for (const mib of SIZES_MIB) {
      const o = ours.get(mib)!;
      const t = theirs?.get(mib);
      const rate = (s: Summary) => (dir === "up" ? s.upMbps : s.downMbps);
      const spread = (s: Summary) => {
        const [lo, hi] = dir === "up" ? s.upRange : s.downRange;
        return ` (${f0(lo)}-${f0(hi)})`;
      };
      line(
        `${dir === "up" ? "upload" : "download"} ${size(mib)}, MB/s`,
        `**${f1(rate(o))}**${spread(o)}`,
        t && `**${f1(rate(t))}**${spread(t)}`,
        t && `**${x(rate(o), rate(t))}**`,
      );
    }
  }
  for (const dir of ["up", "down"] as const) {
    for (const mib of SIZES_MIB) {
      const o = ours.get(mib)!;
      const t = theirs?.get(mib);
      const cpu = (s: Summary) => (dir === "up" ? s.upCpu : s.downCpu);
      const text = (s: Summary) => `**${f1(cpu(s).total)}** (${f1(cpu(s).client)} + ${f1(cpu(s).servers)})`;
      line(
        `CPU s per GiB ${dir === "up" ? "uploaded" : "downloaded"}, ${size(mib)} (client + servers)`,
        text(o),
        t && text(t),
        t && f2(cpu(o).total / cpu(t).total),
      );
    }
  }
  // Not part of either implementation: what the measuring itself took from the shared cores.
  for (const dir of ["up", "down"] as const) {
    const bench = (s: Summary) => f1(dir === "up" ? s.benchCpu.up : s.benchCpu.down);
    line(
      `this bench's own CPU s per GiB ${dir === "up" ? "sent" : "read back"}, ${SIZES_MIB.map(size).join(" / ")}`,
      SIZES_MIB.map((mib) => bench(ours.get(mib)!)).join(" / "),
      theirs && SIZES_MIB.map((mib) => bench(theirs.get(mib)!)).join(" / "),
    );
  }
  const largest = SIZES_MIB[SIZES_MIB.length - 1]!;
  const o = ours.get(largest)!;
  const t = theirs?.get(largest);
  const mb = (v: number) => `${f0(v)} MB`;
  line(
    "client RSS idle",
    mb(idle.get("lafs-ts")!),
    theirs && mb(idle.get("Tahoe-LAFS")!),
    theirs && f2(idle.get("lafs-ts")! / idle.get("Tahoe-LAFS")!),
  );
  line(
    `client peak RSS, ${size(largest)} upload`,
    mb(o.upPeakRss),
    t && mb(t.upPeakRss),
    t && f2(o.upPeakRss / t.upPeakRss),
  );
  line(
    `client peak RSS, ${size(largest)} download`,
    mb(o.downPeakRss),
    t && mb(t.downPeakRss),
    t && f2(o.downPeakRss / t.downPeakRss),
  );
}

async function main(): Promise<void> {
  const refDir = process.env[REF_DIR_VARIABLE] || join(homedir(), ".cache/lafs-ts/tahoe-ref");
  process.env[REF_DIR_VARIABLE] = refDir;
  const peer = existsSync(join(refDir, "env.sh")) ? findRefPeer("the Tahoe-LAFS columns") : undefined;
  if (peer === undefined) {
    const message = `NO REFERENCE TAHOE-LAFS at ${refDir} (build it: ../shared/tools/refpeer/build.sh "$TAHOE_REF_DIR"): ONLY THE LAFS-TS COLUMNS ARE MEASURED, NO RATIOS`;
    console.log(`\n${"!".repeat(message.length)}\n${message}\n${"!".repeat(message.length)}\n`);
  }
  const version = peer && readFileSync(join(peer.dir, "version.txt"), "utf8").trim();
  const started = new Date();
  const loadBefore = load();
  const sides: Side[] = [];
  try {
    sides.push(await startOurs());
    if (peer !== undefined) sides.push(await startTheirs(peer));
    const idle = new Map(sides.map((s) => [s.name, memoryOf(s.clientPid).rss]));
    for (const side of sides) {
      console.error(`${side.name}: warm-up, ${WARM_UP_MIB} MiB up and down`);
      await round(side, WARM_UP_MIB);
    }
    const rounds = new Map(sides.map((s) => [s.name, new Map<number, Round[]>()]));
    for (const mib of SIZES_MIB) {
      for (let r = 0; r < ROUNDS; r++) {
        for (const side of sides) {
          console.error(`${side.name}: ${size(mib)}, round ${r + 1} of ${ROUNDS}`);
          const byMib = rounds.get(side.name)!;
          byMib.set(mib, [...(byMib.get(mib) ?? []), await round(side, mib)]);
        }
      }
    }
    const summaries = (name: string) =>
      new Map([...rounds.get(name)!].map(([mib, list]) => [mib, summarize(list, mib)]));
    console.log(
      `lafs-ts vs ${version ?? "(no reference Tahoe-LAFS)"}: ${STORAGE_NODES} storage nodes each, ` +
        `k=${SHAPE.k} happy=${SHAPE.happy} N=${SHAPE.n}, through each client's web API on 127.0.0.1, ` +
        `Node ${process.version}, ${ROUNDS} interleaved rounds per size after a ${WARM_UP_MIB} MiB warm-up, fresh random bytes each`,
    );
    console.log(
      `started ${started.toISOString()}, finished ${new Date().toISOString()}; load average (1/5/15 min) before ${loadBefore}, after ${load()}`,
    );
    printTable(summaries("lafs-ts"), peer && summaries("Tahoe-LAFS"), idle);
    console.log(
      "\nMB/s: median of the rounds (slowest-fastest in brackets); ratio > 1: lafs-ts faster. CPU: median\n" +
        "user + system seconds per GiB of every process of the grid (client + its 4 storage servers, with\n" +
        "any child processes); ratio < 1: lafs-ts uses less. RSS: VmRSS sampled every 50 ms, highest of the rounds.",
    );
  } finally {
    for (const side of sides.reverse()) await side.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
