/**
 * Mutable-file benchmark, in one run: a lafs-ts grid (introducer, 4 storage nodes, a client; each
 * `tahoe run`) and a reference Tahoe-LAFS 1.20 grid of the same shape (refpeer's start-grid.sh),
 * k/happy/N = 2/3/4. Through each client's web API:
 *   - CHK 100 MiB: PUT /uri, GET /uri/CAP;
 *   - MDMF 100 MiB: PUT /uri?format=MDMF, GET /uri/CAP;
 *   - a 1 MiB in-place MDMF update in the middle of that file: PUT /uri/CAP?offset=N.
 * For each: wall time, MB/s, the client's CPU seconds, its peak RSS (sampled every 50 ms) and the
 * bytes it sent to the storage servers (the kernel's bytes_sent of the client's TCP connections
 * other than its web port, from `ss -tinp`, before and after; a connection opened and closed
 * within one request is missed), which shows what an update costs next to publishing the whole
 * file. (/proc/PID/io wchar would not do: Twisted sends with send(), which it does not count.) Every download is checked
 * against the bytes sent (sha256), and the updated file is read back whole. Ratios lafs-ts /
 * Tahoe are printed; never pass/fail.
 *
 *   pnpm bench:mutable                   (from the repo root; needs `pnpm build` first)
 *   pnpm bench:mutable --mib 20          (another file size)
 *   TAHOE_REF_DIR=...                    (default ~/.cache/lafs-ts/tahoe-ref; without a built
 *                                         reference only the lafs-ts columns are measured)
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { type IncomingMessage, request } from "node:http";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { startGrid } from "../../tests/support/local-grid.js";
import { findRefPeer, REF_DIR_VARIABLE, startRefGrid, stopRef } from "../../tests/support/refpeer.js";

const MIB = 1024 * 1024;
const MB = 1e6;
const STORAGE = ["s1", "s2", "s3", "s4"];
const SHAPE = { k: 2, happy: 3, n: 4 };

function mibOption(): number {
  const at = process.argv.findIndex((a) => a === "--mib" || a.startsWith("--mib="));
  if (at < 0) return 100;
  const text = process.argv[at]!.includes("=") ? process.argv[at]!.split("=")[1] : process.argv[at + 1];
  const value = Number(text);
  if (!Number.isInteger(value) || value < 2) throw new Error(`--mib wants a whole number >= 2, got ${text}`);
  return value;
}
const FILE_MIB = mibOption();
const UPDATE_BYTES = MIB;

/** The file's bytes, incompressible; every file differs, so no CHK upload is a convergent duplicate. */
function contents(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const block = randomBytes(MIB);
  for (let at = 0, i = 0; at < size; at += MIB, i += 1) {
    block.copy(out, at);
    out.writeUInt32BE(i, at); // no two megabytes alike
  }
  return out;
}

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function send(
  method: string,
  url: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, resolve);
    req.on("error", reject);
    if (body === undefined) req.end();
    else {
      req.setHeader("content-length", body.length);
      // In 1 MiB writes, as a client streaming a file would.
      (async () => {
        for (let at = 0; at < body.length; at += MIB) {
          if (!req.write(body.subarray(at, at + MIB))) await new Promise((r) => req.once("drain", r));
        }
        req.end();
      })().catch(reject);
    }
  });
}

async function text(res: IncomingMessage): Promise<string> {
  let out = "";
  for await (const chunk of res) out += chunk.toString();
  return out.trim();
}

async function bytesOf(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** What one client process did during one request. */
interface Sample {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  /** Bytes the client sent to the storage servers. */
  sentMb: number;
}

/** bytes_sent of each established TCP connection of `pid` whose local port is not `webPort`. */
function bytesSent(pid: number, webPort: number): Map<string, number> {
  const out = execFileSync("ss", ["-tinpH", "state", "established"], {
    encoding: "utf8",
    maxBuffer: 64 * MIB,
  });
  const sent = new Map<string, number>();
  const lines = out.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes(`pid=${pid},`)) continue;
    const [local, peer] = line.trim().split(/\s+/).slice(2, 4);
    if (local === undefined || peer === undefined || local.endsWith(`:${webPort}`)) continue;
    const bytes = /bytes_sent:(\d+)/.exec(lines[i + 1] ?? "")?.[1];
    if (bytes !== undefined) sent.set(`${local} ${peer}`, Number(bytes));
  }
  return sent;
}

