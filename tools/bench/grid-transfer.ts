/**
 * What the grid benchmarks share (tools/bench/grid.ts, tools/bench/grid-vs-tahoe.ts): command-line
 * numbers, the bytes uploaded, PUT /uri and GET /uri/CAP through a client's web API (each download
 * checked against the sha256 of what was sent), and what /proc says about a process: RSS and CPU
 * seconds. Any Tahoe-LAFS web API will do, ours or the reference one.
 */
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { Readable } from "node:stream";

export const MIB = 1024 * 1024;
export const MB = 1e6;

/** `--name value` or `--name=value`: a whole number, or `fallback` when not given. */
export function numberOption(name: string, fallback: number): number {
  const args = process.argv;
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return fallback;
  const text = args[at]!.includes("=") ? args[at]!.split("=")[1] : args[at + 1];
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} wants a whole number, got ${text}`);
  return value;
}

// Chunks cut from a random pool at chunk-specific offsets: incompressible, different in every
// chunk and every run (so no upload is a convergent duplicate of an earlier one), and never
// held in memory whole, so the benchmark's own RSS stays out of the way.
const POOL = randomBytes(8 * MIB);
export function* chunks(totalBytes: number, salt: number): Generator<Buffer> {
  const chunk = MIB;
  for (let at = 0, i = 0; at < totalBytes; at += chunk, i += 1) {
    const start = ((salt * 7919 + i * 104729) * 4096) % (POOL.length - chunk);
    const piece = Buffer.from(POOL.subarray(start, start + Math.min(chunk, totalBytes - at)));
    piece.writeUInt32BE(salt, 0); // each file differs even where the pool offsets repeat
    piece.writeUInt32BE(i, 4);
    yield piece;
  }
}

/** Fresh random bytes, 1 MiB at a time: no two transfers (or implementations) share any. */
export function* freshChunks(totalBytes: number): Generator<Buffer> {
  for (let at = 0; at < totalBytes; at += MIB)
    yield randomFillSync(Buffer.allocUnsafe(Math.min(MIB, totalBytes - at)));
}

export const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export function http(
  method: string,
  url: string,
  body?: Readable,
): Promise<{ status: number; response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (response) =>
      resolve({ status: response.statusCode ?? 0, response }),
    );
    req.on("error", reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

export async function readAll(response: IncomingMessage): Promise<string> {
  let text = "";
  for await (const c of response) text += c.toString();
  return text;
}

/** PUT /uri of `pieces`, streamed: the cap, the seconds to the answer, the sha256 of what was sent. */
export async function upload(
  webUrl: string,
  pieces: Iterable<Buffer>,
): Promise<{ cap: string; s: number; sha: string }> {
  const hash = createHash("sha256");
  const body = Readable.from(
    (function* () {
      for (const c of pieces) {
        hash.update(c);
        yield c;
      }
    })(),
  );
  const t0 = process.hrtime.bigint();
  const { status, response } = await http("PUT", new URL("uri", webUrl).href, body);
  const text = (await readAll(response)).trim();
  const s = seconds(t0);
  if (status !== 200 && status !== 201)
    throw new Error(`PUT /uri answered ${status}: ${text.slice(0, 2000)}`);
  return { cap: text, s, sha: hash.digest("hex") };
}

/** GET /uri/CAP, read to the end and checked against the upload's size and sha256: the seconds. */
export async function download(webUrl: string, cap: string, expectSha: string, mib: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const { status, response } = await http("GET", new URL(`uri/${encodeURIComponent(cap)}`, webUrl).href);
  if (status !== 200)
    throw new Error(`GET /uri/CAP answered ${status}: ${(await readAll(response)).slice(0, 300)}`);
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const c of response) {
    hash.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  const s = seconds(t0);
  if (bytes !== mib * MIB || hash.digest("hex") !== expectSha)
    throw new Error(`download of ${mib} MiB differs (${bytes} bytes came back)`);
  return s;
}

/** Sampled VmRSS (and the kernel's VmHWM) of a process, in MB. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: (kb("VmRSS") * 1024) / MB, hwm: (kb("VmHWM") * 1024) / MB };
}

/** The fields of /proc/PID/stat after the command name (field 3 onwards), or undefined once gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system, all threads) a process has used so far: less at the mercy of the
 * load than wall time. Assumes the usual 100 clock ticks per second.
 */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid) ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/** `pids` and every live process descended from them (a node's helpers or worker processes). */
export function processTree(pids: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (!Number.isInteger(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const all = new Set<number>();
  const visit = (pid: number) => {
    if (all.has(pid)) return;
    all.add(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  for (const pid of pids) visit(pid);
  return [...all];
}

/** CPU seconds of each process of the tree, by pid, so a later reading can be subtracted. */
export function treeCpu(pids: readonly number[]): Map<number, number> {
  return new Map(processTree(pids).map((pid) => [pid, cpuSeconds(pid)]));
}

/** CPU seconds the tree used since `before` (processes started since count from zero). */
export function treeCpuSince(before: Map<number, number>, pids: readonly number[]): number {
  let total = 0;
  for (const [pid, now] of treeCpu(pids)) total += now - (before.get(pid) ?? 0);
  return total;
}

/** Samples a process's RSS every 50 ms until the returned function is called: the peak, in MB. */
export function watchPeak(pid: number): () => number {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid).rss);
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, memoryOf(pid).rss);
  };
}
