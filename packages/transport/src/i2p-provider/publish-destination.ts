import { readFile } from "node:fs/promises";
import { type ClientEndpoint, formatClientEndpoint } from "@lafs/config";
import { type SamForward, type SamSession, samCreateSession, samStreamForward } from "../sam.js";
import { b32Address, DEFAULT_SAM_ENDPOINT, decodeI2pBase64 } from "./destination.js";
import { I2pProviderError } from "./i2p-errors.js";

/**
 * I2CP options of the node's own session. ECIES-X25519 first, ElGamal second: what current i2pd
 * and Java I2P routers both read, so every peer can reach the lease set.
 */
export const DEFAULT_I2P_SESSION_OPTIONS: Readonly<Record<string, string>> = {
  "i2cp.leaseSetEncType": "4,0",
};

/** Tunnels are built before SESSION STATUS: on a fresh router that can take a minute or more. */
const DEFAULT_SESSION_TIMEOUT_MS = 180_000;

export interface PublishI2pDestinationOptions {
  /** [i2p]sam.port; default tcp:127.0.0.1:7656. */
  readonly samPort?: ClientEndpoint | undefined;
  /** Absolute path of private/i2p_dest.privkey; or give `privateKey` itself. */
  readonly privateKeyFile?: string | undefined;
  /** The private key blob (I2P base64), as DEST GENERATE made it. */
  readonly privateKey?: string | undefined;
  /** The tub's loopback port: every inbound I2P stream becomes a TCP connection to it. */
  readonly localPort: number;
  /** Default 127.0.0.1. */
  readonly localHost?: string | undefined;
  /** I2CP options (tunnel lengths and counts...), merged over DEFAULT_I2P_SESSION_OPTIONS. */
  readonly sessionOptions?: Readonly<Record<string, string>> | undefined;
  /** Default: a new random id. */
  readonly sessionId?: string | undefined;
  /** How long the bridge may take to build the session's tunnels; default 180 s. */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface PublishedI2pDestination {
  /** ADDR.b32.i2p, computed from the key: the address create-node put in tub.location. */
  readonly address: string;
  /** The public destination, I2P base64. */
  readonly publicKey: string;
  readonly sessionId: string;
  readonly samPort: ClientEndpoint;
  /** Resolves when the destination went offline: unpublish(), or the bridge dropped the session. */
  readonly ended: Promise<void>;
  isPublished(): boolean;
  /** Closes the forward and the session; the router then withdraws the destination. */
  unpublish(): Promise<void>;
}

const KEY_HINT =
  "Restore the file ([i2p]dest.private_key_file) from a backup; without it the node's .b32.i2p address cannot be published.";

/** A private key blob starts with the public destination: 384 key bytes, then a certificate. */
export function publicDestinationOf(privateKey: string, source: string): string {
  const bytes = /^[A-Za-z0-9~=-]+$/.test(privateKey) ? decodeI2pBase64(privateKey) : Buffer.alloc(0);
  const certLength = bytes.length >= 387 ? bytes.readUInt16BE(385) : -1;
  // Keys and certificate, then at least the 256-byte encryption private key.
  if (certLength < 0 || bytes.length < 387 + certLength + 256) {
    throw new I2pProviderError(
      "TAHOE_ERR_I2P_DEST_KEY",
      `${source} is not an I2P destination private key (base64 of a destination followed by its private keys, ${bytes.length} bytes read)`,
      { hint: KEY_HINT },
    );
  }
  return bytes
    .subarray(0, 387 + certLength)
    .toString("base64")
    .replace(/\+/g, "-")
    .replace(/\//g, "~");
}

async function readKey(options: PublishI2pDestinationOptions): Promise<{ key: string; source: string }> {
  if (options.privateKey !== undefined) return { key: options.privateKey.trim(), source: "the private key" };
  const file = options.privateKeyFile;
  if (file === undefined) {
    throw new I2pProviderError("TAHOE_ERR_I2P_DEST_KEY", "no I2P destination key was given", {
      hint: "set [i2p]dest.private_key_file (tahoe create-node --listen=i2p writes private/i2p_dest.privkey)",
    });
  }
  try {
    return { key: (await readFile(file, "utf8")).trim(), source: file };
  } catch (error) {
    throw new I2pProviderError(
      "TAHOE_ERR_I2P_DEST_KEY",
      `cannot read the I2P destination key ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { hint: KEY_HINT, cause: error },
    );
  }
}

/**
 * What `tahoe run` does for [i2p]dest = true: a STREAM session with the key create-node saved,
 * and a STREAM FORWARD of its inbound streams to the tub port. Both live on SAM sockets held
 * open by the node, so the destination goes offline with the node, never later.
 */
export async function publishI2pDestination(
  options: PublishI2pDestinationOptions,
): Promise<PublishedI2pDestination> {
  const sam = options.samPort ?? DEFAULT_SAM_ENDPOINT;
  if (sam.kind !== "tcp") {
    throw new I2pProviderError(
      "TAHOE_ERR_I2P_SAM_PORT",
      `the SAM bridge must be a TCP endpoint, not ${formatClientEndpoint(sam)}`,
      { hint: "SAM listens on TCP: set [i2p]sam.port = tcp:127.0.0.1:7656" },
    );
  }
  const { key, source } = await readKey(options);
  const publicKey = publicDestinationOf(key, source);
  const address = b32Address(publicKey);
  const bridge = { host: sam.host, port: sam.port };
  const timeoutMs = options.timeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let session: SamSession;
  try {
    session = await samCreateSession(bridge, signal, {
      id: options.sessionId,
      destination: key,
      options: { ...DEFAULT_I2P_SESSION_OPTIONS, ...options.sessionOptions },
    });
  } catch (error) {
    if (!timeout.aborted || options.signal?.aborted) throw error;
    throw new I2pProviderError(
      "TAHOE_ERR_I2P_SESSION_TIMEOUT",
      `the SAM bridge ${formatClientEndpoint(sam)} did not open the session for ${address} within ${Math.round(timeoutMs / 1000)} s`,
      {
        hint: "the I2P router is still building tunnels (a new router needs minutes to join the network); start the node again later",
        cause: error,
      },
    );
  }
  let forward: SamForward;
  try {
    if (session.destination !== "" && session.destination !== key) {
      throw new I2pProviderError(
        "TAHOE_ERR_I2P_DEST_MISMATCH",
        `the SAM bridge ${formatClientEndpoint(sam)} opened session ${session.id} with another destination than ${source} (${address})`,
        {
          hint: "the I2P router misread the key; check that the key file is intact and the router is current",
        },
      );
    }
    forward = await samStreamForward(session, { host: options.localHost, port: options.localPort }, signal);
  } catch (error) {
    session.close();
    throw error;
  }
  let published = true;
  // Either socket closing takes the destination offline: end both, so no half-published state stays.
  const ended = Promise.race([session.ended, forward.ended]).then(() => {
    published = false;
    forward.close();
    session.close();
  });
  return {
    address,
    publicKey,
    sessionId: session.id,
    samPort: sam,
    ended,
    isPublished: () => published,
    async unpublish() {
      published = false;
      forward.close();
      session.close();
      await ended;
    },
  };
}