function sentSince(before: Map<string, number>, pid: number, webPort: number): number {
  let total = 0;
  for (const [key, bytes] of bytesSent(pid, webPort)) total += bytes - (before.get(key) ?? 0);
  return total;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return (Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024) / MB;
}

async function measure<T>(
  pid: number,
  webPort: number,
  run: () => Promise<T>,
): Promise<{ value: T; sample: Sample }> {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  const sent0 = bytesSent(pid, webPort);
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  try {
    const value = await run();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      value,
      sample: {
        seconds,
        cpuSeconds: cpuSeconds(pid) - cpu0,
        peakRssMb: Math.max(peak, rssMb(pid)),
        sentMb: sentSince(sent0, pid, webPort) / MB,
      },
    };
  } finally {
    clearInterval(timer);
  }
}

interface Results {
  chkUp: Sample;
  chkDown: Sample;
  mdmfUp: Sample;
  mdmfDown: Sample;
  update: Sample;
}

/** The five transfers through one client's web API, each checked. */
async function runClient(name: string, url: string, pid: number): Promise<Results> {
  const base = url.endsWith("/") ? url : `${url}/`;
  const webPort = Number(new URL(base).port);
  const size = FILE_MIB * MIB;
  const put = async (query: string, body: Buffer) => {
    const res = await send("PUT", `${base}uri${query}`, body);
    const answer = await text(res);
    if (res.statusCode !== 200)
      throw new Error(`${name}: PUT /uri${query} answered ${res.statusCode}: ${answer}`);
    return answer;
  };
  const get = async (cap: string, expected: Buffer, what: string) => {
    const res = await send("GET", `${base}uri/${encodeURIComponent(cap)}`);
    const got = await bytesOf(res);
    if (res.statusCode !== 200 || sha(got) !== sha(expected)) {
      throw new Error(
        `${name}: ${what} read back ${got.length} bytes (status ${res.statusCode}), not the ${expected.length} sent`,
      );
    }
  };
  console.error(`${name}: CHK ${FILE_MIB} MiB`);
  const chk = contents(size);
  const chkUp = await measure(pid, webPort, () => put("", chk));
  const chkDown = await measure(pid, webPort, () => get(chkUp.value, chk, "CHK"));
  console.error(`${name}: MDMF ${FILE_MIB} MiB`);
  const mdmf = contents(size);
  const mdmfUp = await measure(pid, webPort, () => put("?format=MDMF", mdmf));
  const cap = mdmfUp.value;
  if (!cap.startsWith("URI:MDMF:")) throw new Error(`${name}: PUT /uri?format=MDMF gave ${cap}`);
  const mdmfDown = await measure(pid, webPort, () => get(cap, mdmf, "MDMF"));
  console.error(`${name}: 1 MiB MDMF update`);
  // Not aligned to a segment: the update touches 9 of Tahoe's 128 KiB segments, two of them partly.
  const offset = Math.floor(size / 2) + 12_345;
  const patch = randomBytes(UPDATE_BYTES);
  const update = await measure(pid, webPort, () =>
    put(`/${encodeURIComponent(cap)}?offset=${offset}`, patch),
  );
  patch.copy(mdmf, offset);
  await get(cap, mdmf, "the updated MDMF file");
  return {
    chkUp: chkUp.sample,
    chkDown: chkDown.sample,
    mdmfUp: mdmfUp.sample,
    mdmfDown: mdmfDown.sample,
    update: update.sample,
  };
}

