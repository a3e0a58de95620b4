import type { Duplex } from "node:stream";
import { type TLSSocket, TLSSocket as TlsSocketClass, connect as tlsConnect } from "node:tls";
import { tubIdOfCertificate } from "@lafs/crypto";
import { formatBlock, negotiationError, parseBlock, readBlock } from "./blocks.js";
import { FoolscapError } from "./errors.js";
import type { TubIdentity } from "./tub-identity.js";
import { MAX_VOCAB_TABLE_INDEX, vocabTableHash } from "./vocab.js";

/** The only Banana version foolscap 24.9 speaks. */
const BANANA_VERSION = 3;

/** A negotiated connection, ready for Banana. */
export interface Negotiated {
  socket: TLSSocket;
  peerTubId: string;
  /** Whether this side sent the decision (the higher tub id). */
  master: boolean;
  vocabIndex: number;
  /** Banana bytes that arrived with the last negotiation block. */
  leftover: Buffer;
  /** The decision's `current-connection` (incarnation and seqnum of the master). */
  currentConnection: string | undefined;
}

export interface NegotiateOptions {
  identity: TubIdentity;
  signal: AbortSignal;
  /** As master: the seqnum to put in `current-connection` for this peer (default 1). */
  nextSeqnum?: (peerTubId: string) => number;
}

export interface ConnectorOptions extends NegotiateOptions {
  targetTubId: string;
  /** The hint's host, for the GET request's Host header. */
  host: string;
  /** The `current-connection` this Tub last got from the target, or undefined for `none 0`. */
  lastConnection?: string | undefined;
}

function hello(identity: TubIdentity, lastConnection: string | null): Buffer {
  const fields: Record<string, string> = {
    "banana-negotiation-range": `${BANANA_VERSION} ${BANANA_VERSION}`,
    "initial-vocab-table-range": `0 ${MAX_VOCAB_TABLE_INDEX}`,
    "my-incarnation": identity.incarnation,
    "my-tub-id": identity.tubId,
  };
  if (lastConnection !== null) fields["last-connection"] = lastConnection;
  return formatBlock(fields);
}

