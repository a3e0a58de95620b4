/**
 * Local-grid benchmark: `tahoe grid up` with 5 storage nodes and a 3-of-5 client (happy 4) in a
 * temporary directory, then through the client's web API: upload (PUT /uri) and download
 * (GET /uri/CAP) of 10 MiB and 100 MiB, and a 1 GiB upload while the client's RSS is sampled from
 * /proc/PID/status. In the same run, the CHK encoder alone encodes the same 100 MiB in memory
 * (the baseline for the ratios), and `tahoe run` is timed from spawn to ready (ready line, and
 * web port answering for the client). Prints a table and ratios, and the client's CPU seconds per
 * transfer (from /proc/PID/stat), which a loaded machine moves less than the wall-clock rates;
 * never pass/fail.
 *
 *   pnpm bench:grid                  (from the repo root; needs `pnpm build` first)
 *   pnpm bench:grid --no-gib         (skip the 1 GiB upload; the bench then holds 100 MiB of
 *                                    bytes in memory instead of 1 GiB)
 *   pnpm bench:grid --rounds 5       (rounds per size, after the first transfer; default 3)
 *   pnpm bench:grid --servers 4 --k 2 --happy 3 --n 4
 *                                    (another shape: Tahoe-LAFS 1.20 was measured 2-of-4 on 4 servers)
 *   pnpm bench:grid --vs-tahoe       (side by side with the reference Tahoe-LAFS: grid-vs-tahoe.ts)
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
// The root package does not depend on @lafs/immutable, so its build output is imported directly.
import { bytesSource, startChkEncode } from "../../packages/immutable/dist/index.js";
import {
  cpuSeconds,
  download,
  freshPayload,
  http,
  MB,
  MIB,
  median,
  memoryOf,
  numberOption,
  readAll,
  seconds,
  sleep,
  upload,
  watchPeak,
} from "./grid-transfer.js";

const BIN = join(import.meta.dirname, "..", "..", "apps", "cli", "bin", "tahoe.js");
const SIZES_MIB = [10, 100];
const GIB_MIB = process.argv.includes("--no-gib") ? 0 : 1024;

const SERVERS = numberOption("servers", 5);
const K = numberOption("k", 3);
const HAPPY = numberOption("happy", Math.min(4, SERVERS));
const N = numberOption("n", 5);
/** `tahoe grid up` picks 3-of-5, happy 4 (less on small grids); another shape is written into the client's tahoe.cfg. */
const DEFAULT_SHAPE = K === 3 && N === 5 && HAPPY === Math.min(4, SERVERS) && SERVERS >= 4;
const READY_ROUNDS = 3;
/** Rounds per size after the first transfer; each row is their median. */
const ROUNDS = numberOption("rounds", 3);

interface Grid {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  webUrl: string;
  clientPid: number;
}

