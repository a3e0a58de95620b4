/**
 * A/B of client builds (or of one build under different environment variables) downloading
 * from one local grid: `tests/support/local-grid.ts` starts an introducer, 4 storage nodes and a
 * 2-of-4 client (happy 3), the client uploads fresh random bytes once, then for each round and
 * each variant in turn the client restarts as that variant, does one uncounted GET /uri/CAP and
 * one counted one (compared byte for byte with what was uploaded). Prints each transfer's MB/s,
 * the CPU seconds per GiB of the client (its worker threads included) and of the four servers,
 * and the client's VmHWM, then medians per variant. Variants alternate within every round, so a load
 * that changes during the run hits them alike; read the CPU columns first. Never pass/fail.
 *
 *   pnpm exec tsx tools/bench/download-ab.ts --variant new=. --variant old=/work/old-tree
 *   pnpm exec tsx tools/bench/download-ab.ts --upload ...   (uploads instead: after each restart an
 *     uncounted 10 MiB PUT, then one counted PUT /uri of --mib fresh random bytes)
 *   pnpm exec tsx tools/bench/download-ab.ts --variant a=. --variant b=.=SOME_ENV:1+OTHER:2
 *     --rounds N (default 3)  --mib N (default 100)  --cpu-prof DIR (client and s0 under --cpu-prof)
 *     --shape K,HAPPY,N (default 2,3,4; Tahoe's own default is 3,7,10)  --servers N (default 4)
 *     --servers-too (the storage nodes restart with each variant, in its environment, so a
 *     variable read by the storage server can be A/B'd; each variant's servers start fresh)
 *
 * A variant is NAME=CHECKOUT[=KEY:VALUE+KEY:VALUE]: the checkout's apps/cli/bin/tahoe.js runs the
 * client (build it first), with those variables set in its environment; a KEY of the form
 * [SECTION]NAME is a tahoe.cfg key instead, written into the client's tahoe.cfg before it starts
 * (`--variant worker=.=[client]download.worker:true`; variants without it get the default), and
 * NODE_ARGS gives the client's node options, comma-separated, with ~ for = (the spec's own
 * separator): `--variant small=.=NODE_ARGS:--max-semi-space-size~2,--optimize-for-size`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startGrid } from "../../tests/support/local-grid.js";
import {
  connectedServers,
  cpuSeconds,
  download,
  freshPayload,
  listOption,
  MIB,
  median,
  nextNodeUrl,
  numberOption,
  sleep,
  treeCpu,
  treeCpuSince,
  upload,
} from "./grid-transfer.js";

interface Variant {
  name: string;
  bin: string;
  env: Record<string, string>;
}

const variants: Variant[] = listOption("variant").map((spec) => {
  const [name, dir, env] = spec.split("=");
  if (!name || !dir) throw new Error(`--variant wants NAME=CHECKOUT[=KEY:VALUE+...], got ${spec}`);
  const pairs = env ? env.split("+").map((kv) => kv.split(":") as [string, string]) : [];
  return { name, bin: join(resolve(dir), "apps/cli/bin/tahoe.js"), env: Object.fromEntries(pairs) };
});
if (variants.length === 0) variants.push({ name: "this", bin: resolve("apps/cli/bin/tahoe.js"), env: {} });
const ROUNDS = numberOption("rounds", 3);
const MIBS = numberOption("mib", 100);
const PROFILE_DIR = listOption("cpu-prof")[0];
const UPLOADS = process.argv.includes("--upload");
/** The variant's environment reaches the storage nodes too: they restart with the client. */
const SERVERS_TOO = process.argv.includes("--servers-too");
const STORAGE = Array.from({ length: numberOption("servers", 4) }, (_, i) => `s${i}`);
const [K, HAPPY, N] = (listOption("shape")[0] ?? "2,3,4").split(",").map(Number) as [number, number, number];
const setByVariants = new Set(variants.flatMap((v) => Object.keys(v.env)));
const CFG_KEY = /^\[([^\]]+)\](.+)$/;

/** Sets (or with undefined removes) `[section] name` in a tahoe.cfg. */
function setCfg(file: string, section: string, name: string, value: string | undefined): void {
  const lines = readFileSync(file, "utf8").split("\n");
  let inSection = false;
  const kept = lines.filter((line) => {
    if (/^\[.*\]\s*$/.test(line)) inSection = line.trim() === `[${section}]`;
    return !(inSection && line.split("=")[0]!.trim() === name);
  });
  if (value !== undefined) {
    const at = kept.findIndex((line) => line.trim() === `[${section}]`);
    if (at === -1) kept.push(`[${section}]`, `${name} = ${value}`);
    else kept.splice(at + 1, 0, `${name} = ${value}`);
  }
  writeFileSync(file, kept.join("\n"));
}

