import { randomBytes } from "node:crypto";
import { open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { base32Decode, base32Encode, taggedHash } from "@lafs/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoe, tahoeOk } from "../support/local-grid.js";

/**
 * Real processes on 127.0.0.1: an introducer, five storage servers and a client with a web
 * server, each made with `tahoe create-*` and run with `tahoe run`; files go in and out with
 * `tahoe put` / `tahoe get` and plain HTTP against the client's node.url. k/happy/N = 3/4/5.
 * The tests run in order: the later ones stop servers.
 */

const STORAGE = ["s1", "s2", "s3", "s4", "s5"];

let grid: Grid;
let root: string;
let dirs: Record<string, string>;
let nodeUrl: string;
/** A file uploaded while all five servers ran: every server holds one share. */
let early: { cap: string; data: Buffer } | undefined;

const ok = tahoeOk;
const start = (name: string) => grid.start(name);
const stop = (name: string, signal?: NodeJS.Signals) => grid.stop(name, signal);
const idOf = (nickname: string) => grid.idOf(nickname);
const connectedCount = (expected: number) =>
  grid.waitForServers(
    (list) => list.filter((s) => s.connection.state === "connected").length === expected,
    `${expected} connected servers`,
  );

async function putFile(bytes: Uint8Array, name: string): Promise<string> {
  const path = join(root, name);
  await writeFile(path, bytes);
  return (await ok(["-d", dirs.client!, "put", path])).toString().trim();
}

async function getFile(cap: string, name: string): Promise<Buffer> {
  const path = join(root, name);
  await ok(["-d", dirs.client!, "get", cap, path]);
  return readFile(path);
}

/** Share files being written on a storage node (shares/incoming/PREFIX/SI/SHNUM). */
async function incomingFiles(node: string): Promise<string[]> {
  const incoming = join(dirs[node]!, "storage/shares/incoming");
  const entries = await readdir(incoming, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Complete share files on every storage node. */
async function allShareFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const node of STORAGE) {
    const shares = join(dirs[node]!, "storage/shares");
    const entries = await readdir(shares, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(e.parentPath, e.name);
      if (e.isFile() && !path.startsWith(join(shares, "incoming"))) found.push(path);
    }
  }
  return found.sort();
}

async function untilIncoming(node: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await incomingFiles(node)).length === 0) {
    if (Date.now() > deadline) throw new Error(`no upload reached ${node} within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The web API directly: no CLI process to start, for the small cases. */
async function httpPut(bytes: Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(new URL("uri", nodeUrl), { method: "PUT", body: bytes });
  return { status: res.status, text: (await res.text()).trim() };
}

async function httpGet(cap: string): Promise<Buffer> {
  const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}`, nodeUrl));
  if (res.status !== 200) throw new Error(`GET ${cap}: ${res.status} ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Every share file of the cap's storage index, across the storage nodes. */
async function shareFiles(cap: string): Promise<{ node: string; shnum: number; path: string }[]> {
  // URI:CHK:KEY:UEBHASH:k:N:SIZE; SI = tagged_hash(key-to-SI tag, KEY)[0:16] (wire-formats).
  const key = base32Decode(cap.split(":")[2]!);
  const si = base32Encode(taggedHash("allmydata_immutable_key_to_storage_index_v1", key, 16));
  const found: { node: string; shnum: number; path: string }[] = [];
  for (const node of STORAGE) {
    const dir = join(dirs[node]!, "storage/shares", si.slice(0, 2), si);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) found.push({ node, shnum: Number(n), path: join(dir, n) });
  }
  return found;
}

beforeAll(async () => {
  grid = await startGrid({ storage: STORAGE, k: 3, happy: 4, n: 5 });
  ({ root, dirs, nodeUrl } = grid);
}, 60_000);

afterAll(async () => {
  await grid?.close();
});

// Each step starts CLI processes; a loaded machine needs more than vitest's 5 s default.
describe("tahoe put / tahoe get on a grid of real processes", { timeout: 30_000 }, () => {
  it("writes node.url and reports uploads ready with k/happy/N from tahoe.cfg", async () => {
    expect(nodeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const welcome = (await (await fetch(new URL("?t=json", nodeUrl))).json()) as {
      uploads: { ready: boolean; reason: string | null };
      encoding: { k: number; happy: number; n: number };
      servers: { nickname: string; connection: { state: string } }[];
    };
    expect(welcome.uploads).toEqual({ ready: true, reason: null });
    expect(welcome.encoding).toEqual({ k: 3, happy: 4, n: 5 });
    expect(welcome.servers.map((x) => `${x.nickname} ${x.connection.state}`).sort()).toEqual(
      STORAGE.map((name) => `${name} connected`),
    );
  });

  it.each([0, 55, 56])("round-trips %i bytes byte for byte over HTTP", async (size) => {
    const data = randomBytes(size);
    const put = await httpPut(data);
    expect(put.status).toBe(200);
    expect(put.text).toMatch(size <= 55 ? /^URI:LIT:/ : /^URI:CHK:/);
    expect((await httpGet(put.text)).equals(data)).toBe(true);
  });

  it("round-trips 1 MiB + 1 bytes with tahoe put FILE / tahoe get CAP FILE", async () => {
    const size = 1024 * 1024 + 1;
    const data = randomBytes(size);
    const cap = await putFile(data, `in-${size}`);
    expect(cap).toMatch(/^URI:CHK:/);
    const back = await getFile(cap, `out-${size}`);
    expect(back.equals(data)).toBe(true);
    {
      const shares = await shareFiles(cap);
      expect(shares.map((s) => s.shnum).sort()).toEqual([0, 1, 2, 3, 4]);
      expect(new Set(shares.map((s) => s.node)).size).toBe(5);
      early = { cap, data };
    }
  });

  it("round-trips 20 MiB through stdin and stdout, and serves Range requests", async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const cap = (await ok(["-d", dirs.client!, "put", "-"], data)).toString().trim();
    expect(cap).toMatch(/^URI:CHK:/);
    const out = await ok(["-d", dirs.client!, "get", cap]);
    expect(out.equals(data)).toBe(true);
    const start = 5 * 1024 * 1024 - 7;
    const end = 9 * 1024 * 1024 + 3;
    const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}`, nodeUrl), {
      headers: { range: `bytes=${start}-${end - 1}` },
    });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end))).toBe(true);
  }, 60_000);

  it("detects a share corrupted on disk and downloads around it", async () => {
    const data = randomBytes(300_000);
    const cap = (await httpPut(data)).text;
    const shares = await shareFiles(cap);
    // Share 0 is a primary share, which the downloader tries first.
    const victim = shares.find((s) => s.shnum === 0)!;
    await flipByte(victim.path, 200);
    const back = await httpGet(cap);
    expect(back.equals(data)).toBe(true);
    // The corrupt share's server got Tahoe's corruption advisory.
    const advisories = join(dirs[victim.node]!, "storage/corruption-advisories");
    const deadline = Date.now() + 5000;
    let reports: string[] = [];
    while (Date.now() < deadline && reports.length === 0) {
      reports = await readdir(advisories).catch(() => []);
      if (reports.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reports.length).toBeGreaterThan(0);
  });

  it("with [client] download.worker = true, checks on a worker thread: whole, range, and around a corrupt share", async () => {
    const cfgPath = join(dirs.client!, "tahoe.cfg");
    const cfg = await readFile(cfgPath, "utf8");
    const restartClient = async (text: string) => {
      await stop("client");
      await writeFile(cfgPath, text);
      await rm(join(dirs.client!, "private/server-list.json"), { force: true });
      await rm(join(dirs.client!, "node.url"), { force: true });
      await start("client");
      await connectedCount(5);
      nodeUrl = (await readFile(join(dirs.client!, "node.url"), "utf8")).trim();
    };
    try {
      const withWorker = cfg.replace(/^\[client\]$/m, "[client]\ndownload.worker = true");
      expect(withWorker).not.toBe(cfg);
      await restartClient(withWorker);
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const cap = (await httpPut(data)).text;
      expect((await httpGet(cap)).equals(data)).toBe(true);
      const from = 1024 * 1024 - 3;
      const to = 2 * 1024 * 1024 + 9;
      const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}`, nodeUrl), {
        headers: { range: `bytes=${from}-${to - 1}` },
      });
      expect(res.status).toBe(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(from, to))).toBe(true);
      // A flipped byte in a block of primary share 1: the worker's check finds it, share 3 or 4 stands in.
      const victim = (await shareFiles(cap)).find((s) => s.shnum === 1)!;
      await flipByte(victim.path, 0x44 + 1000);
      expect((await httpGet(cap)).equals(data)).toBe(true);
    } finally {
      await restartClient(cfg);
    }
  }, 90_000);

  it("stopping the client during an upload aborts it: no share is left looking complete", async () => {
    const before = await allShareFiles();
    const upload = fetch(new URL("uri", nodeUrl), {
      method: "PUT",
      body: randomBytes(16 * 1024 * 1024),
    }).catch((error: unknown) => error);
    try {
      // Mid-stream: every server has allocated its share (an abort during allocate is another case).
      await Promise.all(STORAGE.map(untilIncoming));
      await stop("client");
      // The node answers the cancellation if it can still write to the socket; otherwise the request fails.
      const answer = await upload;
      if (answer instanceof Response) {
        expect(answer.status).toBe(503);
        expect(await answer.text()).toContain("TAHOE_ERR_UPLOAD_ABORTED");
      } else {
        expect(answer).toBeInstanceOf(Error);
      }
      expect(grid.outputs.get("client")).toContain("node stopped");
      // Only shares/incoming/ may hold pieces of it (the servers drop those); shares/ has no new file.
      expect(await allShareFiles()).toEqual(before);
    } finally {
      // The restarted client rewrites both files: wait for the new ones, not the old.
      await stop("client");
      await rm(join(dirs.client!, "private/server-list.json"), { force: true });
      await rm(join(dirs.client!, "node.url"), { force: true });
      await start("client");
      await connectedCount(5);
      nodeUrl = (await readFile(join(dirs.client!, "node.url"), "utf8")).trim();
    }
  });

  it("finishes an upload when a server is killed during it", async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const path = join(root, "in-killed");
    await writeFile(path, data);
    const upload = tahoe(["-d", dirs.client!, "put", path]);
    // Kill s5 as soon as its incoming directory shows the upload has reached it.
    await untilIncoming("s5");
    await stop("s5", "SIGKILL");
    const result = await upload;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const cap = result.stdout.toString().trim();
    expect((await getFile(cap, "out-killed")).equals(data)).toBe(true);
    await connectedCount(4);
  }, 40_000);

  it("refuses uploads while a required server is down, naming it", async () => {
    const s5 = await idOf("s5");
    await writeFile(join(dirs.client!, "servers-required"), `${s5}\n`);
    const result = await tahoe(["-d", dirs.client!, "put", "-"], randomBytes(1000));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("answered 503");
    expect(result.stderr).toContain("TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED");
    expect(result.stderr).toContain("server 's5'");
    await rm(join(dirs.client!, "servers-required"));
    // Without the requirement, four connected servers reach happy = 4 again.
    expect((await httpPut(randomBytes(1000))).status).toBe(200);
  });

  it("downloads with N-k servers stopped, and refuses uploads below happy with placement's words", async () => {
    // s5 was killed above; with s4 stopped too, N - k = 2 servers are down.
    await stop("s4");
    await connectedCount(3);
    const { cap, data } = early!;
    expect((await getFile(cap, "out-degraded")).equals(data)).toBe(true);
    // An earlier interrupted upload may have left a piece in incoming/ (noted on issue 8); this
    // refusal must add nothing to it.
    const incomingBefore = new Map<string, string[]>();
    for (const node of ["s1", "s2", "s3"]) incomingBefore.set(node, await incomingFiles(node));
    const result = await tahoe(["-d", dirs.client!, "put", "-"], randomBytes(1000));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("answered 503");
    expect(result.stderr).toMatch(/: TAHOE_ERR_PLACEMENT_[A-Z_]+\n/);
    expect(result.stderr).toContain("only 3 of the 5 allowed server(s) are connected");
    // Refused before a byte was sent: no share of it was started anywhere.
    for (const node of ["s1", "s2", "s3"]) {
      expect(await incomingFiles(node)).toEqual(incomingBefore.get(node));
    }
    const welcome = (await (await fetch(new URL("?t=json", nodeUrl))).json()) as {
      uploads: { ready: boolean; reason: string | null };
    };
    expect(welcome.uploads.ready).toBe(false);
    expect(result.stderr).toContain(welcome.uploads.reason!);
  });
});

/** Corrupts a share file in place: the byte at `at` inverted. */
async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}