async function gridUp(dir: string): Promise<Grid> {
  const child = spawn(process.execPath, [BIN, "grid", "up", dir, `--servers=${SERVERS}`], {
    stdio: "pipe",
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 60_000;
  while (!out.includes("Press Ctrl-C to stop the grid.")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`grid did not start:\n${out}`);
    await sleep(50);
  }
  const webUrl = /client web: +(http\S+)/.exec(out)?.[1];
  const clientPid = Number(/client=(\d+)/.exec(out)?.[1]);
  if (webUrl === undefined || !clientPid) throw new Error(`no web URL or client pid in:\n${out}`);
  return { child, output: () => out, webUrl, clientPid };
}

async function gridDown(grid: Grid): Promise<void> {
  const exited = new Promise((r) => grid.child.once("exit", r));
  grid.child.kill("SIGINT");
  await exited;
}

/** Sets the client's shares.* lines (the grid must be stopped; the node reads them at start). */
function setClientShape(clientDir: string): void {
  const path = join(clientDir, "tahoe.cfg");
  const shape: Record<string, number> = { needed: K, happy: HAPPY, total: N };
  const text = readFileSync(path, "utf8").replace(
    /^shares\.(needed|happy|total)\s*=.*$/gm,
    (_line, key: string) => `shares.${key} = ${shape[key]}`,
  );
  writeFileSync(path, text);
}

/**
 * Waits until every storage server shows as connected in the client's server list, as written
 * by the client started last: a list left by an earlier run of the same client says nothing.
 */
async function waitConnected(clientDir: string, startedAt: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  const path = join(clientDir, "private", "server-list.json");
  for (;;) {
    try {
      if (statSync(path).mtimeMs < startedAt) throw new Error("written by an earlier run");
      const list = JSON.parse(readFileSync(path, "utf8")) as {
        servers: { connection: { state: string } }[];
      };
      if (list.servers.filter((s) => s.connection.state === "connected").length >= SERVERS) return;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) throw new Error("storage servers did not all connect within 30 s");
    await sleep(100);
  }
}

interface Transfer {
  /** What the row is: the first transfer after start, a median of rounds, or the 1 GiB one. */
  label: string;
  mib: number;
  upS: number;
  downS?: number;
  peakRssMb: number;
  /** The client's CPU seconds for the upload and for the download. */
  upCpuS: number;
  downCpuS: number;
}

/** Whether PUT /uri exists: a tiny upload that must answer with a cap. */
async function webApiAvailable(webUrl: string): Promise<string | undefined> {
  try {
    const { status, response } = await http(
      "PUT",
      new URL("uri", webUrl).href,
      Readable.from([Buffer.from("probe")]),
    );
    await readAll(response);
    return status === 200 || status === 201 ? undefined : `PUT /uri answered ${status}`;
  } catch (error) {
    return `web port not answering (${(error as Error).message})`;
  }
}

/** Encoder alone on the same kind of bytes: the baseline the grid's throughput is compared with. */
async function encoderMbps(mib: number): Promise<number> {
  const bytes = freshPayload(mib * MIB);
  let best = 0;
  for (let i = 0; i < 2; i++) {
    const t0 = process.hrtime.bigint();
    const encoding = await startChkEncode(bytesSource(bytes), {
      k: K,
      n: N,
      convergenceSecret: randomBytes(32),
    });
    for await (const _write of encoding.writes()) {
      // the shares are dropped: only the encoding is timed
    }
    encoding.result();
    best = Math.max(best, bytes.length / MB / seconds(t0));
  }
  return best;
}

/** `tahoe run DIR` from spawn to its ready line, and (when given) to its web port answering. */
async function timeRun(basedir: string, webUrl?: string): Promise<{ readyS: number; webS?: number }> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, "run", basedir], { stdio: "pipe" });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  let readyS: number | undefined;
  let webS: number | undefined;
  const deadline = Date.now() + 20_000;
  while (readyS === undefined || (webUrl !== undefined && webS === undefined)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`tahoe run ${basedir} did not get ready:\n${out}`);
    }
    if (readyS === undefined && out.includes("node running:")) readyS = seconds(t0);
    if (webUrl !== undefined && webS === undefined) {
      try {
        const { response } = await http("GET", webUrl);
        response.resume();
        webS = seconds(t0);
      } catch {
        // not listening yet
      }
    }
    await sleep(5);
  }
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  await exited;
  return webS === undefined ? { readyS } : { readyS, webS };
}

/** One upload and download of `mib` MiB through the client's web API, measured. */
async function transfer(grid: Grid, mib: number): Promise<Transfer> {
  const peak = watchPeak(grid.clientPid);
  const cpu0 = cpuSeconds(grid.clientPid);
  const payload = freshPayload(mib * MIB);
  const up = await upload(grid.webUrl, payload);
  const cpu1 = cpuSeconds(grid.clientPid);
  const downS = await download(grid.webUrl, up.cap, payload);
  const cpu2 = cpuSeconds(grid.clientPid);
  return {
    label: `${mib} MiB`,
    mib,
    upS: up.s,
    downS,
    peakRssMb: peak(),
    upCpuS: cpu1 - cpu0,
    downCpuS: cpu2 - cpu1,
  };
}

/** Each figure the median over the rounds; peak RSS the highest. */
function medianOf(rounds: readonly Transfer[], label: string): Transfer {
  const pick = (f: (t: Transfer) => number) => median(rounds.map(f));
  return {
    label,
    mib: rounds[0]!.mib,
    upS: pick((t) => t.upS),
    downS: pick((t) => t.downS ?? Number.NaN),
    peakRssMb: Math.max(...rounds.map((t) => t.peakRssMb)),
    upCpuS: pick((t) => t.upCpuS),
    downCpuS: pick((t) => t.downCpuS),
  };
}