let current = variants[0]!;
const grid = await startGrid({
  storage: STORAGE,
  k: K,
  happy: HAPPY,
  n: N,
  command: (name, argv) => {
    const args = [...argv];
    if (name === "client") args[1] = current.bin;
    if (name === "client" && current.env.NODE_ARGS)
      args.splice(1, 0, ...current.env.NODE_ARGS.split(",").map((a) => a.replaceAll("~", "=")));
    if (PROFILE_DIR !== undefined && (name === "client" || name === "s0")) {
      args.splice(1, 0, "--cpu-prof", `--cpu-prof-dir=${join(resolve(PROFILE_DIR), name)}`);
    }
    return args;
  },
});
const pidOf = (name: string) =>
  Number(readFileSync(join(grid.dirs[name]!, "running.process"), "utf8").trim().split(/\s+/)[0]);
const connected = connectedServers(STORAGE.length);

async function restartClientAs(v: Variant, cap: string, stored: Buffer): Promise<void> {
  current = v;
  const oldUrl = grid.nodeUrl;
  await grid.stop("client");
  if (SERVERS_TOO) await Promise.all(STORAGE.map((name) => grid.stop(name)));
  for (const key of setByVariants) {
    const cfg = CFG_KEY.exec(key);
    if (cfg) setCfg(join(grid.dirs.client!, "tahoe.cfg"), cfg[1]!, cfg[2]!, v.env[key]);
    else if (key in v.env) process.env[key] = v.env[key];
    else delete process.env[key];
  }
  if (SERVERS_TOO) await Promise.all(STORAGE.map((name) => grid.start(name)));
  await grid.start("client");
  grid.nodeUrl = await nextNodeUrl(grid.dirs.client!, oldUrl);
  // The uncounted transfer; the server list on disk may still be the last client's, so retry a while.
  for (let i = 0, done = 0; ; i++) {
    try {
      if (UPLOADS) await upload(grid.nodeUrl, freshPayload(10 * MIB));
      else await download(grid.nodeUrl, cap, stored);
      // Fresh storage nodes get two more, so their JIT warm-up is not what the variants measure.
      if (++done >= (SERVERS_TOO ? 3 : 1)) return;
    } catch (error) {
      if (i > 60) throw error;
      await sleep(500);
    }
  }
}

try {
  await grid.waitForServers(connected, `${STORAGE.length} connected servers`);
  // What the downloads are compared with: a copy, since the uploads' payloads reuse its memory.
  const stored = Buffer.from(freshPayload(MIBS * MIB));
  const up = await upload(grid.nodeUrl, stored);
  console.log(`uploaded ${MIBS} MiB in ${up.s.toFixed(2)} s`);
  const rows = new Map<string, { mbs: number[]; client: number[]; servers: number[]; hwm: number[] }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      if (current !== v || r === 0) await restartClientAs(v, up.cap, stored);
      const clientPid = pidOf("client");
      const serverPids = STORAGE.map(pidOf);
      const client0 = cpuSeconds(clientPid);
      const servers0 = treeCpu(serverPids);
      const s = UPLOADS
        ? (await upload(grid.nodeUrl, freshPayload(MIBS * MIB))).s
        : await download(grid.nodeUrl, up.cap, stored);
      const status = readFileSync(`/proc/${clientPid}/status`, "utf8");
      const row = rows.get(v.name) ?? { mbs: [], client: [], servers: [], hwm: [] };
      row.mbs.push((MIBS * MIB) / 1e6 / s);
      row.client.push(((cpuSeconds(clientPid) - client0) * 1024) / MIBS);
      row.servers.push((treeCpuSince(servers0, serverPids) * 1024) / MIBS);
      row.hwm.push(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1000);
      rows.set(v.name, row);
      console.log(
        `round ${r} ${v.name}: ${row.mbs.at(-1)!.toFixed(1)} MB/s, client ${row.client.at(-1)!.toFixed(2)} + servers ${row.servers.at(-1)!.toFixed(2)} CPU s/GiB, client VmHWM ${row.hwm.at(-1)!.toFixed(1)} MB`,
      );
    }
  }
  for (const [name, row] of rows) {
    console.log(
      `${name}: median ${median(row.mbs).toFixed(1)} MB/s (${Math.min(...row.mbs).toFixed(0)}-${Math.max(...row.mbs).toFixed(0)}), client ${median(row.client).toFixed(2)} + servers ${median(row.servers).toFixed(2)} CPU s/GiB, VmHWM median ${median(row.hwm).toFixed(1)} MB`,
    );
  }
} finally {
  await grid.close();
}
