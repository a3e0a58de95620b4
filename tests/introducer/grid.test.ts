import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { base32Encode, generateNodeKey, type NodeKey, signWithNodeKey } from "@lafs/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Real processes on 127.0.0.1: an introducer, three storage servers and a client, each made
 * with `tahoe create-*` and run with `tahoe run`. The client is observed through the file it
 * keeps, private/server-list.json; the introducer through its status page.
 */

const TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");
const run = promisify(execFile);

interface Snapshot {
  writtenAt: number;
  introducers: { petname: string; state: string; synced: boolean }[];
  servers: {
    serverId: string;
    nickname: string;
    learnedFrom: { kind: string }[];
    connection: { state: string; hint?: string; errors?: { hint: string; message: string }[] };
    availableSpace?: number;
  }[];
}

/** Tahoe-LAFS's signed form, made here from @lafs/crypto alone: [msg, v0-sig, v0-key]. */
function signAnnouncement(fields: Record<string, unknown>, key: NodeKey): [string, string, string] {
  const msg = JSON.stringify(fields);
  return [msg, `v0-${base32Encode(signWithNodeKey(key.privateKey, Buffer.from(msg)))}`, key.nodeId];
}

let root: string;
let introducerNurl: string;
const dirs: Record<string, string> = {};
const children = new Map<string, ChildProcess>();

async function tahoe(...args: string[]): Promise<void> {
  await run(process.execPath, [TAHOE, ...args]);
}

async function start(name: string): Promise<void> {
  const child = spawn(process.execPath, [TAHOE, "run", "--allow-stdin-close", dirs[name]!], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.set(name, child);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("node running")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}: ${output}`)));
  });
}

async function stop(name: string): Promise<void> {
  const child = children.get(name);
  if (child === undefined) return;
  children.delete(name);
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function snapshot(): Promise<Snapshot | undefined> {
  try {
    return JSON.parse(await readFile(join(dirs.client!, "private/server-list.json"), "utf8")) as Snapshot;
  } catch {
    return undefined;
  }
}

async function until(check: (s: Snapshot) => boolean, what: string, timeoutMs = 30_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: Snapshot | undefined;
  while (Date.now() < deadline) {
    last = await snapshot();
    if (last !== undefined && check(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last server list: ${JSON.stringify(last, null, 1)}`);
}

const byNick = (s: Snapshot, nickname: string) => s.servers.find((x) => x.nickname === nickname);