const f1 = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(1));

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "lafs-bench-grid-"));
  const dir = join(root, "grid");
  const clientDir = join(dir, "client");
  try {
    const encoder = await encoderMbps(100);
    const t0 = process.hrtime.bigint();
    let grid = await gridUp(dir);
    await waitConnected(clientDir, Date.now() - 60_000);
    const gridReadyS = seconds(t0);
    if (!DEFAULT_SHAPE) {
      await gridDown(grid);
      setClientShape(clientDir);
      const restarted = Date.now();
      grid = await gridUp(dir);
      await waitConnected(clientDir, restarted);
    }
    const idleRssMb = memoryOf(grid.clientPid).rss;
    const transfers: Transfer[] = [];
    const unavailable = await webApiAvailable(grid.webUrl);
    if (unavailable === undefined) {
      // The first transfer after start pays for every process's JIT warm-up and first
      // connections; it is shown on its own, then each size is the median of ROUNDS rounds.
      const first = await transfer(grid, SIZES_MIB[0]!);
      transfers.push({ ...first, label: `${first.mib} MiB, first after start` });
      for (const mib of SIZES_MIB) {
        const rounds: Transfer[] = [];
        for (let r = 0; r < ROUNDS; r++) rounds.push(await transfer(grid, mib));
        transfers.push(medianOf(rounds, `${mib} MiB, median of ${ROUNDS}`));
      }
      if (GIB_MIB > 0) {
        // A fresh client process, so its peak RSS is that of the 1 GiB transfers alone.
        await gridDown(grid);
        const restarted = Date.now();
        grid = await gridUp(dir);
        await waitConnected(clientDir, restarted);
        const gib = await transfer(grid, GIB_MIB);
        transfers.push({
          ...gib,
          label: `${GIB_MIB} MiB, fresh client`,
          peakRssMb: Math.max(gib.peakRssMb, memoryOf(grid.clientPid).hwm),
        });
      }
    }
    const webUrl = grid.webUrl;
    await gridDown(grid);

    const storageRuns: number[] = [];
    const clientReady: number[] = [];
    const clientWeb: number[] = [];
    for (let i = 0; i < READY_ROUNDS; i++) {
      storageRuns.push((await timeRun(join(dir, "storage1"))).readyS);
      const c = await timeRun(
        clientDir,
        unavailable?.startsWith("web port not answering") ? undefined : webUrl,
      );
      clientReady.push(c.readyS);
      if (c.webS !== undefined) clientWeb.push(c.webS);
    }

    console.log(
      `local grid: ${SERVERS} storage nodes, ${K}-of-${N} (happy ${HAPPY}), Node ${process.version}`,
    );
    console.log(`encoder alone (100 MiB in memory, ${K}-of-${N}): ${encoder.toFixed(1)} MB/s`);
    console.log(
      `grid up to all ${SERVERS} servers connected (first run, creates the grid): ${gridReadyS.toFixed(2)} s`,
    );
    console.log(`client RSS once connected, before any transfer: ${idleRssMb.toFixed(0)} MB`);
    if (unavailable !== undefined) {
      console.log(`upload/download: web API not available (${unavailable})`);
    } else {
      console.log(
        "\n| transfer | upload MB/s | download MB/s | up/encoder | down/encoder | client peak RSS MB | client CPU s up / down |",
      );
      console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
      for (const t of transfers) {
        const up = (t.mib * MIB) / MB / t.upS;
        const down = t.downS === undefined ? undefined : (t.mib * MIB) / MB / t.downS;
        const ratio = (x: number | undefined) => (x === undefined ? "-" : (x / encoder).toFixed(2));
        console.log(
          `| ${t.label} | ${f1(up)} | ${f1(down)} | ${ratio(up)} | ${ratio(down)} | ${t.peakRssMb.toFixed(0)} | ${t.upCpuS.toFixed(2)} / ${t.downCpuS.toFixed(2)} |`,
        );
      }
    }
    console.log(`\ntahoe run, spawn to ready, median of ${READY_ROUNDS}:`);
    console.log(`  storage node, ready line: ${median(storageRuns).toFixed(2)} s`);
    console.log(`  client, ready line:       ${median(clientReady).toFixed(2)} s`);
    console.log(
      `  client, web port answers: ${clientWeb.length > 0 ? `${median(clientWeb).toFixed(2)} s` : "- (no web server)"}`,
    );
  } finally {
    // A node that has just exited may still have a file being removed under it: retry.
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}

if (process.argv.includes("--vs-tahoe")) await import("./grid-vs-tahoe.js");
else await main();
