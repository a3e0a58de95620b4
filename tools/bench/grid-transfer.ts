/**
 * What the grid benchmarks share (tools/bench/grid.ts, tools/bench/grid-vs-tahoe.ts): command-line
 * numbers, the bytes uploaded, PUT /uri and GET /uri/CAP through a client's web API (each download
 * compared byte for byte with what was sent), and what /proc says about a process: RSS and CPU
 * seconds. Any Tahoe-LAFS web API will do, ours or the reference one.
 */
import { randomFillSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import { compareGet } from "./compare-get.js";

export const MIB = 1024 * 1024;
export const MB = 1e6;

/** `--name value` or `--name=value`: a whole number, or `fallback` when not given. */
/** Every value given as --NAME VALUE or --NAME=VALUE, in order. */
export function listOption(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}` && process.argv[i + 1] !== undefined) out.push(process.argv[i + 1]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}

/** The web URL a restarted client wrote to node.url, once it is not `oldUrl` (at most 10 s). */
export async function nextNodeUrl(clientDir: string, oldUrl: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const url = readFileSync(join(clientDir, "node.url"), "utf8").trim();
    if (url !== "" && url !== oldUrl) return url;
    await sleep(100);
  }
  return oldUrl;
}

/** Whether a client's server list (private/server-list.json) has `count` servers connected. */
export const connectedServers = (count: number) => (servers: unknown[]) =>
  servers.filter((s) => (s as { connection?: { state?: string } }).connection?.state === "connected")
    .length >= count;

export function numberOption(name: string, fallback: number): number {
  const args = process.argv;
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return fallback;
  const text = args[at]!.includes("=") ? args[at]!.split("=")[1] : args[at + 1];
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} wants a whole number, got ${text}`);
  return value;
}

// One arena, grown to the largest transfer and refilled for each: a 1 GiB round does not leave a
// dead GiB behind for the next one's.
let arena = Buffer.alloc(0);

/**
 * The bytes of one transfer, made before its clock starts: `totalBytes` fresh random bytes, so
 * no two transfers (or implementations) share any and no upload is a convergent duplicate of an
 * earlier one. Valid until the next call. The bench shares the machine's cores with the nodes it
 * measures, so while a transfer runs it only does the socket work: making random bytes and
 * hashing them cost it 1.3 to 1.7 CPU s per GiB uploaded, and hashing what came back 1.6 to 2.9
 * per GiB downloaded, against the 6 to 7 our client and servers need for a download
 * (docs/performance.md, "The bench's own CPU").
 */
export function freshPayload(totalBytes: number): Buffer {
  if (arena.length < totalBytes) {
    arena = Buffer.alloc(0); // the old arena unreferenced before the new one is allocated
    arena = Buffer.allocUnsafeSlow(totalBytes);
  }
  return randomFillSync(arena.subarray(0, totalBytes));
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

/** PUT /uri of `bytes`, sent 1 MiB per write: the cap and the seconds to the answer. */
export async function upload(webUrl: string, bytes: Buffer): Promise<{ cap: string; s: number }> {
  const body = Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += MIB) yield bytes.subarray(at, at + MIB);
    })(),
  );
  const t0 = process.hrtime.bigint();
  const { status, response } = await http("PUT", new URL("uri", webUrl).href, body);
  const text = (await readAll(response)).trim();
  const s = seconds(t0);
  if (status !== 200 && status !== 201)
    throw new Error(`PUT /uri answered ${status}: ${text.slice(0, 2000)}`);
  return { cap: text, s };
}

/** GET /uri/CAP, read to the end and compared byte for byte with `expected`: the seconds. */
export async function download(webUrl: string, cap: string, expected: Buffer): Promise<number> {
  const t0 = process.hrtime.bigint();
  const got = await compareGet(new URL(`uri/${encodeURIComponent(cap)}`, webUrl), expected);
  const s = seconds(t0);
  if (got.status !== 200)
    throw new Error(`GET /uri/CAP answered ${got.status}: ${got.errorText.slice(0, 300)}`);
  if (!got.same)
    throw new Error(
      `download of ${expected.length} bytes differs from what was uploaded (${got.bytes} bytes came back)`,
    );
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
  // A process that has exited reads as 0: the transfer it was serving fails and says so.
  const sample = () => {
    try {
      peak = Math.max(peak, memoryOf(pid).rss);
    } catch {
      // gone
    }
    return peak;
  };
  const timer = setInterval(sample, 50);
  return () => {
    clearInterval(timer);
    return sample();
  };
}