function introducerCall(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  const url = new URL(introducerNurl.replace(/^pb:/, "https:").replace(/#v=1$/, ""));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port),
        method,
        path: `${url.pathname}${path}`,
        rejectUnauthorized: false,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lafs-grid-"));
  for (const name of ["intro", "s1", "s2", "s3", "client"]) dirs[name] = join(root, name);
  await tahoe("create-introducer", "--hostname=127.0.0.1", dirs.intro!);
  introducerNurl = (await readFile(join(dirs.intro!, "private/introducer.nurl"), "utf8"))
    .split("\n")[0]!
    .trim();
  await Promise.all(
    ["s1", "s2", "s3"].map((name) =>
      tahoe(
        "create-node",
        "--hostname=127.0.0.1",
        `--nickname=${name}`,
        `--introducer=${introducerNurl}`,
        // Several nodes on one machine: the default web port 3456 would collide.
        "--webport=none",
        dirs[name]!,
      ),
    ),
  );
  await tahoe(
    "create-client",
    `--introducer=${introducerNurl}`,
    "--nickname=client",
    "--webport=none",
    dirs.client!,
  );
  await start("intro");
  await Promise.all(["s1", "s2", "s3", "client"].map(start));
}, 30_000);

afterAll(async () => {
  await Promise.all([...children.keys()].map(stop));
  if (root) await rm(root, { recursive: true, force: true });
});

describe("a grid of real processes", () => {
  it("create-introducer wrote a NURL that pins private/node.pem", () => {
    expect(introducerNurl).toMatch(/^pb:\/\/[A-Za-z0-9_-]{43}@127\.0\.0\.1:\d+\/[a-z2-7]{32}#v=1$/);
  });

  it("the client sees all three servers, learned from the introducer, and connects to each", async () => {
    const s = await until(
      (x) => x.servers.length === 3 && x.servers.every((v) => v.connection.state === "connected"),
      "three connected servers",
    );
    expect(s.servers.map((v) => v.nickname).sort()).toEqual(["s1", "s2", "s3"]);
    for (const server of s.servers) {
      expect(server.learnedFrom).toEqual([{ kind: "introducer", petname: "default" }]);
      expect(server.connection.hint).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
      expect(server.availableSpace).toBeGreaterThan(0);
    }
    expect(s.introducers).toEqual([
      expect.objectContaining({ petname: "default", state: "connected", synced: true }),
    ]);
    // The snapshot holds no secrets: neither the introducer's swissnum nor a storage server's.
    const storageFurl = await readFile(join(dirs.s1!, "private/storage.furl"), "utf8");
    for (const url of [introducerNurl, storageFurl.trim()]) {
      expect(JSON.stringify(s)).not.toContain(url.split("/")[3]!.replace(/#.*/, ""));
    }
  });

  it("a stopped server is shown disconnected with the error of its hint", async () => {
    await stop("s3");
    const s = await until((x) => byNick(x, "s3")?.connection.state === "disconnected", "s3 disconnected");
    expect(byNick(s, "s3")!.connection.errors).toEqual([
      expect.objectContaining({ hint: expect.stringMatching(/^tcp:127\.0\.0\.1:\d+$/) }),
    ]);
    expect(byNick(s, "s1")!.connection.state).toBe("connected");
  });

  it("refuses forged, replayed, oversized and malformed announcements, and counts them on its status page", async () => {
    const key = generateNodeKey();
    const fields = { "service-name": "storage", nickname: "mallory", seqnum: 5, nonce: "n" };
    const good = signAnnouncement(fields, key);
    const publish = (ann: unknown) => introducerCall("POST", "/v1/publish", JSON.stringify({ ann }));
    expect((await publish(good)).status).toBe(200);
    const forged = [good[0].replace("mallory", "alice"), good[1], good[2]];
    expect((await publish(forged)).status).toBe(403);
    expect((await publish(signAnnouncement({ ...fields, seqnum: 4 }, key))).status).toBe(409);
    const big = signAnnouncement({ ...fields, seqnum: 6, padding: "x".repeat(20_000) }, key);
    expect((await publish(big)).status).toBe(413);
    expect((await publish(["not", "an announcement"])).status).toBe(400);
    const status = JSON.parse((await introducerCall("GET", "/?t=json")).body);
    expect(status.refused).toEqual({
      TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE: 1,
      TAHOE_ERR_INTRODUCER_REPLAY: 1,
      TAHOE_ERR_ANNOUNCEMENT_TOO_LARGE: 1,
      TAHOE_ERR_ANNOUNCEMENT_MALFORMED: 1,
    });
    expect(status.subscribers.map((s: { nickname: string }) => s.nickname).sort()).toEqual([
      "client",
      "s1",
      "s2",
    ]);
  });

  it("keeps working from what it knows while the introducer is down, then resyncs", async () => {
    await stop("intro");
    const down = await until((x) => x.introducers[0]!.state !== "connected", "the introducer lost");
    expect(byNick(down, "s1")!.connection.state).toBe("connected");
    expect(down.servers.map((v) => v.nickname).sort()).toEqual(["mallory", "s1", "s2", "s3"]);
    await start("intro");
    await until(
      (x) => x.introducers[0]!.state === "connected" && x.introducers[0]!.synced,
      "the resync",
      20_000,
    );
  }, 60_000);

  it("a client restarted while the introducer is down starts from its cache", async () => {
    await stop("client");
    await stop("intro");
    const restartedAt = Date.now();
    await start("client");
    const s = await until(
      (x) =>
        x.writtenAt >= restartedAt &&
        x.servers.length >= 3 &&
        byNick(x, "s1")?.connection.state === "connected",
      "servers from the cache",
    );
    expect(byNick(s, "s1")!.learnedFrom).toEqual([{ kind: "cache", petname: "default" }]);
    expect(s.introducers[0]!.state).not.toBe("connected");
    const cache = await readFile(join(dirs.client!, "private/introducer_default_cache.yaml"), "utf8");
    expect(cache).toContain("sig: v0-");
  }, 60_000);
});
