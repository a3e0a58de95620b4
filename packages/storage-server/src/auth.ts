import type { IncomingMessage } from "node:http";
import { constantTimeEqual } from "@lafs/crypto";
import { StorageServerError } from "./errors.js";

export type SecretKind = "lease-renew-secret" | "lease-cancel-secret" | "upload-secret" | "write-enabler";
const KINDS: readonly SecretKind[] = [
  "lease-renew-secret",
  "lease-cancel-secret",
  "upload-secret",
  "write-enabler",
];

/** `Authorization: Tahoe-LAFS <base64(swissnum)>`, the exact bytes a request must carry. */
export function authorizationValue(swissnum: string): string {
  return `Tahoe-LAFS ${Buffer.from(swissnum, "ascii").toString("base64")}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Checks the first Authorization header in constant time: 400 when not UTF-8, 401 when wrong. */
export function checkAuthorization(req: IncomingMessage, expected: Buffer): void {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === "authorization") {
      value = raw[i + 1];
      break;
    }
  }
  // Node hands header bytes over as latin1; recover them to compare bytes, as Tahoe does.
  const bytes = Buffer.from(value ?? "", "latin1");
  try {
    utf8.decode(bytes);
  } catch {
    throw new StorageServerError("TAHOE_ERR_STORAGE_SERVER_BAD_SECRETS", 400, "Bad Authorization header", {
      hint: "the Authorization header must be UTF-8",
    });
  }
  if (!constantTimeEqual(bytes, expected)) {
    throw new StorageServerError("TAHOE_ERR_STORAGE_SERVER_UNAUTHORIZED", 401, "Wrong Authorization header", {
      hint: "send Authorization: Tahoe-LAFS <base64 of the swissnum in the server's NURL>",
    });
  }
}

function badSecrets(why: string): StorageServerError {
  return new StorageServerError(
    "TAHOE_ERR_STORAGE_SERVER_BAD_SECRETS",
    400,
    `Bad X-Tahoe-Authorization header: ${why}`,
    {
      hint: "send one 'X-Tahoe-Authorization: KIND BASE64' header for each secret the endpoint needs, and no others",
    },
  );
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The X-Tahoe-Authorization secrets, which must be exactly the kinds `required` names.
 * Read from the raw header list because Node joins repeated headers with commas.
 */
export function extractSecrets(
  req: IncomingMessage,
  required: readonly SecretKind[],
): Map<SecretKind, Buffer> {
  const found = new Map<SecretKind, Buffer>();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== "x-tahoe-authorization") continue;
    const value = raw[i + 1]!.trim();
    const space = value.indexOf(" ");
    if (space < 0) throw badSecrets("a value is not 'KIND BASE64'");
    const kind = value.slice(0, space);
    const encoded = value.slice(space + 1);
    if (!KINDS.includes(kind as SecretKind)) throw badSecrets(`unknown secret kind '${kind.slice(0, 40)}'`);
    if (found.has(kind as SecretKind)) throw badSecrets(`'${kind}' is given twice`);
    if (!BASE64.test(encoded)) throw badSecrets(`the value of '${kind}' is not base64`);
    const secret = Buffer.from(encoded, "base64");
    if (secret.length === 0) throw badSecrets(`'${kind}' is empty`);
    if ((kind === "lease-renew-secret" || kind === "lease-cancel-secret") && secret.length !== 32) {
      throw badSecrets(`'${kind}' is ${secret.length} bytes, lease secrets are 32`);
    }
    found.set(kind as SecretKind, secret);
  }
  for (const kind of required) if (!found.has(kind)) throw badSecrets(`missing '${kind}'`);
  for (const kind of found.keys()) {
    if (!required.includes(kind)) throw badSecrets(`'${kind}' is not used by this endpoint`);
  }
  return found;
}

/** 406 unless the best Accept entry is exactly application/cbor; no Accept header is fine. */
export function checkAcceptsCbor(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === "") return;
  const entries = accept.split(",").map((part, index) => {
    const [type = "", ...params] = part.split(";").map((s) => s.trim());
    const q = params.find((p) => /^q=/i.test(p));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    const specificity = type === "*/*" ? 0 : type.endsWith("/*") ? 1 : 2;
    return { type: type.toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, specificity, index };
  });
  entries.sort((a, b) => b.quality - a.quality || b.specificity - a.specificity || a.index - b.index);
  const best = entries[0];
  if (!best || best.quality <= 0 || best.type !== "application/cbor") {
    throw new StorageServerError(
      "TAHOE_ERR_STORAGE_SERVER_NOT_ACCEPTABLE",
      406,
      `Accept '${accept.slice(0, 80)}' does not prefer application/cbor`,
      { hint: "send Accept: application/cbor (or no Accept header)" },
    );
  }
}

/** A CBOR request body may come with no Content-Type; any type but application/cbor is a 415. */
export function checkCborContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (type !== "application/cbor") {
    throw new StorageServerError(
      "TAHOE_ERR_STORAGE_SERVER_MEDIA_TYPE",
      415,
      `Content-Type '${contentType.slice(0, 80)}' is not application/cbor`,
      { hint: "request bodies are CBOR (Content-Type: application/cbor)" },
    );
  }
}
