import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** ../shared/tools/tornet/tornet.sh beside the checkout. */
export const TORNET_SCRIPT = join(import.meta.dirname, "../../../../shared/tools/tornet/tornet.sh");

function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

/** Tests that need a real tor skip with this message when it is missing (.ci/run installs it). */
export function missingTor(): string | undefined {
  if (which("tor") === undefined || which("tor-gencert") === undefined) {
    const message =
      "SKIPPING real-tor tests: 'tor' / 'tor-gencert' not on PATH (apt-get install tor; .ci/run does)";
    console.warn(`\n${"!".repeat(message.length)}\n${message}\n${"!".repeat(message.length)}\n`);
    return message;
  }
  return undefined;
}

export function missingI2pd(): string | undefined {
  if (which("i2pd") === undefined) {
    const message = "SKIPPING real-i2pd tests: 'i2pd' not on PATH (apt-get install i2pd; .ci/run does)";
    console.warn(`\n${"!".repeat(message.length)}\n${message}\n${"!".repeat(message.length)}\n`);
    return message;
  }
  return undefined;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A base port with `count` free ports after it, in a range the kernel does not hand out for port 0. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 127) * 100;
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export interface Tornet {
  readonly dir: string;
  readonly socksPort: number;
  readonly clientControlPort: number;
  readonly hsControlPort: number;
  /** DirAuthority lines and TestingTorNetwork 1: what a launched tor needs to join this network. */
  readonly torrcLines: string[];
  stop(): Promise<void>;
}

/** Starts ../shared/tools/tornet (a private Tor network on 127.0.0.1; 10-45 s). */
export async function startTornet(): Promise<Tornet> {
  const dir = mkdtempSync(join(tmpdir(), "lafs-tornet-"));
  const base = await freePortRange(100);
  const env = {
    ...process.env,
    TORNET_DIR: dir,
    TORNET_BASE_PORT: String(base),
    TORNET_OWNER_PID: String(process.pid),
  };
  const stop = async () => {
    await run("bash", [TORNET_SCRIPT, "stop"], { env }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run("bash", [TORNET_SCRIPT, "start"], { env, timeout: 240_000 });
  } catch (error) {
    await stop();
    throw error;
  }
  const authorities = readFileSync(join(dir, "authorities.torrc"), "utf8").split("\n").filter(Boolean);
  return {
    dir,
    socksPort: base + 63,
    clientControlPort: base + 62,
    hsControlPort: base + 72,
    torrcLines: [
      ...authorities,
      "TestingTorNetwork 1",
      "ClientUseIPv6 0",
      "UseMicrodescriptors 0",
      "PathsNeededToBuildCircuits 0.67",
    ],
    stop,
  };
}

/** A TCP echo server on 127.0.0.1 (port 0). */
export async function startEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * One SOCKS5 round trip through Tor (hostname sent to Tor, never resolved here): sends a line,
 * expects it echoed. Returns the SOCKS reply code on failure so callers can retry 0xF0-0xF7.
 */
export function socksEcho(
  socksPort: number,
  host: string,
  port: number,
  timeoutMs = 30_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const msg = Buffer.from(`lafs-${Date.now()}\n`);
    const s = connect(socksPort, "127.0.0.1");
    let stage = 0;
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => fail(`timeout at stage ${stage}`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      s.destroy();
      reject(new Error(why));
    };
    s.on("error", (e) => fail(e.message));
    s.on("connect", () => s.write(Buffer.from([5, 1, 0])));
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 2) {
        if (buf[1] !== 0) return fail(`socks auth method ${buf[1]}`);
        buf = buf.subarray(2);
        stage = 1;
        const h = Buffer.from(host);
        const p = Buffer.alloc(2);
        p.writeUInt16BE(port);
        s.write(Buffer.concat([Buffer.from([5, 1, 0, 3, h.length]), h, p]));
      }
      if (stage === 1 && buf.length >= 10) {
        if (buf[1] !== 0) return fail(`socks reply 0x${buf[1]?.toString(16)}`);
        buf = buf.subarray(10);
        stage = 2;
        s.write(msg);
      }
      if (stage === 2 && buf.length >= msg.length) {
        clearTimeout(timer);
        s.destroy();
        if (buf.subarray(0, msg.length).equals(msg)) resolve("echoed");
        else reject(new Error("echo mismatch"));
      }
    });
  });
}

/** Retries socksEcho until it works (a fresh onion refuses until its descriptor is up). */
export async function socksEchoRetry(
  socksPort: number,
  host: string,
  port: number,
  totalMs: number,
): Promise<string> {
  const deadline = Date.now() + totalMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await socksEcho(socksPort, host, port, Math.min(30_000, Math.max(1000, deadline - Date.now())));
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw last;
}
