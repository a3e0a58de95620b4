import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tahoe, tahoeOk } from "../support/local-grid.js";

/**
 * Issue 15 (defects 7, 10, 12) against a real `tahoe run` client node: a client killed during a
 * 100 MiB PUT /uri leaves its spool until the node restarts, and then it is gone; a client that
 * disconnects takes its spool with it at once; hostile requests get 4xx pages in our format, and
 * none of it is logged at ERROR.
 */

const TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");
const MiB = 1024 * 1024;

let root: string;
let basedir: string;
let child: ChildProcess | undefined;
let output = "";

async function startNode(): Promise<void> {
  const started = spawn(process.execPath, [TAHOE, "run", "--allow-stdin-close", basedir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = started;
  let mine = "";
  const record = (chunk: Buffer) => {
    mine += chunk.toString();
    output += chunk.toString();
  };
  started.stdout!.on("data", record);
  started.stderr!.on("data", record);
  await new Promise<void>((resolve, reject) => {
    started.stdout!.on("data", () => {
      if (mine.includes("node running")) resolve();
    });
    started.once("exit", (code) => reject(new Error(`tahoe run exited with ${code}: ${mine}`)));
  });
}

async function stopNode(signal: NodeJS.Signals): Promise<void> {
  const running = child;
  child = undefined;
  if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
  const exited = new Promise((resolve) => running.once("exit", resolve));
  running.kill(signal);
  await exited;
}

async function port(): Promise<number> {
  return Number(new URL((await readFile(join(basedir, "node.url"), "utf8")).trim()).port);
}

async function spools(): Promise<{ name: string; size: number }[]> {
  const dir = join(basedir, "tmp");
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: { name: string; size: number }[] = [];
  for (const name of names.filter((n) => n.startsWith("lafs-"))) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info !== undefined) out.push({ name, size: info.size });
  }
  return out;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a 100 MiB PUT /uri and sends `bytes` of it, then leaves the socket open. */
async function partialPut(bytes: number): Promise<Socket> {
  const socket = connect(await port(), "127.0.0.1");
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(`PUT /uri HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${100 * MiB}\r\n\r\n`);
  const piece = Buffer.alloc(MiB, 7);
  for (let sent = 0; sent < bytes; sent += MiB) {
    if (!socket.write(piece)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  return socket;
}

/** One raw request, read until the server closes (every request here says Connection: close). */
function raw(data: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    void port().then((p) => {
      const socket = connect(p, "127.0.0.1");
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString("latin1");
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
        if (Number.isNaN(status)) reject(new Error(`no answer to ${data.slice(0, 80)}: ${text}`));
        else resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
      });
      // Not end(): a client that half-closes has gone as far as Node's HTTP server is concerned.
      socket.write(data);
    }, reject);
  });
}

async function logEvents(level: string): Promise<{ level: number; msg: string; [k: string]: unknown }[]> {
  const result = await tahoeOk(["-d", basedir, "logs", "--json", `--level=${level}`]);
  return result
    .toString()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lafs-web-hostile-"));
  basedir = join(root, "client");
  await tahoeOk(["create-client", "--nickname=hostile", "--webport=tcp:0:interface=127.0.0.1", basedir]);
  await startNode();
}, 30_000);

afterAll(async () => {
  await stopNode("SIGTERM");
  await rm(root, { recursive: true, force: true });
});

describe("a real tahoe run node", () => {
  it("removes at start the spool a SIGKILLed node left mid-PUT, and logs the bytes reclaimed", async () => {
    const socket = await partialPut(40 * MiB);
    const pid = child!.pid!;
    const left = await waitFor("a 30 MiB spool", async () => {
      const found = (await spools()).find((s) => s.size >= 30 * MiB);
      return found;
    });
    expect(left.name).toMatch(new RegExp(`^lafs-upload-${pid}-\\d+-[0-9a-f]{16}$`));
    await stopNode("SIGKILL");
    socket.destroy();
    // The defect: nothing removes it while the node is down.
    const after = await spools();
    expect(after.map((s) => s.name)).toEqual([left.name]);
    const size = after[0]!.size;

    await startNode();
    expect(await spools()).toEqual([]);
    const reclaimed = (await logEvents("info")).find((e) => /bytes reclaimed/.test(e.msg));
    expect(reclaimed?.msg).toContain(`${size} bytes reclaimed`);
    expect(reclaimed).toMatchObject({ files: 1, bytes: size });
  }, 90_000);

  it("removes the spool at once when the client disconnects mid-PUT, logging INFO, not ERROR", async () => {
    const socket = await partialPut(8 * MiB);
    await waitFor("a spool", async () => ((await spools()).length > 0 ? true : undefined));
    const disconnectedAt = Date.now();
    socket.destroy();
    await waitFor("the spool to go", async () => ((await spools()).length === 0 ? true : undefined), 5_000);
    expect(Date.now() - disconnectedAt).toBeLessThan(5_000);
    const infos = await waitFor("the disconnect's INFO line", async () => {
      const events = await logEvents("info");
      return events.some((e) => /disconnected/.test(e.msg)) ? events : undefined;
    });
    expect(infos.filter((e) => e.level >= 50)).toEqual([]);
  }, 60_000);

  it("answers hostile requests with 4xx pages in our format, stays up, and logs no ERROR", async () => {
    const form = (boundary: string, body: string, path = "/uri?t=upload") =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const long = "q".repeat(300);
    const fileForm = (b: string) =>
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nhello hostile\r\n--${b}--\r\n`;
    const cases: [string, string, number, string][] = [
      ["boundary over 256", form(long, fileForm(long)), 400, "TAHOE_ERR_WEB_BAD_FORM"],
      ["form cut short", form("XyZ", fileForm("XyZ").slice(0, -16)), 400, "TAHOE_ERR_WEB_BAD_FORM"],
      ["no boundary", form("", "abc").replace("; boundary=", ""), 400, "TAHOE_ERR_WEB_BAD_FORM"],
      [
        "PUT t=mkdir with no servers",
        "PUT /uri?t=mkdir HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        // Directories are served now: with no storage server connected, the new directory cannot be placed.
        503,
        "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SERVERS",
      ],
      [
        "unknown t",
        "PUT /uri?t=rename HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        400,
        "TAHOE_ERR_WEB_BAD_REQUEST",
      ],
      [
        "huge header",
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`,
        431,
        "TAHOE_ERR_WEB_HEADERS_TOO_LARGE",
      ],
      ["not HTTP", "HELLO THERE\r\n\r\n", 400, "TAHOE_ERR_WEB_BAD_REQUEST"],
      [
        "bad cap",
        "GET /uri/URI:CHK:nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        400,
        "TAHOE_ERR_WEB_BAD_CAP",
      ],
      [
        "cap path over 4096",
        `GET /uri/URI:CHK:${"a".repeat(5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        414,
        "TAHOE_ERR_WEB_URL_TOO_LONG",
      ],
    ];
    for (const [name, data, status, code] of cases) {
      const answer = await raw(data);
      expect({ name, status: answer.status }).toEqual({ name, status });
      expect(answer.body, name).toMatch(new RegExp(`^Error ${status}: ${code}\\n`));
      const health = await fetch(`http://127.0.0.1:${await port()}/?t=json`);
      expect(health.status).toBe(200);
    }
    expect(await logEvents("error")).toEqual([]);
    expect(await spools()).toEqual([]);
    expect(child?.exitCode).toBeNull();
    const status = await tahoe(["-d", basedir, "status"]);
    expect(status.code).toBe(0);
  }, 60_000);
});
