import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NODE_FILES, parseFurl, writeFileAtomic, writePrivateFile } from "@lafs/config";
import {
  base32Encode,
  createTlsIdentity,
  formatTlsIdentityPem,
  generateNodeKey,
  type NodeKey,
  parseNodePrivateKey,
  parseTlsIdentityPem,
  randomSecret,
  type TlsIdentity,
  tubIdOfCertificate,
} from "@lafs/crypto";
import { errnoCode, NodeError } from "./errors.js";

/** Everything that names this node to its peers, read from (or, when missing, made in) BASEDIR. */
export interface NodeIdentity {
  /** Ed25519 key; `nodeId` (v0-...) is the server id in announcements. */
  nodeKey: NodeKey;
  /** private/node.pem: the certificate every NURL pins and the tub id derives from. */
  tls: TlsIdentity;
  /** Foolscap tub id of the certificate: 32 base32 chars, and the 20 bytes they encode. */
  tubId: string;
  tubIdBytes: Buffer;
}

/** Foolscap's swissnum: 160 random bits in base32, 32 characters. */
const SWISSNUM_BYTES = 20;
/** Where Tahoe-LAFS keeps the permutation seed it announces (BASEDIR, not private/). */
export const PERMUTATION_SEED_FILE = "permutation-seed";

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw new NodeError("TAHOE_ERR_NODE_FILE", `cannot read ${path}: ${errnoCode(error) ?? String(error)}`, {
      hint: "Check the file's owner and permissions: the node must be able to read its own directory.",
      cause: error,
    });
  }
}

/**
 * Reads the node key and TLS identity. Like Tahoe-LAFS with a directory from an older release,
 * a missing private/node.privkey or private/node.pem is made now (with node.pubkey beside it);
 * a file that exists but does not parse is an error, never silently replaced.
 */
export async function loadNodeIdentity(basedir: string): Promise<NodeIdentity> {
  const privkeyPath = join(basedir, NODE_FILES.nodePrivkey);
  const privkeyText = await readOptional(privkeyPath);
  let nodeKey: NodeKey;
  if (privkeyText === undefined) {
    nodeKey = generateNodeKey();
    await writePrivateFile(basedir, NODE_FILES.nodePrivkey, `${nodeKey.privateKey}\n`);
  } else {
    nodeKey = parseNodePrivateKey(privkeyText, privkeyPath);
  }
  // node.pubkey is derived; Tahoe-LAFS rewrites it too, so a stale copy never misleads.
  const pubkeyPath = join(basedir, NODE_FILES.nodePubkey);
  if ((await readOptional(pubkeyPath))?.trim() !== nodeKey.publicKey) {
    await writeFileAtomic(pubkeyPath, `${nodeKey.publicKey}\n`);
  }

  const pemPath = join(basedir, NODE_FILES.nodePem);
  const pemText = await readOptional(pemPath);
  let tls: TlsIdentity;
  if (pemText === undefined) {
    tls = createTlsIdentity();
    await writePrivateFile(basedir, NODE_FILES.nodePem, formatTlsIdentityPem(tls));
  } else {
    tls = parseTlsIdentityPem(pemText, pemPath);
  }
  const tub = tubIdOfCertificate(tls.certPem, pemPath);
  return { nodeKey, tls, tubId: tub.tubId, tubIdBytes: tub.bytes };
}

/**
 * The storage swissnum, kept where Tahoe-LAFS keeps it: in private/storage.furl
 * (`pb://TUBID@HINTS/SWISSNUM`, which Foolscap rewrites at every start). A directory that
 * Tahoe-LAFS ran keeps its swissnum, so clients that have its NURL still reach it. The file is
 * rewritten with the current tub id and hints; the swissnum is made on first start.
 */
export async function loadOrCreateStorageSwissnum(basedir: string): Promise<string> {
  const path = join(basedir, NODE_FILES.storageFurl);
  const text = await readOptional(path);
  if (text === undefined) return base32Encode(randomSecret(SWISSNUM_BYTES));
  try {
    return parseFurl(text).swissnum;
  } catch (error) {
    throw new NodeError("TAHOE_ERR_NODE_STORAGE_FURL", `${path}: ${(error as Error).message}`, {
      hint:
        "The file holds the storage service's fURL, pb://TUBID@HINTS/SWISSNUM. Restore it from a backup; " +
        "deleting it makes a new swissnum, and clients must then be given the new NURL.",
      cause: error,
    });
  }
}

export async function writeStorageFurl(basedir: string, furl: string): Promise<void> {
  await writePrivateFile(basedir, NODE_FILES.storageFurl, `${furl}\n`);
}

/**
 * The `permutation-seed-base32` this server announces. As Tahoe-LAFS does, it is base32 of the
 * ASCII text of the node key's base32 (wire-formats §5.8a), saved in BASEDIR/permutation-seed on
 * first start and read back afterwards, so a seed Tahoe-LAFS chose (its tub id, for servers that
 * held shares before 1.9) is kept.
 */
export async function loadOrCreatePermutationSeed(basedir: string, nodeKey: NodeKey): Promise<string> {
  const path = join(basedir, PERMUTATION_SEED_FILE);
  const saved = (await readOptional(path))?.trim();
  if (saved !== undefined && saved !== "") {
    if (/^[a-z2-7]+$/.test(saved)) return saved;
    throw new NodeError("TAHOE_ERR_NODE_FILE", `${path} does not hold a base32 permutation seed`, {
      hint: "Restore the file from a backup, or delete it to announce the seed derived from the node key (clients then place new shares differently).",
    });
  }
  const keyBase32 = nodeKey.publicKey.slice("pub-v0-".length);
  const seed = base32Encode(Buffer.from(keyBase32, "ascii"));
  await writeFileAtomic(path, `${seed}\n`);
  return seed;
}