/** "a b" as two integers, or undefined. */
function range(text: string | undefined): [number, number] | undefined {
  const m = text === undefined ? null : /^\s*(\d{1,6})\s+(\d{1,6})\s*$/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The peer's tub id from its TLS certificate: the only authentication Foolscap has. */
function peerCertificateTubId(socket: TLSSocket): string {
  const cert = socket.getPeerCertificate(true);
  if (!cert?.raw) {
    throw new FoolscapError(
      "TAHOE_ERR_FOOLSCAP_WRONG_TUB",
      "the peer presented no TLS certificate, so it has no tub id",
      {
        hint: "Foolscap peers must present their tub certificate",
      },
    );
  }
  return tubIdOfCertificate(cert.raw, "the peer's TLS certificate").tubId;
}

/** Checks the peer's hello and works out who decides: the side with the higher tub id. */
function checkHello(
  text: string,
  socket: TLSSocket,
  identity: TubIdentity,
  expectedTubId: string | undefined,
): { peerTubId: string; master: boolean; vocabMax: number } {
  const fields = parseBlock(text);
  const banana = range(fields.get("banana-negotiation-range"));
  if (!banana) {
    throw negotiationError(
      "the peer's hello has no banana-negotiation-range",
      "the peer runs a Foolscap too old for this node (before 0.2.0)",
    );
  }
  if (banana[0] > BANANA_VERSION || banana[1] < BANANA_VERSION) {
    throw negotiationError(
      `the peer speaks banana ${banana[0]}..${banana[1]}; this node speaks only ${BANANA_VERSION}`,
    );
  }
  const claimed = fields.get("my-tub-id") ?? "";
  const certified = peerCertificateTubId(socket);
  if (claimed !== certified) {
    throw new FoolscapError(
      "TAHOE_ERR_FOOLSCAP_WRONG_TUB",
      `the peer claims tub id '${claimed.slice(0, 40)}' but its certificate is tub '${certified}'`,
      { hint: "the peer is not who it says it is; the connection was refused" },
    );
  }
  if (expectedTubId !== undefined && certified !== expectedTubId) {
    throw new FoolscapError(
      "TAHOE_ERR_FOOLSCAP_WRONG_TUB",
      `connected to the wrong Tub: the fURL names '${expectedTubId}', the peer is '${certified}'`,
      { hint: "check the fURL: another node answers at its address" },
    );
  }
  if (certified === identity.tubId)
    throw negotiationError("the peer has this node's own tub id (connected to itself)");
  const vocab = range(fields.get("initial-vocab-table-range")) ?? [0, 0];
  const vocabMax = Math.min(vocab[1], MAX_VOCAB_TABLE_INDEX);
  if (vocab[0] > vocabMax) {
    throw negotiationError(
      `the peer needs an initial vocab table of ${vocab[0]}..${vocab[1]}; this node has 0..${MAX_VOCAB_TABLE_INDEX}`,
    );
  }
  return { peerTubId: certified, master: identity.tubId > certified, vocabMax };
}

async function decide(
  socket: TLSSocket,
  rest: Buffer,
  peer: { peerTubId: string; master: boolean; vocabMax: number },
  options: NegotiateOptions,
): Promise<Negotiated> {
  if (peer.master) {
    const seqnum = options.nextSeqnum?.(peer.peerTubId) ?? 1;
    const currentConnection = `${options.identity.incarnation} ${seqnum}`;
    socket.write(
      formatBlock({
        "banana-decision-version": String(BANANA_VERSION),
        "current-connection": currentConnection,
        "initial-vocab-table-index": `${peer.vocabMax} ${vocabTableHash(peer.vocabMax)}`,
      }),
    );
    return {
      socket,
      peerTubId: peer.peerTubId,
      master: true,
      vocabIndex: peer.vocabMax,
      leftover: rest,
      currentConnection,
    };
  }
  const block = await readBlock(socket, rest, "decision block", options.signal);
  const fields = parseBlock(block.text);
  const error = fields.get("error");
  if (error !== undefined) throw negotiationError(`the peer refused the connection: ${error.slice(0, 200)}`);
  if (fields.get("banana-decision-version") !== String(BANANA_VERSION)) {
    throw negotiationError(
      `the peer decided on banana version '${(fields.get("banana-decision-version") ?? "").slice(0, 20)}'`,
    );
  }
  const index = /^(\d+) ([0-9a-f]{4})$/.exec(fields.get("initial-vocab-table-index") ?? "0 da39");
  const vocabIndex = index ? Number(index[1]) : -1;
  if (!index || vocabIndex > peer.vocabMax || (vocabIndex > 0 && index[2] !== vocabTableHash(vocabIndex))) {
    throw negotiationError(
      `the peer chose an initial vocab table this node does not have (${fields.get("initial-vocab-table-index")})`,
    );
  }
  return {
    socket,
    peerTubId: peer.peerTubId,
    master: false,
    vocabIndex,
    leftover: block.rest,
    currentConnection: fields.get("current-connection"),
  };
}

/** Tells the peer why we give up (negotiate.py sendError), then hangs up. */
function refuse(socket: TLSSocket, err: unknown): void {
  const message = (err instanceof Error ? err.message : String(err)).replace(/[\r\n]+/g, " ").slice(0, 500);
  try {
    socket.end(formatBlock({ "banana-decision-version": "1", error: message }));
  } catch {
    // the socket is already gone: nothing to tell
  }
  socket.destroy();
}

function secureContextOptions(identity: TubIdentity) {
  // No CA, hostname or expiry check (foolscap's alwaysValidate): the tub id check is the authentication.
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    rejectUnauthorized: false,
    minVersion: "TLSv1.2" as const,
  };
}

