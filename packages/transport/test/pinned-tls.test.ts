import { once } from "node:events";
import { createServer as createNetServer, type Server as NetServer, connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from "node:tls";
import type { ConnectionHint } from "@lafs/config";
import { createTlsIdentity } from "@lafs/crypto";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ConnectFunction,
  HintsExhaustedError,
  openPinnedTls,
  PinMismatchError,
  tryHintsInOrder,
} from "../src/index.js";

const identity = createTlsIdentity({ commonName: "pinned-peer" });
const other = createTlsIdentity({ commonName: "someone-else" });
const servers: (NetServer | TlsServer)[] = [];
const openSockets = new Set<Duplex>();
/** Starts `server` on 127.0.0.1 and remembers it and its connections for afterAll. */
async function listen(server: NetServer | TlsServer): Promise<number> {
  server.on("connection", (socket: Duplex) => {
    openSockets.add(socket);
    socket.once("close", () => openSockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return (server.address() as { port: number }).port;
}
afterAll(async () => {
  for (const socket of openSockets) socket.destroy();
  for (const s of servers) {
    s.close();
    await once(s, "close");
  }
});

const tcp = (port: number): ConnectionHint => ({ kind: "tcp", host: "127.0.0.1", port });

const dial: ConnectFunction = (hint, signal) =>
  new Promise<Duplex>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const socket = netConnect({ host: hint.host, port: hint.port! });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });

interface Peer {
  port: number;
  /** Bytes the peer received after its TLS handshake, per finished handshake. */
  received: Buffer[];
  ciphers: string[];
  servernames: (string | false)[];
}

async function tlsPeer(id = identity): Promise<Peer> {
  const peer: Peer = { port: 0, received: [], ciphers: [], servernames: [] };
  const server = createTlsServer({ key: id.keyPem, cert: id.certPem }, (socket: TLSSocket) => {
    peer.ciphers.push(socket.getCipher().standardName);
    peer.servernames.push((socket as TLSSocket & { servername: string | false }).servername);
    const index = peer.received.push(Buffer.alloc(0)) - 1;
    socket.on("data", (d: Buffer) => {
      peer.received[index] = Buffer.concat([peer.received[index]!, d]);
    });
    socket.on("error", () => {});
  });
  peer.port = await listen(server);
  return peer;
}

/** A port that accepts TCP and closes at once, so TLS fails after the stream opened. */
async function closingPort(): Promise<number> {
  return listen(createNetServer((socket) => socket.destroy()));
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, "close");
  return port;
}

describe("openPinnedTls", () => {
  it("hands back the socket only when the pin holds, with no SNI and AES-128-GCM", async () => {
    const peer = await tlsPeer();
    const { socket, hint } = await openPinnedTls({
      hints: [tcp(peer.port)],
      spkiHash: identity.spkiHash,
      connect: dial,
      signal: AbortSignal.timeout(10_000),
    });
    expect(hint).toBe(`tcp:127.0.0.1:${peer.port}`);
    socket.write("hello");
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    expect(peer.received[0]!.toString()).toBe("hello");
    expect(peer.servernames).toEqual([false]);
    expect(peer.ciphers).toEqual(["TLS_AES_128_GCM_SHA256"]);
  });

  it("refuses a wrong key at once, on the first hint, having sent nothing", async () => {
    const wrong = await tlsPeer(other);
    const right = await tlsPeer();
    const err = await openPinnedTls({
      hints: [tcp(wrong.port), tcp(right.port)],
      spkiHash: identity.spkiHash,
      connect: dial,
      signal: AbortSignal.timeout(10_000),
      peer: "the introducer",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PinMismatchError);
    expect((err as PinMismatchError).message).toBe(
      `the introducer's certificate has SPKI hash ${other.spkiHash}, but the NURL pins ${identity.spkiHash}`,
    );
    expect((err as PinMismatchError).hint).toBe(`tcp:127.0.0.1:${wrong.port}`);
    await new Promise((r) => setTimeout(r, 100));
    // Under TLS 1.3 the peer may not even see its handshake finish; it never sees a byte.
    expect(Buffer.concat(wrong.received).length).toBe(0);
    expect(right.received).toEqual([]);
  });

  it("tries the hints in order and names every failure when none works", async () => {
    const dead = await deadPort();
    const closing = await closingPort();
    const err = await openPinnedTls({
      hints: [tcp(dead), tcp(closing)],
      spkiHash: identity.spkiHash,
      connect: dial,
      signal: AbortSignal.timeout(10_000),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HintsExhaustedError);
    const failures = (err as HintsExhaustedError).failures;
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(new RegExp(`^tcp:127\\.0\\.0\\.1:${dead}: .*ECONNREFUSED`));
    expect(failures[1]).toMatch(new RegExp(`^tcp:127\\.0\\.0\\.1:${closing}: TLS failed: `));
  });

  it("moves on to the next hint after one that fails, and reports an empty list as such", async () => {
    const dead = await deadPort();
    const peer = await tlsPeer();
    const { socket, hint } = await openPinnedTls({
      hints: [tcp(dead), tcp(peer.port)],
      spkiHash: identity.spkiHash,
      connect: dial,
      signal: AbortSignal.timeout(10_000),
    });
    socket.destroy();
    expect(hint).toBe(`tcp:127.0.0.1:${peer.port}`);
    const none = await openPinnedTls({
      hints: [],
      spkiHash: identity.spkiHash,
      connect: dial,
      signal: AbortSignal.timeout(10_000),
    }).catch((e: unknown) => e);
    expect((none as HintsExhaustedError).failures).toEqual([]);
  });

  it("ends with the signal's reason once it is aborted", async () => {
    // A listener that never answers the TLS ClientHello.
    const silentPort = await listen(createNetServer(() => {}));
    const controller = new AbortController();
    const reason = new Error("gave up");
    setTimeout(() => controller.abort(reason), 200);
    const err = await openPinnedTls({
      hints: [tcp(silentPort), tcp(1)],
      spkiHash: identity.spkiHash,
      connect: dial,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(err).toBe(reason);
  });
});

describe("tryHintsInOrder", () => {
  it("stops at a fatal failure and otherwise collects one line per hint", async () => {
    const seen: string[] = [];
    const fatal = new Error("wrong tub");
    await expect(
      tryHintsInOrder(
        [tcp(1), tcp(2), tcp(3)],
        async (_hint, shown) => {
          seen.push(shown);
          throw shown.endsWith(":2") ? fatal : new Error("refused");
        },
        { isFatal: (e) => e === fatal },
      ),
    ).rejects.toBe(fatal);
    expect(seen).toEqual(["tcp:127.0.0.1:1", "tcp:127.0.0.1:2"]);
    const err = await tryHintsInOrder([tcp(1), tcp(2)], async () => {
      throw new Error("refused");
    }).catch((e: unknown) => e as HintsExhaustedError);
    expect(err.message).toBe("tcp:127.0.0.1:1: refused; tcp:127.0.0.1:2: refused");
  });
});
