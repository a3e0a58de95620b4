import { join } from "node:path";
import { NODE_FILES, readTextIfPresent, writePrivateFile } from "@lafs/config";
import {
  base32Encode,
  createTlsIdentity,
  formatTlsIdentityPem,
  parseTlsIdentityPem,
  randomSecret,
  type TlsIdentity,
} from "@lafs/crypto";
import { type ControlUrl, formatControlUrl, parseControlUrl } from "./control-url.js";

const SWISSNUM_BYTES = 32;

/** The control tub's own identity: never the node's key. */
export interface ControlIdentity {
  tls: TlsIdentity;
  swissnum: string;
}

/** A fresh key, certificate and swissnum (create-* and the first start of an older directory). */
export function newControlIdentity(): ControlIdentity {
  return {
    tls: createTlsIdentity({ commonName: "lafs-ts control" }),
    swissnum: base32Encode(randomSecret(SWISSNUM_BYTES)),
  };
}

/** Writes private/control.pem and private/control.url (0600, atomically). */
export async function writeControlFiles(
  basedir: string,
  identity: ControlIdentity,
  port: number,
): Promise<ControlUrl> {
  const url: ControlUrl = { spkiHash: identity.tls.spkiHash, port, swissnum: identity.swissnum };
  await writePrivateFile(basedir, NODE_FILES.controlPem, formatTlsIdentityPem(identity.tls));
  await writePrivateFile(basedir, NODE_FILES.controlUrl, formatControlUrl(url));
  return url;
}

/** private/control.url, or undefined when it does not exist. */
export async function readControlUrl(basedir: string): Promise<ControlUrl | undefined> {
  const path = join(basedir, NODE_FILES.controlUrl);
  const text = await readTextIfPresent(path);
  return text === undefined ? undefined : parseControlUrl(text, path);
}

/**
 * The identity in private/control.pem and the swissnum of private/control.url, or undefined when
 * either is missing (the caller makes a new pair: the pin and the swissnum go together).
 */
export async function readControlIdentity(basedir: string): Promise<ControlIdentity | undefined> {
  const pemPath = join(basedir, NODE_FILES.controlPem);
  const pem = await readTextIfPresent(pemPath);
  const url = await readControlUrl(basedir);
  if (pem === undefined || url === undefined) return undefined;
  const tls = parseTlsIdentityPem(pem, pemPath);
  // A control.url whose pin is not control.pem's would make every local tool refuse the node.
  if (tls.spkiHash !== url.spkiHash) return undefined;
  return { tls, swissnum: url.swissnum };
}
