// Announcements are signed with the node key, and both the introducer and its clients (siblings
// that may not import each other, DESIGN.md §2) must read them the same way: so they live here.

import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";
import { base32Decode, base32Encode, isBase32 } from "./base32.js";
import { parseNodePrivateKey, signWithNodeKey, verifyNodeSignature } from "./node-key.js";

export type AnnouncementErrorCode =
  | "TAHOE_ERR_ANNOUNCEMENT_MALFORMED"
  | "TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE"
  | "TAHOE_ERR_ANNOUNCEMENT_TOO_LARGE";

/** An announcement that cannot be used: not the signed form, too large, or not signed by its key. */
export class AnnouncementError extends TahoeError {
  declare readonly code: AnnouncementErrorCode;

  constructor(code: AnnouncementErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * Tahoe-LAFS's signed form (sign_to_foolscap): the UTF-8 JSON text of the announcement dict, the
 * signature `v0-` + base32(ed25519 signature over exactly those bytes), and the signer's key
 * `v0-` + base32(public key), which is also the server id.
 */
export type SignedAnnouncement = readonly [msg: string, sig: string, key: string];

/** A verified announcement: the signer, the fields every service carries, and the signed form. */
export interface Announcement {
  serverId: string;
  service: string;
  seqnum: number;
  nonce: string;
  nickname: string;
  myVersion: string;
  oldestSupported: string;
  /** The whole announcement dict as signed, service-specific keys included. */
  fields: Readonly<Record<string, unknown>>;
  signed: SignedAnnouncement;
}

/** What one announcement may weigh; Tahoe-LAFS storage announcements are about 1 KiB. */
export const MAX_ANNOUNCEMENT_BYTES = 16 * 1024;

const SIGNED_FORM =
  "an announcement is the JSON list [msg, sig, key] of three strings, as Tahoe-LAFS signs it";
const SERVICE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const NODE_ID = /^v0-[a-z2-7]{52}$/;

/**
 * JSON as Python's json.dumps writes it (", " and ": " separators, non-ASCII escaped), so a
 * message we sign looks like one Tahoe-LAFS signs. The signature covers the text whatever its form.
 */
export function pythonJson(value: unknown): string {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`cannot sign the number ${value}`);
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (typeof value === "object") {
    const parts = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`);
    return `{${parts.join(", ")}}`;
  }
  throw new TypeError(`cannot sign a ${typeof value}`);
}

/** Signs an announcement dict with a node key (`priv-v0-...`): Tahoe-LAFS's sign_to_foolscap. */
export function signAnnouncement(fields: Record<string, unknown>, privateKey: string): SignedAnnouncement {
  const msg = pythonJson(fields);
  const signature = signWithNodeKey(privateKey, Buffer.from(msg, "utf8"));
  return [msg, `v0-${base32Encode(signature)}`, parseNodePrivateKey(privateKey).nodeId];
}

function describe(key: unknown): string {
  return typeof key === "string" && NODE_ID.test(key) ? `${key.slice(0, 13)}…` : "an unknown signer";
}

function malformed(message: string, hint: string = SIGNED_FORM): AnnouncementError {
  return new AnnouncementError("TAHOE_ERR_ANNOUNCEMENT_MALFORMED", message, { hint });
}

function optionalString(fields: Record<string, unknown>, name: string, who: string): string {
  const value = fields[name];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw malformed(`announcement from ${who}: '${name}' is not a string`);
  return value;
}

/**
 * Checks a signed announcement as it came off the wire or out of a cache: the signed form, its
 * size, the signature over exactly the bytes of `msg`, then the fields every service needs.
 * Throws AnnouncementError naming the signer (shortened) and what is wrong.
 */
export function verifyAnnouncement(signed: unknown, options: { maxBytes?: number } = {}): Announcement {
  const maxBytes = options.maxBytes ?? MAX_ANNOUNCEMENT_BYTES;
  if (!Array.isArray(signed) || signed.length !== 3 || !signed.every((part) => typeof part === "string")) {
    throw malformed("announcement is not a list of three strings [msg, sig, key]");
  }
  const [msg, sig, key] = signed as [string, string, string];
  const who = describe(key);
  const bytes = Buffer.from(msg, "utf8");
  if (bytes.length > maxBytes) {
    throw new AnnouncementError(
      "TAHOE_ERR_ANNOUNCEMENT_TOO_LARGE",
      `announcement from ${who} is ${bytes.length} bytes, over the limit of ${maxBytes}`,
      { hint: "an announcement names a service and where to reach it; it has no room for more" },
    );
  }
  if (!NODE_ID.test(key)) {
    throw malformed(
      `announcement key '${key.slice(0, 60)}' is not a node id`,
      "the key is v0- followed by 52 base32 characters (the signer's ed25519 public key)",
    );
  }
  if (!sig.startsWith("v0-") || !isBase32(sig.slice(3), 64)) {
    throw malformed(
      `announcement from ${who}: signature is not v0- followed by base32 of 64 bytes`,
      "sig is v0- + base32 of the ed25519 signature over msg",
    );
  }
  const signature = base32Decode(sig.slice(3), "announcement signature");
  if (!verifyNodeSignature(key, bytes, signature)) {
    throw new AnnouncementError(
      "TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE",
      `announcement claiming to be from ${who} has a signature that does not verify`,
      {
        hint: "the message was changed after signing, or signed by another key; it is ignored",
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(msg);
  } catch {
    throw malformed(`announcement from ${who}: msg is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw malformed(`announcement from ${who}: msg is not a JSON object`);
  }
  const fields = parsed as Record<string, unknown>;
  const service = fields["service-name"];
  if (typeof service !== "string" || !SERVICE_NAME.test(service)) {
    throw malformed(
      `announcement from ${who}: 'service-name' is ${JSON.stringify(service) ?? "missing"}`,
      "service-name is 1 to 64 letters, digits, '.', '_' or '-', such as 'storage'",
    );
  }
  const seqnum = fields.seqnum;
  if (typeof seqnum !== "number" || !Number.isSafeInteger(seqnum) || seqnum < 0) {
    throw malformed(
      `announcement from ${who}: 'seqnum' is ${JSON.stringify(seqnum) ?? "missing"}`,
      "seqnum is a non-negative integer that grows with every new announcement",
    );
  }
  const nonce = fields.nonce;
  if (typeof nonce !== "string" || nonce.length === 0 || nonce.length > 256) {
    throw malformed(`announcement from ${who}: 'nonce' is missing or not a short string`);
  }
  checkStorageFields(fields, who);
  return {
    serverId: key,
    service,
    seqnum,
    nonce,
    nickname: optionalString(fields, "nickname", who),
    myVersion: optionalString(fields, "my-version", who),
    oldestSupported: optionalString(fields, "oldest-supported", who),
    fields,
    signed: [msg, sig, key],
  };
}

function checkStorageFields(fields: Record<string, unknown>, who: string): void {
  const nurls = fields["anonymous-storage-NURLs"];
  if (nurls !== undefined && (!Array.isArray(nurls) || !nurls.every((n) => typeof n === "string"))) {
    throw malformed(`announcement from ${who}: 'anonymous-storage-NURLs' is not a list of strings`);
  }
  const furl = fields["anonymous-storage-FURL"];
  if (furl !== undefined && typeof furl !== "string") {
    throw malformed(`announcement from ${who}: 'anonymous-storage-FURL' is not a string`);
  }
  const seed = fields["permutation-seed-base32"];
  if (seed !== undefined && (typeof seed !== "string" || !isBase32(seed))) {
    throw malformed(`announcement from ${who}: 'permutation-seed-base32' is not base32`);
  }
}
