import { type ChildProcess, execFile, spawn } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { createTlsIdentity } from "@lafs/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * DESIGN.md §5 / issue 6 item 3: with reveal-IP-address = false no code path opens a socket to
 * anything but the Tor daemon on loopback. A real `tahoe run` process (a client made with
 * `create-client --hide-ip`) is pointed at an introducer and static servers whose hints lead
 * to sentinel listeners; a preloaded tripwire logs every socket connect and DNS name lookup of the
 * process. The sentinels must see nothing, every connect must go to the (fake) SOCKS port,
 * and the SOCKS server must have been asked for exactly those hosts: the node did try, via Tor.
 */

const TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");
const TRIPWIRE = pathToFileURL(join(import.meta.dirname, "tripwire.mjs")).href;
const run = promisify(execFile);

interface Sentinel {
  server: Server;
  host: string;
  port: number;
  connections: number;
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}

async function sentinel(host: string): Promise<Sentinel> {
  const s: Sentinel = { server: createServer(), host, port: 0, connections: 0 };
  s.server.on("connection", (socket: Socket) => {
    s.connections++;
    socket.destroy();
  });
  s.port = await listen(s.server, host);
  return s;
}

/** A SOCKS5 server that records each CONNECT target and refuses it (reply 0x05). */
async function fakeSocks(requests: string[]): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let greeted = false;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!greeted) {
        if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return;
        buffer = buffer.subarray(2 + buffer[1]!);
        greeted = true;
        socket.write(Buffer.from([5, 0]));
      }
      if (buffer.length < 5) return;
      const atyp = buffer[3]!;
      let host: string;
      let end: number;
      if (atyp === 1) {
        end = 4 + 4;
        host = [...buffer.subarray(4, end)].join(".");
      } else if (atyp === 3) {
        end = 5 + buffer[4]!;
        host = buffer.subarray(5, end).toString("latin1");
      } else {
        end = 4 + 16;
        host = buffer.subarray(4, end).toString("hex");
      }
      if (buffer.length < end + 2) return;
      requests.push(`${host}:${buffer.readUInt16BE(end)}`);
      socket.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
    });
  });
  return { server, port: await listen(server, "127.0.0.1") };
}

let root: string;
let child: ChildProcess | undefined;
const sentinels: Sentinel[] = [];
const socksRequests: string[] = [];
let socks: { server: Server; port: number };
let tripwireLog: string;
let output = "";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lafs-privacy-"));
  tripwireLog = join(root, "tripwire.jsonl");
  await writeFile(tripwireLog, "");
  for (const host of ["127.0.0.2", "127.0.0.3", "127.0.0.4"]) sentinels.push(await sentinel(host));
  socks = await fakeSocks(socksRequests);
  const [introducer, byIp, byName] = sentinels as [Sentinel, Sentinel, Sentinel];
  const pin = createTlsIdentity().spkiHash;
  const basedir = join(root, "client");
  await run(process.execPath, [
    TAHOE,
    "create-client",
    "--hide-ip",
    // Test files run in parallel: the default web port 3456 would be shared.
    "--webport=none",
    `--introducer=pb://${pin}@${introducer.host}:${introducer.port}/introducerswissnum#v=1`,
    basedir,
  ]);
  await appendFile(join(basedir, "tahoe.cfg"), `\n[tor]\nsocks.port = tcp:127.0.0.1:${socks.port}\n`);
  // Two static servers: one reached by IP literal, one by a name that only DNS could resolve
  // (to 127.0.0.4 in no real resolver: .invalid never resolves), so a local lookup would show.
  const server = (id: string, location: string) =>
    `  ${id}:\n    ann:\n      nickname: sentinel\n      anonymous-storage-NURLs:\n        - pb://${pin}@${location}/swissnum#v=1\n`;
  await writeFile(
    join(basedir, "private/servers.yaml"),
    "storage:\n" +
      server("v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", `${byIp.host}:${byIp.port}`) +
      server("v0-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbq", `sentinel.invalid:${byName.port}`),
  );

  child = spawn(process.execPath, [TAHOE, "run", "--allow-stdin-close", basedir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: `--import=${TRIPWIRE}`, TRIPWIRE_LOG: tripwireLog },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("node running")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child!.stdout!.on("data", onData);
    child!.stderr!.on("data", onData);
    child!.once("exit", (code) => reject(new Error(`node exited with ${code}:\n${output}`)));
  });
  // The server list probes every second and the introducer client reconnects with backoff:
  // wait until Tor has been asked for every host, or a generous limit.
  const deadline = Date.now() + 15_000;
  const wanted = [introducer.host, byIp.host, "sentinel.invalid"];
  while (Date.now() < deadline && !wanted.every((h) => socksRequests.some((r) => r.startsWith(`${h}:`)))) {
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGTERM");
  await new Promise((resolve) => child!.once("exit", resolve));
  child = undefined;
}, 60_000);

afterAll(async () => {
  child?.kill("SIGKILL");
  for (const s of sentinels) s.server.close();
  socks?.server.close();
  await rm(root, { recursive: true, force: true });
});

describe("a node with reveal-IP-address = false", () => {
  it("tries every introducer and server through Tor, sending host names to Tor", () => {
    const [introducer, byIp, byName] = sentinels as [Sentinel, Sentinel, Sentinel];
    expect(socksRequests).toContain(`${introducer.host}:${introducer.port}`);
    expect(socksRequests).toContain(`${byIp.host}:${byIp.port}`);
    expect(socksRequests).toContain(`sentinel.invalid:${byName.port}`);
  });

  it("opens no connection to the sentinels", () => {
    expect(sentinels.map((s) => s.connections)).toEqual([0, 0, 0]);
  });

  it("connects to nothing but the Tor SOCKS port and looks up no name", async () => {
    const entries = (await readFile(tripwireLog, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { kind: string; host?: string; port?: number; path?: string });
    expect(entries.filter((e) => e.kind === "dns")).toEqual([]);
    const connects = entries.filter((e) => e.kind === "connect");
    expect(connects.length).toBeGreaterThan(0);
    for (const c of connects) expect(c).toMatchObject({ host: "127.0.0.1", port: socks.port });
  });
});
