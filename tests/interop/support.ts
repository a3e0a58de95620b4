import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Decode, base32Encode, taggedHash } from "@lafs/crypto";
import { type Grid, type ServerState, startGrid, tahoeOk } from "../support/local-grid.js";
import {
  exportServers,
  type RefGrid,
  type RefPeer,
  startRefGrid,
  startRefStaticClient,
  stopRef,
} from "../support/refpeer.js";

/**
 * Interop helpers in the compliance-suite shape (DESIGN.md §9): a `WebClient` is any node that
 * serves Tahoe-LAFS's web API, ours or the reference's, and the round-trip helpers take two of
 * them without knowing which is which. A case written once then runs with the clients swapped.
 */

export interface WebClient {
  /** For failure messages: "lafs-ts client", "Tahoe client". */
  name: string;
  url: string;
  /** PUT /uri: uploads an immutable file and gives its cap. */
  put(bytes: Uint8Array): Promise<string>;
  /** GET /uri/CAP: the file's bytes. */
  get(cap: string): Promise<Buffer>;
}

export function webClient(name: string, url: string): WebClient {
  const base = url.endsWith("/") ? url : `${url}/`;
  return {
    name,
    url: base,
    async put(bytes) {
      const res = await fetch(new URL("uri", base), { method: "PUT", body: bytes });
      const text = (await res.text()).trim();
      if (res.status !== 200 && res.status !== 201) {
        throw new Error(
          `${name}: PUT /uri of ${bytes.length} bytes answered ${res.status}: ${text.slice(0, 500)}`,
        );
      }
      return text;
    },
    async get(cap) {
      const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}`, base));
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) {
        throw new Error(`${name}: GET /uri/${cap} answered ${res.status}: ${body.toString().slice(0, 500)}`);
      }
      return body;
    },
  };
}

/** What a byte comparison reports: equal files have equal summaries, and a diff stays readable. */
export function summary(bytes: Uint8Array): string {
  return `${bytes.length} bytes, sha256 ${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface Crossed {
  cap: string;
  /** What each downloader got back, by its name. */
  downloads: Record<string, string>;
}

/** Uploads through one client and downloads through each of the others: summaries to compare. */
export async function crossRoundTrip(
  uploader: WebClient,
  downloaders: WebClient[],
  bytes: Uint8Array,
): Promise<Crossed> {
  const cap = await uploader.put(bytes);
  const downloads: Record<string, string> = {};
  for (const client of downloaders) downloads[client.name] = summary(await client.get(cap));
  return { cap, downloads };
}

/** The expected value of `crossRoundTrip(...).downloads`: every downloader got `bytes`. */
export function everyoneGot(downloaders: WebClient[], bytes: Uint8Array): Record<string, string> {
  return Object.fromEntries(downloaders.map((c) => [c.name, summary(bytes)]));
}

/** The sizes every interop case moves: the edges of LIT and of a 128 KiB segment. */
export const SEGMENT = 128 * 1024;
export const FILES = {
  empty: 0,
  /** The largest LIT file (Tahoe's URI_LIT_SIZE_THRESHOLD is 55). */
  lit: 55,
  /** The smallest CHK file. */
  smallChk: 56,
  small: 1000,
  /** Three segments, the last one short: exercises segment and tail handling. */
  multiSegment: 2 * SEGMENT + 12_345,
  /**
   * Shares of about 4.5 MiB at 2-of-4: several of lafs-ts's 2 MB PATCHes and 2 MiB share reads
   * (DEFAULT_BATCH_SIZE, RUN_BYTES), twice Tahoe's own sizes, each a whole request a server takes.
   */
  large: 9 * 1024 * 1024 + 777,
} as const;

/** Reproducible contents, different per size and per `salt`, so no two cases share a cap. */
export function fileOf(size: number, salt: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(`${salt}/${size}`).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

/**
 * Share numbers held for a CHK cap in storage node directories, ours or Tahoe's: both keep a
 * share at storage/shares/PREFIX/SI/SHNUM. Compared by share number only (placement varies).
 */
export async function sharesOf(cap: string, nodeDirs: string[]): Promise<Record<string, number[]>> {
  // URI:CHK:KEY:UEBHASH:k:N:SIZE; SI = tagged_hash(key-to-SI tag, KEY)[0:16] (wire-formats).
  const key = base32Decode(cap.split(":")[2]!);
  const si = base32Encode(taggedHash("allmydata_immutable_key_to_storage_index_v1", key, 16));
  const found: Record<string, number[]> = {};
  for (const dir of nodeDirs) {
    const names = await readdir(join(dir, "storage/shares", si.slice(0, 2), si)).catch(() => [] as string[]);
    found[dir] = names.map(Number).sort((a, b) => a - b);
  }
  return found;
}

/**
 * How many shares of a mutable file, or of a mutable directory (URI:DIR2: or URI:DIR2-MDMF:, whose
 * third field is the same write key), the storage node directories hold, of either kind.
 */
export async function mutableShareCount(writeCap: string, nodeDirs: string[]): Promise<number> {
  const writekey = base32Decode(writeCap.split(":")[2]!);
  const readkey = taggedHash("allmydata_mutable_writekey_to_readkey_v1", writekey, 16);
  const si = base32Encode(taggedHash("allmydata_mutable_readkey_to_storage_index_v1", readkey, 16));
  let count = 0;
  for (const dir of nodeDirs) {
    count += (await readdir(join(dir, "storage/shares", si.slice(0, 2), si)).catch(() => [])).length;
  }
  return count;
}

export function allShareNumbers(shares: Record<string, number[]>): number[] {
  return Object.values(shares)
    .flat()
    .sort((a, b) => a - b);
}

export interface StaticClient {
  dir: string;
  url: string;
  /** What the node printed, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/**
 * A lafs-ts client (`tahoe create-client`, `tahoe run` of apps/cli) that knows only the servers
 * in `serversYaml`, with no introducer: the counterpart of refpeer's tahoe-client-static.sh.
 * Resolves once it is connected to every server listed.
 */
export async function startStaticClient(
  serversYaml: string,
  shape: { k: number; happy: number; n: number; servers: number },
): Promise<StaticClient> {
  const root = await mkdtemp(join(tmpdir(), "lafs-interop-client-"));
  const dir = join(root, "client");
  let child: ChildProcess | undefined;
  let output = "";
  const client: StaticClient = {
    dir,
    url: "",
    output: () => output,
    async close() {
      const running = child;
      if (running !== undefined && running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((resolve) => running.once("exit", resolve));
        running.kill("SIGTERM");
        await exited;
      }
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    await tahoeOk([
      "create-client",
      "--nickname=lafs-static-client",
      "--webport=tcp:0:interface=127.0.0.1",
      `--shares-needed=${shape.k}`,
      `--shares-happy=${shape.happy}`,
      `--shares-total=${shape.n}`,
      dir,
    ]);
    await writeFile(join(dir, "private/servers.yaml"), await readFile(serversYaml), { mode: 0o600 });
    const cli = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");
    const started = spawn(process.execPath, [cli, "run", "--allow-stdin-close", dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    started.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 30_000;
    let servers: ServerState[] = [];
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`the lafs-ts static client exited during start-up: ${output}`);
      }
      servers = await readFile(join(dir, "private/server-list.json"), "utf8")
        .then((text) => (JSON.parse(text) as { servers: ServerState[] }).servers)
        .catch(() => []);
      const connected = servers.filter((s) => s.connection.state === "connected").length;
      const url = await readFile(join(dir, "node.url"), "utf8").catch(() => "");
      if (connected === shape.servers && url.trim() !== "") {
        client.url = url.trim();
        return client;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the lafs-ts static client connected to ${connected} of ${shape.servers} servers in 30 s: ${JSON.stringify(servers)}\n${output}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await client.close();
    throw error;
  }
}

export interface MixedGrid {
  root: string;
  /** Our grid (introducer, the storage nodes in `ourStorageDirs`, and its own client). */
  ours: Grid;
  ourStorageDirs: string[];
  /** The Tahoe grid (introducer, two storage nodes, its own client). */
  tahoe: RefGrid;
  /** servers.yaml naming all four storage nodes, ours first. */
  serversYaml: string;
  /** A lafs-ts client that knows only the four servers (servers.yaml, no introducer). */
  client: StaticClient;
  /** A Tahoe client that knows only the four servers. */
  tahoeClient: { dir: string; url: string };
}

/** A grid being started: keep it before awaiting `ready`, so afterAll can `close()` it whatever happened. */
export interface GridStart<T> {
  /** The grid once every node is up; a start that fails stops what it had started, then rejects. */
  ready: Promise<T>;
  /**
   * Stops every node, the reference ones by path, each even when another fails. Safe at any
   * moment: called while the start is still running (a beforeAll that timed out), it ends the
   * reference start scripts at once and stops our nodes as soon as their start returns.
   */
  close(): Promise<void>;
}

export type MixedGridStart = GridStart<MixedGrid>;

function settled<T>(result: PromiseSettledResult<T>): T | undefined {
  return result.status === "fulfilled" ? result.value : undefined;
}

/** How long close() waits for a start still running (ours has no abort) before stopping what it has. */
const START_GRACE_MS = 90_000;

/** Runs `steps` in order, each in a `finally` of the one before: every step runs even after one fails. */
async function inTurn(steps: (() => Promise<void> | undefined)[]): Promise<void> {
  const [first, ...rest] = steps;
  if (first === undefined) return;
  try {
    await first();
  } finally {
    await inTurn(rest);
  }
}

/**
 * The start-and-close protocol of every grid here. `start` is told whether close() has begun
 * (it then stops at its next step); `stopAll` stops what it started, the reference nodes by
 * path; `stopRefStarts` ends the reference start scripts still running (stopRef does), so
 * nothing is launched after close() began.
 */
function guardedStart<T>(
  start: (closing: () => boolean) => Promise<T>,
  stopAll: () => Promise<void>,
  stopRefStarts: () => Promise<void>,
): GridStart<T> {
  let closing: Promise<void> | undefined;
  const ready = start(() => closing !== undefined).catch(async (error: unknown) => {
    if (closing === undefined) await stopAll();
    throw error;
  });
  // A start that fails after close() began is reported by close(), not as an unhandled rejection.
  ready.catch(() => {});
  return {
    ready,
    close() {
      closing ??= (async () => {
        // First the reference start scripts, then wait for ours.
        await stopRefStarts().catch(() => {});
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          ready.catch(() => {}),
          new Promise((resolve) => {
            timer = setTimeout(resolve, START_GRACE_MS);
          }),
        ]);
        clearTimeout(timer);
        await stopAll();
      })();
      return closing;
    },
  };
}

function notClosing(closing: () => boolean, what: string): void {
  if (closing()) throw new Error(`${what} was closed while it started`);
}

/**
 * One grid with storage servers of both kinds: two lafs-ts storage nodes and two Tahoe-LAFS 1.20
 * storage nodes, one servers.yaml naming all four (export-servers.py reads both kinds of node
 * directory), and a static client of each kind on it with the given k/happy/N. With happy > 2
 * every upload must place shares on both kinds. Call it in beforeAll and keep the handle before
 * awaiting `ready`, so afterAll can `close()` it whatever happened:
 *
 *   beforeAll(async () => { start = startMixedGrid(ref, shape); mixed = await start.ready; });
 *   afterAll(() => start?.close());
 */
export function startMixedGrid(ref: RefPeer, shape: { k: number; happy: number; n: number }): MixedGridStart {
  const root = mkdtempSync(join(tmpdir(), "lafs-interop-mixed-"));
  const refGridDir = join(root, "grid");
  const tahoeClientDir = join(root, "tahoe-client");
  let ours: Grid | undefined;
  let client: StaticClient | undefined;

  const stopAll = () =>
    inTurn([
      () => client?.close(),
      () => stopRef(ref, tahoeClientDir, refGridDir),
      () => ours?.close(),
      () => rm(root, { recursive: true, force: true }),
    ]);

  async function start(closing: () => boolean): Promise<MixedGrid> {
    // The two grids come up side by side (each takes seconds of process start-up). allSettled,
    // so a grid that did start is kept for stopAll even when the other failed.
    const grids = await Promise.allSettled([
      startGrid({ storage: ["s1", "s2"], k: 2, happy: 2, n: 2 }),
      startRefGrid(ref, refGridDir, { n: 2, k: 2, happy: 2, total: 2 }),
    ]);
    ours = settled(grids[0]);
    const tahoe = settled(grids[1]);
    for (const result of grids) if (result.status === "rejected") throw result.reason;
    notClosing(closing, "the mixed grid");
    const ourStorageDirs = ours!.storage.map((name) => ours!.dirs[name]!);
    const serversYaml = join(root, "servers.yaml");
    await exportServers(ref, serversYaml, [...ourStorageDirs, ...tahoe!.storageDirs]);
    const clients = await Promise.allSettled([
      startRefStaticClient(ref, tahoeClientDir, serversYaml, shape),
      startStaticClient(serversYaml, { ...shape, servers: 4 }),
    ]);
    client = settled(clients[1]);
    for (const result of clients) if (result.status === "rejected") throw result.reason;
    notClosing(closing, "the mixed grid");
    return {
      root,
      ours: ours!,
      ourStorageDirs,
      tahoe: tahoe!,
      serversYaml,
      client: client!,
      tahoeClient: { dir: tahoeClientDir, url: settled(clients[0])! },
    };
  }

  return guardedStart(start, stopAll, () => stopRef(ref, tahoeClientDir, refGridDir));
}

export interface OurGridWithTahoeClient {
  /** Our grid: an introducer, the storage nodes asked for, and our own client. */
  grid: Grid;
  storageDirs: string[];
  /** The Tahoe static client's node directory. */
  tahoeClientDir: string;
  /** The Tahoe static client (it knows only our storage nodes), with our client's convergence secret. */
  theirs: WebClient;
  /** Our grid's own client. */
  ours: WebClient;
}

/**
 * A lafs-ts grid (startGrid) and a Tahoe-LAFS 1.20 client that knows only its storage nodes
 * (servers.yaml from export-servers.py, tahoe-client-static.sh). The Tahoe client gets our
 * client's convergence secret, so both compute the same CHK caps. Use as startMixedGrid.
 */
export function startOurGridWithTahoeClient(
  ref: RefPeer,
  shape: { storage: string[]; k: number; happy: number; n: number },
): GridStart<OurGridWithTahoeClient> {
  const root = mkdtempSync(join(tmpdir(), "lafs-interop-ours-"));
  const tahoeClientDir = join(root, "tahoe-client");
  let grid: Grid | undefined;

  const stopAll = () =>
    inTurn([
      () => stopRef(ref, tahoeClientDir),
      () => grid?.close(),
      () => rm(root, { recursive: true, force: true }),
    ]);

  async function start(closing: () => boolean): Promise<OurGridWithTahoeClient> {
    grid = await startGrid(shape);
    notClosing(closing, "our grid with a Tahoe client");
    const storageDirs = shape.storage.map((name) => grid!.dirs[name]!);
    const serversYaml = join(root, "servers.yaml");
    await exportServers(ref, serversYaml, storageDirs);
    const url = await startRefStaticClient(ref, tahoeClientDir, serversYaml, {
      k: shape.k,
      happy: shape.happy,
      n: shape.n,
      convergence: await convergenceOf(grid.dirs.client!),
    });
    notClosing(closing, "our grid with a Tahoe client");
    return {
      grid,
      storageDirs,
      tahoeClientDir,
      theirs: webClient("Tahoe client", url),
      ours: webClient("lafs-ts client", grid.nodeUrl),
    };
  }

  return guardedStart(start, stopAll, () => stopRef(ref, tahoeClientDir));
}

export interface TahoeGridWithOurClient {
  /** The reference grid: a Tahoe introducer, its storage nodes and its own client. */
  refGrid: RefGrid;
  /** Our static client (it knows only the Tahoe storage nodes, no introducer). */
  client: StaticClient;
  /** The reference grid's own client. */
  theirs: WebClient;
  ours: WebClient;
}

/**
 * A Tahoe-LAFS 1.20 grid (start-grid.sh) and a lafs-ts static client that knows only its storage
 * nodes (servers.yaml from export-servers.py), connected to all of them. Use as startMixedGrid.
 */
export function startTahoeGridWithOurClient(
  ref: RefPeer,
  shape: { n: number; k: number; happy: number; total: number },
): GridStart<TahoeGridWithOurClient> {
  const root = mkdtempSync(join(tmpdir(), "lafs-interop-theirs-"));
  const refGridDir = join(root, "grid");
  let client: StaticClient | undefined;

  const stopAll = () =>
    inTurn([
      () => client?.close(),
      () => stopRef(ref, refGridDir),
      () => rm(root, { recursive: true, force: true }),
    ]);

  async function start(closing: () => boolean): Promise<TahoeGridWithOurClient> {
    const refGrid = await startRefGrid(ref, refGridDir, shape);
    notClosing(closing, "the Tahoe grid with our client");
    const serversYaml = join(root, "servers.yaml");
    await exportServers(ref, serversYaml, refGrid.storageDirs);
    client = await startStaticClient(serversYaml, {
      k: shape.k,
      happy: shape.happy,
      n: shape.total,
      servers: shape.n,
    });
    notClosing(closing, "the Tahoe grid with our client");
    return {
      refGrid,
      client,
      theirs: webClient("Tahoe client", refGrid.url),
      ours: webClient("lafs-ts client", client.url),
    };
  }

  return guardedStart(start, stopAll, () => stopRef(ref, refGridDir));
}

/** A convergence secret as a node keeps it (base32 of 32 bytes, as Tahoe writes it): both implementations read it. */
export async function convergenceOf(nodeDir: string): Promise<string> {
  return readFile(join(nodeDir, "private/convergence"), "utf8");
}

/** A welcome page's `?t=json` server entry, in either implementation's shape. */
export interface WelcomeServer {
  nodeid: string;
  nickname: string;
  /** Tahoe: "connected" or a sentence; ours: the same field, plus `connection.state`. */
  connection_status: string;
  connection?: { state: string };
}

export interface Welcome {
  servers: WelcomeServer[];
  /** Ours: one entry per introducer, as for NURL introducers. */
  introducers: { list?: { petname: string; state: string }[] };
}

export async function welcome(url: string): Promise<Welcome> {
  const res = await fetch(new URL("?t=json", url.endsWith("/") ? url : `${url}/`));
  if (res.status !== 200) throw new Error(`GET ${url}?t=json answered ${res.status}`);
  return (await res.json()) as Welcome;
}

export async function welcomeServers(url: string): Promise<WelcomeServer[]> {
  return (await welcome(url)).servers;
}

/** Polls our client's welcome page until its one introducer's state passes `test`. */
export async function waitForIntroducer(
  url: string,
  test: (state: string | undefined) => boolean,
  what: string,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const page = await welcome(url).catch((error: Error) => ({ error: error.message }));
    last = "introducers" in page ? page.introducers : page;
    if ("introducers" in page && test(page.introducers.list?.[0]?.state)) return;
    if (Date.now() > deadline) {
      throw new Error(`introducer not ${what} after ${ms} ms: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The Tahoe introducer's welcome ?t=json: counts by service name. */
export interface IntroducerJson {
  announcement_summary?: Record<string, number>;
  subscription_summary?: Record<string, number>;
}

export async function waitForJson<T>(
  url: string,
  test: (json: T) => boolean,
  what: string,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    last = await fetch(url)
      .then((res) => res.json())
      .catch((error: Error) => ({ error: error.message }));
    if (test(last as T)) return last as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Polls a welcome page until `test` holds, or fails with the last list seen. */
export async function waitForWelcome(
  url: string,
  test: (servers: WelcomeServer[]) => boolean,
  what: string,
  ms = 30_000,
): Promise<WelcomeServer[]> {
  const deadline = Date.now() + ms;
  let last: WelcomeServer[] = [];
  for (;;) {
    last = await welcomeServers(url).catch(() => last);
    if (test(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function connectedNicknames(
  servers: WelcomeServer[],
  connected: (s: WelcomeServer) => boolean,
): string[] {
  return servers
    .filter(connected)
    .map((s) => s.nickname)
    .sort();
}

export const oursConnected = (s: WelcomeServer) => s.connection?.state === "connected";
export const tahoeConnected = (s: WelcomeServer) => s.connection_status === "connected";

// Check, verify, repair and deep-check: what check-on-our-servers and check-on-tahoe-servers share.

export interface CheckResultsJson extends Record<string, unknown> {
  healthy: boolean;
  recoverable: boolean;
  sharemap: Record<string, string[]>;
  "list-corrupt-shares": [string, string, number][];
  "servers-responding": string[];
}

/** json_check_results, or json_check_and_repair_results with repair=true. */
export interface CheckJson {
  "storage-index": string;
  summary?: string;
  results: CheckResultsJson;
  "repair-attempted"?: boolean;
  "repair-successful"?: boolean;
  "pre-repair-results": CheckJson;
  "post-repair-results": CheckJson;
}

/** `POST /uri/CAP?t=check&output=JSON` + flags ("&verify=true", ...) on either implementation. */
export async function checkJson(client: WebClient, cap: string, flags: string): Promise<CheckJson> {
  const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}?t=check&output=JSON${flags}`, client.url), {
    method: "POST",
  });
  const text = await res.text();
  if (res.status !== 200)
    throw new Error(`${client.name}: t=check${flags} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as CheckJson;
}

/** The parts of json_check_results that do not name servers (our ids and Tahoe's differ in form). */
export function comparableCheck(r: CheckJson): Record<string, unknown> {
  const x = r.results;
  return {
    si: r["storage-index"],
    summary: r.summary,
    healthy: x.healthy,
    recoverable: x.recoverable,
    good: x["count-shares-good"],
    needed: x["count-shares-needed"],
    expected: x["count-shares-expected"],
    hosts: x["count-good-share-hosts"],
    corrupt: x["count-corrupt-shares"],
    corruptShares: x["list-corrupt-shares"].map((c) => [c[1], c[2]]),
    responding: x["servers-responding"].length,
    sharemap: Object.keys(x.sharemap).sort(),
    wrong: x["count-wrong-shares"],
  };
}

/** The share files of `si` under each storage node directory, in share-number order. */
export async function shareFilesOf(si: string, nodeDirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of nodeDirs) {
    const siDir = join(dir, "storage/shares", si.slice(0, 2), si);
    for (const f of await readdir(siDir).catch(() => [])) out.push(join(siDir, f));
  }
  return out.sort((a, b) => Number(a.split("/").pop()) - Number(b.split("/").pop()));
}

/**
 * A slow operation through either implementation's web API: `POST DIR?t=start-...&ophandle=H`,
 * then `/operations/H?output=JSON` until it says it is finished (Tahoe's SlowOperationRunner).
 */
export async function slowOperationJson(
  client: WebClient,
  dirCap: string,
  query: string,
): Promise<Record<string, unknown>> {
  const handle = `op${Math.random().toString(36).slice(2)}`;
  const start = await fetch(
    new URL(`uri/${encodeURIComponent(dirCap)}?${query}&ophandle=${handle}&output=JSON`, client.url),
    { method: "POST", redirect: "manual" },
  );
  if (start.status !== 302 && start.status !== 200)
    throw new Error(
      `${client.name}: ${query} answered ${start.status}: ${(await start.text()).slice(0, 500)}`,
    );
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const res = await fetch(new URL(`operations/${handle}?t=status&output=JSON`, client.url));
    const text = await res.text();
    if (res.status !== 200)
      throw new Error(`${client.name}: /operations/${handle} answered ${res.status}: ${text}`);
    const data = JSON.parse(text) as Record<string, unknown>;
    if (data.finished) return data;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${client.name}: ${query} did not finish in 60 s`);
}

/** The reference `tahoe` command; fails with what it printed on stderr. */
export function refTahoe(cli: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    execFile(cli, args, { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null
        ? resolve(stdout)
        : reject(new Error(`Tahoe's tahoe ${args.join(" ")}: ${stderr.toString()}`)),
    ),
  );
}

/**
 * A small tree for deep-check through a node's web API: a root (SDMF) holding a CHK file, a LIT
 * file and a subdirectory with a second CHK file, whose cap is `victim`.
 */
export async function deepCheckTree(client: WebClient): Promise<{ root: string; victim: string }> {
  const call = async (method: string, path: string, body?: Uint8Array) => {
    const res = await fetch(new URL(path, client.url), { method, ...(body ? { body } : {}) });
    const text = (await res.text()).trim();
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`${client.name}: ${method} ${path.slice(0, 80)} answered ${res.status}: ${text}`);
    return text;
  };
  const root = await call("POST", "uri?t=mkdir");
  const r = encodeURIComponent(root);
  await call("PUT", `uri/${r}/top.bin`, fileOf(90_000, "deep-top"));
  await call("PUT", `uri/${r}/lit.txt`, Buffer.from("a literal"));
  await call("POST", `uri/${r}?t=mkdir&name=sub`);
  const victim = await call("PUT", `uri/${r}/sub/inner.bin`, fileOf(120_000, "deep-inner"));
  return { root, victim };
}
