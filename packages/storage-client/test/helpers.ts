import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { createTlsIdentity, type TlsIdentity } from "@lafs/crypto";
import { encode as encodeCbor } from "cbor2";
import { isStorageClientError, type StorageClientErrorCode } from "../src/index.js";
import type { CborValue } from "../src/messages.js";

export interface Seen {
  method: string;
  url: string;
  /** [name, value] pairs as sent, names lower-cased, repeats kept in order. */
  headers: [string, string][];
  body: Buffer;
}

export interface FakeServer {
  nurl: string;
  port: number;
  identity: TlsIdentity;
  seen: Seen[];
  /** SNI names the server saw at each TLS handshake (false when none was sent). */
  servernames: (string | false)[];
  /** TCP connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

export type Handler = (req: Seen, res: ServerResponse) => void | Promise<void>;

export const SWISSNUM = "fwkpsxr6dvrc5pg5fvqvy23gqbut2su2";

let cached: TlsIdentity | undefined;
/** One identity for the whole file: key generation is the slow part of each server. */
export function sharedIdentity(): TlsIdentity {
  cached ??= createTlsIdentity({ commonName: "fake-storage" });
  return cached;
}

/** A minimal HTTPS server standing in for a GBS server; records every request it gets. */
export async function startFakeServer(handler: Handler, identity = sharedIdentity()): Promise<FakeServer> {
  const seen: Seen[] = [];
  const servernames: (string | false)[] = [];
  const server: Server = createServer({ key: identity.keyPem, cert: identity.certPem }, (req, res) => {
    void collect(req).then(async (body) => {
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
      }
      const record = { method: req.method ?? "", url: req.url ?? "", headers, body };
      seen.push(record);
      await handler(record, res);
    });
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    servernames.push((socket as TLSSocket & { servername: string | false }).servername);
  });
  let connections = 0;
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    nurl: `pb://${identity.spkiHash}@127.0.0.1:${port}/${SWISSNUM}#v=1`,
    port,
    identity,
    seen,
    servernames,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

function collect(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function headerValues(seen: Seen, name: string): string[] {
  return seen.headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** Awaits a promise that must reject with a StorageClientError of `code`, and returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: StorageClientErrorCode) {
  try {
    await promise;
  } catch (err) {
    if (isStorageClientError(err, code)) return err;
    throw new Error(`expected ${code}, got ${String(err)}`, { cause: err });
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/** Awaits a promise that must reject, and returns what it rejected with. */
export async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

/** A GET /version answer as Tahoe-LAFS 1.20 sends it, with `available` bytes of room. */
export function versionBody(available: number): Uint8Array {
  const b = (s: string) => new Uint8Array(Buffer.from(s));
  return encodeCbor(
    new Map<CborValue, CborValue>([
      [
        b("http://allmydata.org/tahoe/protocols/storage/v1"),
        new Map<CborValue, CborValue>([
          [b("maximum-immutable-share-size"), available],
          [b("maximum-mutable-share-size"), 69105000000000000n],
          [b("available-space"), available],
        ]),
      ],
      [b("application-version"), b("tahoe-lafs/1.20.0")],
    ]),
  );
}

export function reply(res: ServerResponse, status: number, body?: Uint8Array | string, type?: string): void {
  if (type) res.setHeader("content-type", type);
  res.statusCode = status;
  res.end(body);
}
