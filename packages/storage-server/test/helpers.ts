import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createTlsIdentity, spkiHashOfCertificate, type TlsIdentity } from "@lafs/crypto";
import { decode, encode } from "cbor2";
import {
  authorizationValue,
  createStorageServer,
  type StorageServer,
  type StorageServerOptions,
} from "../src/index.js";

let identity: TlsIdentity | undefined;
/** One certificate for the whole suite: key generation is the slow part. */
export function testIdentity(): TlsIdentity {
  identity ??= createTlsIdentity();
  return identity;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The whole answer: status, headers and body, once the body has ended. */
export function collectResponse(res: IncomingMessage): Promise<Response> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () =>
      resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
    );
    res.on("error", reject);
  });
}

export interface TestServer {
  server: StorageServer;
  dir: string;
  storageDir: string;
  port: number;
  swissnum: string;
  agent: https.Agent;
  clock: { now: number };
  request(
    method: string,
    path: string,
    options?: { headers?: Record<string, string | string[]>; body?: Uint8Array; auth?: boolean },
  ): Promise<Response>;
  raw(text: string | Buffer): Promise<Response>;
  close(): Promise<void>;
  restart(overrides?: Partial<StorageServerOptions>): Promise<void>;
}

export const NODE_ID = Buffer.alloc(20, 7);

/** One HTTPS request to a storage server on 127.0.0.1:port, with its Authorization unless `auth` is false. */
export function requestOn(
  port: number,
  agent: https.Agent,
  swissnum: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string | string[]>; body?: Uint8Array; auth?: boolean } = {},
): Promise<Response> {
  const headers: Record<string, string | string[]> = { ...(options.headers ?? {}) };
  if (options.auth !== false && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization")) {
    headers.Authorization = authorizationValue(swissnum);
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port, method, path, headers, agent, servername: "" },
      (res) => collectResponse(res).then(resolve, reject),
    );
    req.on("error", reject);
    req.end(options.body === undefined ? undefined : Buffer.from(options.body));
  });
}

export async function startTestServer(
  overrides: Partial<StorageServerOptions> = {},
  dir?: string,
): Promise<TestServer> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), "lafs-storage-")));
  const storageDir = join(root, "storage");
  const swissnum = overrides.swissnum ?? "fwkpsxr6dvrc5pg5fvqvy23gqbut2su2";
  const clock = { now: Date.now() };
  const id = testIdentity();
  const make = (o: Partial<StorageServerOptions>) =>
    createStorageServer({
      storageDir,
      swissnum,
      writeEnablerNodeId: NODE_ID,
      applicationVersion: "lafs-ts/test",
      now: () => clock.now,
      ...o,
      tls: { keyPem: id.keyPem, certPem: id.certPem },
      listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
    });
  let server = make(overrides);
  await server.start();
  let agent = pinnedAgent(id.spkiHash);
  const t: TestServer = {
    server,
    dir: root,
    storageDir,
    get port() {
      return server.addresses()[0]!.port;
    },
    swissnum,
    get agent() {
      return agent;
    },
    clock,
    request(method, path, options = {}) {
      return requestOn(t.port, agent, swissnum, method, path, options);
    },
    raw(text) {
      return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port: t.port, rejectUnauthorized: false }, () => {
          socket.end(typeof text === "string" ? Buffer.from(text, "latin1") : text);
        });
        const chunks: Buffer[] = [];
        socket.on("data", (c: Buffer) => chunks.push(c));
        socket.on("error", reject);
        socket.on("close", () => {
          const all = Buffer.concat(chunks);
          const m = /^HTTP\/1\.1 (\d{3})/.exec(all.toString("latin1"));
          resolve({ status: m ? Number(m[1]) : 0, headers: {}, body: all });
        });
      });
    },
    async close() {
      agent.destroy();
      await server.stop();
      if (dir === undefined) await rm(root, { recursive: true, force: true });
    },
    async restart(o = {}) {
      agent.destroy();
      await server.stop();
      server = make({ ...overrides, ...o });
      t.server = server;
      await server.start();
      agent = pinnedAgent(id.spkiHash);
    },
  };
  return t;
}

/** A keep-alive agent that accepts only a server whose certificate has this SPKI pin, as Tahoe clients do. */
export function pinnedAgent(spkiHash: string): https.Agent {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });
  const createConnection = agent.createConnection.bind(agent);
  // biome-ignore lint/suspicious/noExplicitAny: Agent.createConnection's typing is loose in @types/node
  (agent as any).createConnection = (options: any, callback: any) => {
    const socket = createConnection(options, callback) as tls.TLSSocket;
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      // An empty object means the socket closed during the handshake; nothing to pin.
      if (cert.raw === undefined) return;
      if (spkiHashOfCertificate(cert.raw) !== spkiHash) socket.destroy(new Error("SPKI pin mismatch"));
    });
    return socket;
  };
  return agent;
}

/** cbor2 encodes a Node Buffer as an object; test values use Buffers freely, so make them byte strings. */
function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [plain(k), plain(v)]));
  if (value instanceof Set) return new Set([...value].map(plain));
  if (Array.isArray(value)) return value.map(plain);
  return value;
}
export const cbor = (value: unknown) => encode(plain(value));
export const uncbor = (bytes: Uint8Array) => decode(bytes, { preferMap: true });

export function secretHeader(kind: string, value: Uint8Array): string {
  return `${kind} ${Buffer.from(value).toString("base64")}`;
}

export const CBOR_HEADERS = { Accept: "application/cbor", "Content-Type": "application/cbor" };

/** Every file under `dir` with its size and mtime, for "nothing else was written" checks. */
export async function snapshot(
  dir: string,
  skip: (path: string) => boolean = () => false,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string) {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(d, name);
      if (skip(path)) continue;
      const s = await stat(path);
      if (s.isDirectory()) {
        out.set(`${path}/`, "dir");
        await walk(path);
      } else out.set(path, `${s.size}:${s.mtimeMs}`);
    }
  }
  await walk(dir);
  return out;
}
