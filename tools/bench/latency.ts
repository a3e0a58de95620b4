/**
 * Round trips, made visible: a local grid (introducer, 4 storage nodes, a 2-of-4 client, happy 3)
 * whose storage servers announce a relay in front of them (tub.location) that holds every chunk
 * `--delay` ms each way (tools/bench/delay-relay.ts), as a far or Tor-routed server would. Per
 * round and variant the client restarts as that variant (a checkout's apps/cli/bin/tahoe.js),
 * downloads and uploads a warm-up file, then times one PUT /uri of fresh random bytes and one GET /uri/CAP
 * of an earlier upload per size, the GET compared byte for byte; then a directory's daily work
 * (mkdir, PUT of a 2 kB file into it, its ?t=json listing) and a 10 kB SDMF file's read and
 * overwrite. Prints each operation's time and medians per variant; never pass/fail. The bench talks to the client directly: only
 * client-to-server traffic is delayed.
 *
 * With `--vs-tahoe`, a Tahoe-LAFS 1.20 client (../shared/tools/refpeer's static client, from
 * TAHOE_REF_DIR, default ~/.cache/lafs-ts/tahoe-ref) runs beside this checkout's client on the
 * same relayed storage servers, knowing only them; neither restarts, and the two alternate
 * within every round, reading the same caps. The servers are lafs-ts's in both columns, so
 * the figures compare the clients' round trips, not the servers.
 *
 *   pnpm bench:latency                                   (this checkout, 50 ms each way)
 *   pnpm bench:latency --variant new=. --variant old=/work/old-tree --rounds 5 --delay 50
 *     --sizes 10240,1048576 (bytes; default 10 KiB, 100 KiB, 1 MiB, 10 MiB)
 *   TAHOE_REF_DIR=... pnpm bench:latency --vs-tahoe --rounds 5
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { startGrid } from "../../tests/support/local-grid.js";
import {
  exportServers,
  findRefPeer,
  REF_DIR_VARIABLE,
  type RefPeer,
  startRefStaticClient,
  stopRef,
} from "../../tests/support/refpeer.js";
import { type DelayRelay, startDelayRelay } from "./delay-relay.js";
import {
  connectedServers,
  download,
  freshPayload,
  http,
  listOption,
  median,
  nextNodeUrl,
  numberOption,
  readAll,
  seconds,
  sleep,
  upload,
} from "./grid-transfer.js";

const variants = listOption("variant").map((spec) => {
  const [name, dir] = spec.split("=");
  if (!name || !dir) throw new Error(`--variant wants NAME=CHECKOUT, got ${spec}`);
  return { name, bin: join(resolve(dir), "apps/cli/bin/tahoe.js") };
});
if (variants.length === 0) variants.push({ name: "this", bin: resolve("apps/cli/bin/tahoe.js") });
const ROUNDS = numberOption("rounds", 3);
const DELAY = numberOption("delay", 50);
const SIZES = (listOption("sizes")[0] ?? "10240,102400,1048576,10485760").split(",").map(Number);
if (SIZES.some((s) => !Number.isInteger(s) || s < 1)) throw new Error("--sizes wants whole numbers of bytes");
const STORAGE = ["s0", "s1", "s2", "s3"];
const SHAPE = { k: 2, happy: 3, n: 4 };
const VS_TAHOE = process.argv.includes("--vs-tahoe");

function refPeer(): RefPeer {
  process.env[REF_DIR_VARIABLE] ||= join(homedir(), ".cache/lafs-ts/tahoe-ref");
  const peer = existsSync(join(process.env[REF_DIR_VARIABLE], "env.sh"))
    ? findRefPeer("--vs-tahoe")
    : undefined;
  if (peer === undefined) {
    throw new Error(
      `--vs-tahoe: no reference Tahoe-LAFS at ${process.env[REF_DIR_VARIABLE]} (build it: ../shared/tools/refpeer/build.sh "$TAHOE_REF_DIR")`,
    );
  }
  return peer;
}
const peer = VS_TAHOE ? refPeer() : undefined;

const relays: DelayRelay[] = [];
let current = variants[0]!;
const grid = await startGrid({
  storage: STORAGE,
  ...SHAPE,
  configure: async (name, dir) => {
    if (!STORAGE.includes(name)) return;
    const file = join(dir, "tahoe.cfg");
    const cfg = readFileSync(file, "utf8");
    const port = /^tub\.port = tcp:(\d+)/m.exec(cfg)?.[1];
    if (port === undefined) throw new Error(`${file}: no tub.port = tcp:PORT to put a relay in front of`);
    const relay = await startDelayRelay(Number(port), DELAY);
    relays.push(relay);
    writeFileSync(file, cfg.replace(/^tub\.location = .*$/m, `tub.location = tcp:127.0.0.1:${relay.port}`));
  },
  command: (name, argv) => (name === "client" ? [argv[0]!, current.bin, ...argv.slice(2)] : argv),
});
const connected = connectedServers(STORAGE.length);
const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;

async function restartClientAs(v: (typeof variants)[number], warm: { cap: string; bytes: Buffer }) {
  current = v;
  const oldUrl = grid.nodeUrl;
  await grid.stop("client");
  await grid.start("client");
  grid.nodeUrl = await nextNodeUrl(grid.dirs.client!, oldUrl);
  await warmUp(grid.nodeUrl, warm);
}

/** One web API call that must answer 200 or 201: its seconds and body. */
async function call(webUrl: string, method: string, path: string, body?: Buffer) {
  const t0 = process.hrtime.bigint();
  const { status, response } = await http(
    method,
    new URL(path, webUrl).href,
    body === undefined ? undefined : Readable.from([body]),
  );
  const text = (await readAll(response)).trim();
  const s = seconds(t0);
  if (status !== 200 && status !== 201)
    throw new Error(`${method} /${path} answered ${status}: ${text.slice(0, 500)}`);
  return { s, text };
}