function clientPidOf(dir: string): number {
  const pid = Number(readFileSync(join(dir, "running.process"), "utf8").trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${dir}/running.process`);
  return pid;
}

function row(label: string, mb: number, s: Sample): string {
  const rate = mb / MB / s.seconds;
  return [
    label.padEnd(26),
    `${s.seconds.toFixed(2).padStart(7)} s`,
    `${rate.toFixed(1).padStart(7)} MB/s`,
    `${s.cpuSeconds.toFixed(1).padStart(6)} cpu-s`,
    `${s.peakRssMb.toFixed(0).padStart(5)} MB rss`,
    `${s.sentMb.toFixed(1).padStart(8)} MB to servers`,
  ].join("  ");
}

function table(name: string, r: Results): string {
  const size = FILE_MIB * MIB;
  return [
    `${name}:`,
    row(`  CHK ${FILE_MIB} MiB upload`, size, r.chkUp),
    row(`  CHK ${FILE_MIB} MiB download`, size, r.chkDown),
    row(`  MDMF ${FILE_MIB} MiB upload`, size, r.mdmfUp),
    row(`  MDMF ${FILE_MIB} MiB download`, size, r.mdmfDown),
    row("  MDMF 1 MiB update", UPDATE_BYTES, r.update),
    `  update / whole-file MDMF upload: ${(r.update.seconds / r.mdmfUp.seconds).toFixed(3)} of the time, ` +
      `${(r.update.sentMb / r.mdmfUp.sentMb).toFixed(3)} of the bytes sent to the servers`,
    `  MDMF / CHK: upload ${(r.mdmfUp.seconds / r.chkUp.seconds).toFixed(2)}x the time, download ${(r.mdmfDown.seconds / r.chkDown.seconds).toFixed(2)}x`,
  ].join("\n");
}

async function main(): Promise<void> {
  const refDir = process.env[REF_DIR_VARIABLE] || join(homedir(), ".cache/lafs-ts/tahoe-ref");
  process.env[REF_DIR_VARIABLE] = refDir;
  const peer = existsSync(join(refDir, "env.sh")) ? findRefPeer("the Tahoe columns") : undefined;
  console.log(
    `mutable benchmark: ${FILE_MIB} MiB files, ${STORAGE.length} storage nodes, k/happy/N ${SHAPE.k}/${SHAPE.happy}/${SHAPE.n}, 127.0.0.1`,
  );
  const grid = await startGrid({ storage: STORAGE, ...SHAPE });
  let ours: Results;
  try {
    ours = await runClient("lafs-ts", grid.nodeUrl, clientPidOf(grid.dirs.client!));
  } finally {
    await grid.close();
  }
  console.log(table("lafs-ts client, lafs-ts storage servers", ours));
  if (peer === undefined) {
    console.log("Tahoe-LAFS: no reference build at TAHOE_REF_DIR; only lafs-ts was measured.");
    return;
  }
  const root = await mkdtemp(join(tmpdir(), "lafs-bench-mutable-"));
  const refGridDir = join(root, "grid");
  let theirs: Results;
  try {
    const ref = await startRefGrid(peer, refGridDir, {
      n: STORAGE.length,
      k: SHAPE.k,
      happy: SHAPE.happy,
      total: SHAPE.n,
    });
    theirs = await runClient("Tahoe-LAFS", ref.url, clientPidOf(join(refGridDir, "client")));
  } finally {
    try {
      await stopRef(peer, refGridDir);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  console.log(table("Tahoe-LAFS 1.20 client, Tahoe storage servers", theirs));
  const ratio = (a: Sample, b: Sample) => (b.seconds / a.seconds).toFixed(2);
  console.log(
    "lafs-ts speed / Tahoe speed (same size, same machine, same run; > 1 = lafs-ts faster):\n" +
      `  CHK upload ${ratio(ours.chkUp, theirs.chkUp)}, CHK download ${ratio(ours.chkDown, theirs.chkDown)}, ` +
      `MDMF upload ${ratio(ours.mdmfUp, theirs.mdmfUp)}, MDMF download ${ratio(ours.mdmfDown, theirs.mdmfDown)}, ` +
      `MDMF 1 MiB update ${ratio(ours.update, theirs.update)}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