/**
 * The connecting side: the plaintext upgrade request, TLS as client, hello, then the decision
 * (sent or received). Throws FoolscapError; the socket is destroyed on failure.
 */
export async function negotiateAsConnector(raw: Duplex, options: ConnectorOptions): Promise<Negotiated> {
  const { identity } = options;
  raw.write(
    `GET /id/${options.targetTubId} HTTP/1.1\r\nHost: ${options.host}\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n`,
  );
  let reply: Awaited<ReturnType<typeof readBlock>>;
  try {
    reply = await readBlock(raw, Buffer.alloc(0), "upgrade reply", options.signal);
  } catch (err) {
    raw.destroy();
    throw err;
  }
  const status = reply.text.split("\r\n")[0] ?? "";
  if (status.split(/\s+/)[1] !== "101" || !reply.text.includes("Upgrade: TLS/1.0")) {
    raw.destroy();
    throw negotiationError(`the peer refused the upgrade: ${JSON.stringify(status.slice(0, 200))}`);
  }
  if (reply.rest.length > 0) {
    raw.destroy();
    throw negotiationError("the peer sent bytes between its upgrade reply and TLS");
  }
  const socket = tlsConnect({ socket: raw, ...secureContextOptions(identity) });
  socket.on("error", () => {}); // reported through readBlock
  // Written before the handshake ends: TLS holds it (negotiate.py does the same).
  socket.write(hello(identity, options.lastConnection ?? "none 0"));
  try {
    const peerHello = await readBlock(socket, Buffer.alloc(0), "hello", options.signal);
    const peer = checkHello(peerHello.text, socket, identity, options.targetTubId);
    return await decide(socket, peerHello.rest, peer, options);
  } catch (err) {
    refuse(socket, err);
    throw err;
  }
}

export interface ListenerOptions extends NegotiateOptions {
  /** Whether this listener serves that tub id (it answers 500 "unknown TubID" otherwise). */
  knowsTubId: (tubId: string) => boolean;
}

/** The listening side: answers the upgrade request, TLS as server, hello, then the decision. */
export async function negotiateAsListener(raw: Duplex, options: ListenerOptions): Promise<Negotiated> {
  const { identity } = options;
  const fail = (why: string) => {
    raw.end(`HTTP/1.1 500 Internal Server Error: ${why.replace(/[\r\n]+/g, " ")}\r\n\r\n`);
    return negotiationError(`refused an incoming connection: ${why}`);
  };
  let request: Awaited<ReturnType<typeof readBlock>>;
  try {
    request = await readBlock(raw, Buffer.alloc(0), "upgrade request", options.signal);
  } catch (err) {
    raw.destroy();
    throw err;
  }
  const words = (request.text.split("\r\n")[0] ?? "").split(/\s+/);
  if (words[0] !== "GET" || !words[1]?.startsWith("/id/")) throw fail("not a Foolscap upgrade request");
  const tubId = words[1].slice(4);
  if (tubId === "") throw fail("secure Tubs require encryption");
  if (!request.text.includes("Upgrade: TLS/1.0\r\n")) throw fail("the request does not ask for TLS");
  if (!options.knowsTubId(tubId)) throw fail(`unknown TubID ${tubId.slice(0, 60)}`);
  if (request.rest.length > 0) throw fail("bytes before TLS");
  raw.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.0, PB/1.0\r\nConnection: Upgrade\r\n\r\n");
  const socket = new TlsSocketClass(raw, {
    isServer: true,
    requestCert: true,
    ...secureContextOptions(identity),
  });
  socket.on("error", () => {}); // reported through readBlock
  socket.write(hello(identity, null));
  try {
    const peerHello = await readBlock(socket, Buffer.alloc(0), "hello", options.signal);
    const peer = checkHello(peerHello.text, socket, identity, undefined);
    return await decide(socket, peerHello.rest, peer, options);
  } catch (err) {
    refuse(socket, err);
    throw err;
  }
}