/** Directory and mutable-file operations, timed; `mutable` is a 10 kB SDMF file of this side's. */
async function dailyWork(webUrl: string, mutable: string): Promise<[string, number][]> {
  const mkdir = await call(webUrl, "POST", "uri?t=mkdir");
  const dir = encodeURIComponent(mkdir.text);
  const add = await call(webUrl, "PUT", `uri/${dir}/notes.txt`, Buffer.from(freshPayload(2000)));
  const list = await call(webUrl, "GET", `uri/${dir}?t=json`);
  const read = await call(webUrl, "GET", `uri/${encodeURIComponent(mutable)}`);
  const write = await call(
    webUrl,
    "PUT",
    `uri/${encodeURIComponent(mutable)}`,
    Buffer.from(freshPayload(10_000)),
  );
  return [
    ["mkdir", mkdir.s],
    ["add 2 kB to dir", add.s],
    ["list dir", list.s],
    ["read 10 kB SDMF", read.s],
    ["overwrite 10 kB SDMF", write.s],
  ];
}

/** A web client the rounds time: ours restarted per variant, or a side that keeps running. */
interface Side {
  name: string;
  url: () => string;
  /** Makes the side ready for a round (a restart, for a variant); undefined: always ready. */
  ready?: () => Promise<void>;
}

const refRoot = mkdtempSync(join(tmpdir(), "lafs-bench-latency-"));
const refClientDir = join(refRoot, "tahoe-client");

/** The Tahoe client, knowing only our (relayed) storage servers, warmed up like ours. */
async function startTahoeSide(ref: RefPeer, warm: { cap: string; bytes: Buffer }): Promise<Side> {
  const serversYaml = join(refRoot, "servers.yaml");
  await exportServers(
    ref,
    serversYaml,
    STORAGE.map((name) => grid.dirs[name]!),
  );
  const url = await startRefStaticClient(ref, refClientDir, serversYaml, SHAPE);
  const webUrl = url.endsWith("/") ? url : `${url}/`;
  await warmUp(webUrl, warm);
  return { name: "Tahoe-LAFS", url: () => webUrl };
}

