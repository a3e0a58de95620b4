import { createHash } from "node:crypto";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { loadTahoeCfgText, type TahoeConfig } from "@lafs/config";

/** A tahoe.cfg loaded the real way, so defaults and line numbers are what a node would see. */
export function configOf(text: string): TahoeConfig {
  const result = loadTahoeCfgText(text, { file: "tahoe.cfg" });
  if (!result.config) throw new Error(`test config refused: ${JSON.stringify(result.errors)}`);
  return result.config;
}

export interface Listening {
  server: Server;
  host: string;
  port: number;
  close(): Promise<void>;
}

export function listen(server: Server, host = "127.0.0.1"): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        host,
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A listener that must never be reached: it counts every connection it gets. */
export async function sentinel(host: string): Promise<Listening & { connections: () => number }> {
  let count = 0;
  const l = await listen(
    createServer((s) => {
      count++;
      s.destroy();
    }),
    host,
  );
  return { ...l, connections: () => count };
}

/** An echo server: proves bytes flow both ways through whatever connected to it. */
export function echoServer(host = "127.0.0.1"): Promise<Listening> {
  return listen(
    createServer((s) => s.pipe(s)),
    host,
  );
}

export interface SocksRequest {
  atyp: number;
  host: string;
  port: number;
}

export interface FakeSocksOptions {
  /** Replaces the method-selection answer (default: the client's choice, 0x02 if offered, else 0x00). */
  greeting?: Buffer;
  /** The RFC 1929 status byte after a username/password (default 0, accepted). */
  authStatus?: number;
  /** Bytes written in the same write as a success reply, as a server that speaks first would. */
  afterReply?: Buffer;
}

/**
 * A SOCKS5 server that records each greeting's methods, each RFC 1929 username/password and each
 * CONNECT, and answers the CONNECT with `reply(request)`. On success it does not dial anything: it
 * becomes an echo of the client's bytes, standing in for the target.
 */
export async function fakeSocks(
  reply: (req: SocksRequest) => number = () => 0,
  options: FakeSocksOptions | Buffer = {},
): Promise<
  Listening & {
    requests: SocksRequest[];
    methods: number[][];
    auths: { username: string; password: string }[];
  }
> {
  const opts: FakeSocksOptions = Buffer.isBuffer(options) ? { greeting: options } : options;
  const requests: SocksRequest[] = [];
  const methods: number[][] = [];
  const auths: { username: string; password: string }[] = [];
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let stage: "greeting" | "auth" | "request" | "done" = "greeting";
    socket.on("error", () => {});
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === "greeting" && buf.length >= 2 && buf.length >= 2 + buf[1]!) {
        const offered = [...buf.subarray(2, 2 + buf[1]!)];
        methods.push(offered);
        buf = buf.subarray(2 + buf[1]!);
        const greeting = opts.greeting ?? Buffer.of(5, offered.includes(2) ? 2 : 0);
        stage = greeting[1] === 2 ? "auth" : "request";
        socket.write(greeting);
      }
      if (stage === "auth" && buf.length >= 2) {
        const ulen = buf[1]!;
        if (buf.length < 2 + ulen + 1) return;
        const plen = buf[2 + ulen]!;
        if (buf.length < 3 + ulen + plen) return;
        auths.push({
          username: buf.subarray(2, 2 + ulen).toString("utf8"),
          password: buf.subarray(3 + ulen, 3 + ulen + plen).toString("utf8"),
        });
        buf = buf.subarray(3 + ulen + plen);
        const status = opts.authStatus ?? 0;
        socket.write(Buffer.of(1, status));
        if (status !== 0) {
          socket.end();
          stage = "done";
          return;
        }
        stage = "request";
      }
      if (stage === "request" && buf.length >= 5) {
        const atyp = buf[3]!;
        const len = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buf[4]!;
        if (buf.length < 4 + len + 2) return;
        const addr = buf.subarray(4, 4 + len);
        const host =
          atyp === 1
            ? [...addr].join(".")
            : atyp === 4
              ? addr.toString("hex").replace(/(.{4})(?!$)/g, "$1:")
              : addr.subarray(1).toString("ascii");
        const port = buf.readUInt16BE(4 + len);
        const rest = buf.subarray(4 + len + 2);
        const req = { atyp, host, port };
        requests.push(req);
        const code = reply(req);
        const head = Buffer.of(5, code, 0, 1, 127, 0, 0, 1, 0, 0);
        stage = "done";
        if (code !== 0) {
          socket.end(head);
          return;
        }
        socket.write(opts.afterReply ? Buffer.concat([head, opts.afterReply]) : head);
        socket.off("data", onData);
        if (rest.length > 0) socket.write(rest);
        socket.pipe(socket);
      }
    };
    socket.on("data", onData);
  });
  const l = await listen(server);
  return { ...l, requests, methods, auths };
}

export interface SamScript {
  /** Reply lines per command word pair, e.g. "SESSION CREATE" -> "SESSION STATUS RESULT=OK DESTINATION=xyz". */
  [command: string]: string | ((line: string) => string);
}

/**
 * A SAM bridge that records every line received and answers from the script. After a
 * successful STREAM CONNECT the socket echoes, standing in for the I2P peer.
 */
export async function fakeSam(
  script: SamScript = {},
  options: { pingAfterSession?: boolean } = {},
): Promise<Listening & { lines: string[] }> {
  const lines: string[] = [];
  const defaults: SamScript = {
    "HELLO VERSION": "HELLO REPLY RESULT=OK VERSION=3.3",
    "DEST GENERATE": "DEST REPLY PUB=pubkey~ PRIV=privkey~",
    "SESSION CREATE": "SESSION STATUS RESULT=OK DESTINATION=sessionpriv~",
    "STREAM CONNECT": "STREAM STATUS RESULT=OK",
  };
  const server = createServer((socket) => {
    let pending = "";
    socket.on("error", () => {});
    const onData = (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        lines.push(line);
        const command = line.split(" ").slice(0, 2).join(" ");
        const answer = script[command] ?? defaults[command] ?? "UNKNOWN";
        const text = typeof answer === "function" ? answer(line) : answer;
        socket.write(`${text}\n`);
        if (command === "SESSION CREATE" && options.pingAfterSession) socket.write("PING 1234\n");
        if (command === "STREAM CONNECT" && text.includes("RESULT=OK")) {
          socket.off("data", onData);
          if (pending.length > 0) socket.write(pending);
          socket.pipe(socket);
          return;
        }
      }
    };
    socket.on("data", onData);
  });
  const l = await listen(server);
  return { ...l, lines };
}

/** Writes `text` and waits for the same bytes to come back. */
export function roundTrip(socket: NodeJS.ReadWriteStream, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (chunk: Buffer) => {
      got += chunk.toString("utf8");
      if (got.length >= text.length) {
        socket.off("data", onData);
        resolve(got);
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(text);
  });
}

const B32 = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** A v3 onion address with a valid checksum, derived from `seed` (no key behind it). */
export function onionOf(seed: number): string {
  const pubkey = createHash("sha256").update(`onion ${seed}`).digest();
  const checksum = createHash("sha3-256")
    .update(".onion checksum")
    .update(pubkey)
    .update(Uint8Array.of(3))
    .digest()
    .subarray(0, 2);
  return `${base32(Buffer.concat([pubkey, checksum, Buffer.of(3)]))}.onion`;
}

/** A syntactically valid .b32.i2p address derived from `seed`. */
export function i2pOf(seed: number): string {
  return `${base32(createHash("sha256").update(`i2p ${seed}`).digest())}.b32.i2p`;
}
