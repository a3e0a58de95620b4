import { createHash } from "node:crypto";
import { type ClientEndpoint, formatClientEndpoint } from "@lafs/config";
import { samGenerateDestination } from "../sam.js";
import { I2pProviderError } from "./i2p-errors.js";

/** The SAM bridge Tahoe-LAFS and i2pd use by default. */
export const DEFAULT_SAM_ENDPOINT: ClientEndpoint = { kind: "tcp", host: "127.0.0.1", port: 7656 };

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** I2P's base64 uses "-" and "~" where standard base64 has "+" and "/". */
export function decodeI2pBase64(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, "+").replace(/~/g, "/"), "base64");
}

/** The ".b32.i2p" address of a public destination: base32 of its SHA-256 (I2P's naming spec). */
export function b32Address(publicDestination: string): string {
  return `${base32(createHash("sha256").update(decodeI2pBase64(publicDestination)).digest())}.b32.i2p`;
}

export interface AllocateI2pDestinationOptions {
  /** [i2p]sam.port / --i2p-sam-port; default tcp:127.0.0.1:7656. */
  readonly samPort?: ClientEndpoint | undefined;
  /** The port in tub.location (Tahoe-LAFS uses 3457). */
  readonly externalPort: number;
  readonly onProgress?: ((line: string) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface AllocatedI2pDestination {
  /** The public destination, I2P base64. */
  readonly publicKey: string;
  /** The private key blob for private/i2p_dest.privkey. */
  readonly privateKey: string;
  /** ADDR.b32.i2p */
  readonly address: string;
  /** `i2p:ADDR.b32.i2p:PORT`, for tub.location. */
  readonly hint: string;
  readonly samPort: ClientEndpoint;
}

/**
 * Makes a new I2P destination (Ed25519, signature type 7) through the SAM bridge for
 * `tahoe create-node --listen=i2p`. Nothing is published: that needs a session held open by the
 * running node.
 */
export async function allocateI2pDestination(
  options: AllocateI2pDestinationOptions,
): Promise<AllocatedI2pDestination> {
  const sam = options.samPort ?? DEFAULT_SAM_ENDPOINT;
  if (sam.kind !== "tcp") {
    throw new I2pProviderError(
      "TAHOE_ERR_I2P_SAM_PORT",
      `the SAM bridge must be a TCP endpoint, not ${formatClientEndpoint(sam)}`,
      {
        hint: "SAM listens on TCP: give --i2p-sam-port=tcp:127.0.0.1:7656 (or [i2p]sam.port).",
      },
    );
  }
  options.onProgress?.(`asking the I2P SAM bridge ${formatClientEndpoint(sam)} for a new destination...`);
  const signal = options.signal ?? new AbortController().signal;
  const dest = await samGenerateDestination({ host: sam.host, port: sam.port }, signal);
  const address = b32Address(dest.publicKey);
  options.onProgress?.(`created I2P destination ${address}`);
  return {
    publicKey: dest.publicKey,
    privateKey: dest.privateKey,
    address,
    hint: `i2p:${address}:${options.externalPort}`,
    samPort: sam,
  };
}