async function warmUp(webUrl: string, warm: { cap: string; bytes: Buffer }): Promise<void> {
  // Until the client has its servers. The warm-up download and upload also open the
  // connections a transfer uses, so the first size measured does not pay for them.
  for (let i = 0; ; i++) {
    try {
      await download(webUrl, warm.cap, warm.bytes);
      await upload(webUrl, freshPayload(warm.bytes.length));
      return;
    } catch (error) {
      if (i > 60) throw error;
      await sleep(500);
    }
  }
}

try {
  await grid.waitForServers(connected, `${STORAGE.length} connected servers`, 60_000);
  console.log(`relay delay ${DELAY} ms each way; sizes ${SIZES.join(", ")} bytes; ${ROUNDS} rounds`);
  const files = [];
  for (const size of SIZES) {
    const bytes = Buffer.from(freshPayload(size));
    files.push({ size, bytes, cap: (await upload(grid.nodeUrl, bytes)).cap });
  }
  const warmBytes = Buffer.from(freshPayload(100 * 1024));
  const warm = { bytes: warmBytes, cap: (await upload(grid.nodeUrl, warmBytes)).cap };
  const sides: Side[] = VS_TAHOE
    ? [{ name: "lafs-ts", url: () => grid.nodeUrl }, await startTahoeSide(peer!, warm)]
    : variants.map((v) => ({ name: v.name, url: () => grid.nodeUrl, ready: () => restartClientAs(v, warm) }));
  if (VS_TAHOE) await warmUp(grid.nodeUrl, warm);
  const times = new Map<string, number[]>();
  const note = (key: string, s: number) => times.set(key, [...(times.get(key) ?? []), s]);
  /**
   * Each side's own mutable file, made before the rounds through the side as it runs now: a
   * write cap works for any client, so a variant need not restart for it.
   */
  const mutables = new Map<string, string>();
  for (const side of sides) {
    mutables.set(
      side.name,
      (await call(side.url(), "PUT", "uri?format=SDMF", Buffer.from(freshPayload(10_000)))).text,
    );
  }
  const opNames: string[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of sides) {
      await side.ready?.();
      const line: string[] = [];
      for (const f of files) {
        const put = (await upload(side.url(), freshPayload(f.size))).s;
        const get = await download(side.url(), f.cap, f.bytes);
        note(`${side.name} PUT ${f.size}`, put);
        note(`${side.name} GET ${f.size}`, get);
        line.push(`${f.size} B: PUT ${ms(put)}, GET ${ms(get)}`);
      }
      for (const [op, s] of await dailyWork(side.url(), mutables.get(side.name)!)) {
        if (!opNames.includes(op)) opNames.push(op);
        note(`${side.name} ${op}`, s);
        line.push(`${op} ${ms(s)}`);
      }
      console.log(`round ${r} ${side.name}: ${line.join("; ")}`);
    }
  }
  for (const [key, xs] of times) console.log(`${key}: median ${ms(median(xs))} (${xs.map(ms).join(", ")})`);
  if (VS_TAHOE) {
    for (const f of files) {
      for (const op of ["PUT", "GET"]) {
        const ours = median(times.get(`lafs-ts ${op} ${f.size}`)!);
        const theirs = median(times.get(`Tahoe-LAFS ${op} ${f.size}`)!);
        console.log(`${op} ${f.size} B: Tahoe-LAFS / lafs-ts time = ${(theirs / ours).toFixed(2)}x`);
      }
    }
    for (const op of opNames) {
      const ours = median(times.get(`lafs-ts ${op}`)!);
      const theirs = median(times.get(`Tahoe-LAFS ${op}`)!);
      console.log(`${op}: Tahoe-LAFS / lafs-ts time = ${(theirs / ours).toFixed(2)}x`);
    }
  }
} finally {
  if (peer !== undefined) await stopRef(peer, refClientDir);
  await grid.close();
  for (const relay of relays) await relay.close();
  rmSync(refRoot, { recursive: true, force: true });
}
