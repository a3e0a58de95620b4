import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { base32Decode, base32Encode, isBase32 } from "./base32.js";
import { CryptoError } from "./errors.js";

const PRIVATE_PREFIX = "priv-v0-";
const PUBLIC_PREFIX = "pub-v0-";
const NODE_ID_PREFIX = "v0-";
/** 32 bytes of seed or public key in base32. */
const KEY_CHARS = 52;

/** DER of PKCS#8 PrivateKeyInfo for Ed25519 up to the 32-byte seed (RFC 8410). */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** DER of SubjectPublicKeyInfo for Ed25519 up to the 32-byte public key. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A node's Ed25519 identity in Tahoe's text forms. */
export interface NodeKey {
  /** `priv-v0-` + base32(32-byte seed): the content of private/node.privkey. */
  privateKey: string;
  /** `pub-v0-` + base32(32-byte public key): the content of node.pubkey. */
  publicKey: string;
  /** `v0-` + base32(32-byte public key): the server id peers see. */
  nodeId: string;
}

export interface NodePublicKey {
  publicKey: string;
  nodeId: string;
  /** The 32-byte raw Ed25519 public key. */
  raw: Buffer;
}

function keyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

function keyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const spki = privateKey.type === "public" ? privateKey : createPublicKey(privateKey);
  return Buffer.from(spki.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length));
}

function nodeKeyFromSeed(seed: Uint8Array): NodeKey {
  const encoded = base32Encode(rawPublicKey(keyFromSeed(seed)));
  return {
    privateKey: PRIVATE_PREFIX + base32Encode(seed),
    publicKey: PUBLIC_PREFIX + encoded,
    nodeId: NODE_ID_PREFIX + encoded,
  };
}

/** The 32 bytes after `prefix`, or undefined when `text` is not prefix + 52 base32 chars. */
function payload(text: string, prefix: string): Buffer | undefined {
  if (!text.startsWith(prefix)) return undefined;
  const body = text.slice(prefix.length);
  if (body.length !== KEY_CHARS || !isBase32(body, 32)) return undefined;
  return Buffer.from(base32Decode(body));
}

function describe(text: string): string {
  if (text.startsWith(PRIVATE_PREFIX)) return "a private key";
  if (text.startsWith(PUBLIC_PREFIX)) return "a public key";
  if (text.startsWith(NODE_ID_PREFIX)) return "a node id";
  if (text === "") return "empty";
  return "other text"; // never quoted: it could be a key without its prefix
}

/** A new random Ed25519 node key. */
export function generateNodeKey(): NodeKey {
  return nodeKeyFromSeed(randomBytes(32));
}

/**
 * Parses private/node.privkey: `priv-v0-` + 52 base32 characters, surrounding whitespace
 * (the trailing newline) ignored. Throws CryptoError TAHOE_ERR_CRYPTO_NODE_KEY naming
 * `file`; the message never repeats the key.
 */
export function parseNodePrivateKey(text: string, file = "node private key"): NodeKey {
  const trimmed = text.trim();
  const seed = payload(trimmed, PRIVATE_PREFIX);
  if (seed === undefined) {
    const found = trimmed.startsWith(PRIVATE_PREFIX) ? "a malformed key" : describe(trimmed);
    throw new CryptoError(
      "TAHOE_ERR_CRYPTO_NODE_KEY",
      `${file}: expected an Ed25519 private key "${PRIVATE_PREFIX}" + ${KEY_CHARS} base32 characters, found ${found}`,
      {
        hint: "private/node.privkey is the node's identity: restore it from a backup. A new key gives the node a new node id.",
      },
    );
  }
  return nodeKeyFromSeed(seed);
}

/**
 * Parses node.pubkey (or an announcement's key): `pub-v0-` + 52 base32 characters,
 * surrounding whitespace ignored. Throws CryptoError TAHOE_ERR_CRYPTO_NODE_KEY naming `file`.
 */
export function parseNodePublicKey(text: string, file = "node public key"): NodePublicKey {
  const trimmed = text.trim();
  const raw = payload(trimmed, PUBLIC_PREFIX);
  if (raw === undefined) {
    const found = trimmed.startsWith(PUBLIC_PREFIX) ? "a malformed key" : describe(trimmed);
    throw new CryptoError(
      "TAHOE_ERR_CRYPTO_NODE_KEY",
      `${file}: expected an Ed25519 public key "${PUBLIC_PREFIX}" + ${KEY_CHARS} base32 characters, found ${found}`,
      { hint: "node.pubkey is derived from private/node.privkey; it is rewritten when the node starts." },
    );
  }
  const encoded = trimmed.slice(PUBLIC_PREFIX.length);
  return { publicKey: trimmed, nodeId: NODE_ID_PREFIX + encoded, raw };
}

/** `pub-v0-X` -> `v0-X`, after checking the key. */
export function nodeIdFromPublicKey(publicKeyText: string): string {
  return parseNodePublicKey(publicKeyText).nodeId;
}

/** Signs `message` with Ed25519; returns the 64-byte signature. */
export function signWithNodeKey(privateKeyText: string, message: Uint8Array): Buffer {
  const seed = payload(privateKeyText.trim(), PRIVATE_PREFIX);
  if (seed === undefined) parseNodePrivateKey(privateKeyText); // throws with the full message
  return sign(null, message, keyFromSeed(seed!));
}

/**
 * Checks an Ed25519 signature against a `pub-v0-` public key or a `v0-` node id. Returns
 * false, never throws, for anything wrong: a malformed key or node id, a signature of the
 * wrong length, or one that does not verify.
 */
export function verifyNodeSignature(
  publicKeyOrNodeId: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const text = publicKeyOrNodeId.trim();
    const raw = payload(text, PUBLIC_PREFIX) ?? payload(text, NODE_ID_PREFIX);
    if (raw === undefined || signature.length !== 64) return false;
    return verify(null, message, keyFromRaw(raw), signature);
  } catch {
    return false;
  }
}
