import { createErasureCoder, type ErasureCoder } from "@lafs/immutable";
import { type MutableCap, readCapOf } from "./caps.js";
import { aesCtr, dataKeyOf, decryptPrivateKey, fingerprintOf } from "./derive.js";
import { CorruptMutableShareError, MutableError } from "./errors.js";
import {
  inconsistentNode,
  mutableBlockHash,
  neededHashes,
  rootThroughChain,
  splitTree,
} from "./hash-tree.js";
import {
  blockLength,
  HASH_LENGTH,
  hashTreeNodeCount,
  type MutableHeader,
  parseMutableHeader,
  SALT_LENGTH,
  type SegmentGeometry,
  type ShareRange,
  segmentGeometry,
  segmentLength,
  shareDataLength,
  shareRanges,
  unpackShareHashChain,
} from "./layout.js";
import {
  importMutablePrivateKey,
  type MutableKeyPair,
  SIGNATURE_LENGTH,
  verifyMutableSignature,
} from "./rsa.js";

/** A share whose header is signed by the key the cap names. */
export interface SignedShareHead {
  readonly shnum: number;
  readonly header: MutableHeader;
  readonly verificationKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** A share checked end to end: signature, hash chain, block hash tree and every block. */
export interface VerifiedMutableShare extends SignedShareHead {
  readonly geometry: SegmentGeometry;
  readonly shareHashChain: Map<number, Uint8Array>;
  /** The whole block hash tree, root first. */
  readonly blockHashTree: Uint8Array[];
  readonly encprivkey: Uint8Array;
  /** Segment `segnum`'s block and its salt (SDMF: the header's IV). */
  block(segnum: number): { salt: Uint8Array; block: Uint8Array };
}

function corrupt(
  code: CorruptMutableShareError["code"],
  shnum: number,
  why: string,
): CorruptMutableShareError {
  return new CorruptMutableShareError(code, shnum, why);
}

function piece(bytes: Uint8Array, range: ShareRange, what: string, shnum: number): Uint8Array {
  if (range.offset + range.length > bytes.length) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
      shnum,
      `the share is ${bytes.length} bytes, but its ${what} ends at ${range.offset + range.length}`,
    );
  }
  return bytes.subarray(range.offset, range.offset + range.length);
}

/**
 * The servermap's per-share check: parses the header, checks the verification key against the
 * cap's fingerprint and the signature over the signed prefix. `bytes` need only reach the end of
 * the key and signature (the first 4000 bytes a servermap reads do).
 */
export function verifyShareSignature(
  bytes: Uint8Array,
  shnum: number,
  fingerprint: Uint8Array,
): SignedShareHead {
  const header = parseMutableHeader(bytes, shnum);
  const ranges = shareRanges(header);
  const verificationKey = piece(bytes, ranges.verificationKey, "verification key", shnum);
  const signature = piece(bytes, ranges.signature, "signature", shnum);
  if (!Buffer.from(fingerprintOf(verificationKey)).equals(fingerprint)) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_PUBKEY",
      shnum,
      "its verification key does not hash to the cap's fingerprint (a share of another file, or damaged)",
    );
  }
  if (signature.length !== SIGNATURE_LENGTH) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
      shnum,
      `the signature is ${signature.length} bytes, not ${SIGNATURE_LENGTH}`,
    );
  }
  let valid: boolean;
  try {
    valid = verifyMutableSignature(verificationKey, header.signedPrefix, signature);
  } catch (error) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_PUBKEY",
      shnum,
      `its verification key is unusable: ${(error as Error).message}`,
    );
  }
  if (!valid) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_SIGNATURE",
      shnum,
      `the RSA-PSS signature over the signed prefix (seqnum ${header.seqnum}) does not verify`,
    );
  }
  return { shnum, header, verificationKey: verificationKey.slice(), signature: signature.slice() };
}

/** A share's hash chain and block hash tree, checked against its signed root hash. */
export interface VerifiedShareHashes {
  readonly shareHashChain: Map<number, Uint8Array>;
  /** The whole block hash tree, root first. */
  readonly blockHashTree: Uint8Array[];
}

/**
 * Checks the sizes the header implies (share number below N, share data length, tree size),
 * then the share hash chain and block hash tree (the ranges `shareRanges(header)` names)
 * against the header's signed root hash. For a retriever that reads pieces, not whole shares.
 */
export function verifyShareHashes(
  header: MutableHeader,
  shnum: number,
  chainBytes: Uint8Array,
  treeBytes: Uint8Array,
): VerifiedShareHashes {
  const g = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  if (!Number.isInteger(shnum) || shnum < 0 || shnum >= header.n) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
      shnum,
      `share number ${shnum} is not below N=${header.n}`,
    );
  }
  const dataLength =
    header.offsets[header.format === "SDMF" ? "encPrivkey" : "blockHashTree"] - header.offsets.shareData;
  const expectedData = shareDataLength(header.format, g);
  if (dataLength !== expectedData) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
      shnum,
      `the share data is ${dataLength} bytes; ${g.numSegments} segment(s) of ${header.dataLength} bytes with k=${header.k} need ${expectedData}`,
    );
  }
  const chain = unpackShareHashChain(chainBytes, shnum);
  const needed = neededHashes(header.n, shnum);
  const got = [...chain.keys()].sort((a, b) => a - b);
  if (got.join(",") !== needed.join(",")) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_HASH",
      shnum,
      `the share hash chain holds nodes [${got.join(", ")}], but share ${shnum} of N=${header.n} needs [${needed.join(", ")}]`,
    );
  }
  const expectedNodes = hashTreeNodeCount(Math.max(1, g.numSegments));
  if (treeBytes.length !== expectedNodes * HASH_LENGTH) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
      shnum,
      `the block hash tree is ${treeBytes.length} bytes; ${g.numSegments} segment(s) need ${expectedNodes * HASH_LENGTH}`,
    );
  }
  const tree = splitTree(treeBytes);
  const bad = inconsistentNode(tree);
  if (bad !== undefined) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_BLOCK_HASH",
      shnum,
      `node ${bad} of the block hash tree is not the hash of its children`,
    );
  }
  const root = rootThroughChain(header.n, shnum, tree[0]!, chain);
  if (root === undefined || !Buffer.from(root).equals(header.rootHash)) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_HASH",
      shnum,
      "the block hash tree root and the share hash chain do not lead to the signed root hash",
    );
  }
  return { shareHashChain: chain, blockHashTree: tree };
}

/**
 * Checks one block (MDMF: with its salt; SDMF: pass the header's IV) against its leaf in a
 * verified block hash tree. Throws TAHOE_ERR_MUTABLE_BLOCK_HASH naming the share and segment.
 */
export function verifyBlock(
  header: MutableHeader,
  hashes: VerifiedShareHashes,
  shnum: number,
  segnum: number,
  salt: Uint8Array,
  block: Uint8Array,
): void {
  const g = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  if (!Number.isInteger(segnum) || segnum < 0 || segnum >= g.numSegments) {
    throw new MutableError(
      "TAHOE_ERR_MUTABLE_PARAMS",
      `segment ${segnum} is not one of the file's ${g.numSegments}`,
      {
        hint: "Segment numbers run from 0 to ceil(data length / segment size) - 1.",
      },
    );
  }
  if (block.length !== blockLength(g, segnum) || salt.length !== SALT_LENGTH) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
      shnum,
      `the block of segment ${segnum} is ${block.length} bytes with a ${salt.length}-byte salt; expected ${blockLength(g, segnum)} and ${SALT_LENGTH}`,
    );
  }
  const tree = hashes.blockHashTree;
  const hash = mutableBlockHash(block, header.format === "MDMF" ? salt : undefined);
  if (!Buffer.from(hash).equals(tree[(tree.length - 1) / 2 + segnum]!)) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_BLOCK_HASH",
      shnum,
      `the block of segment ${segnum} does not match its block hash tree leaf`,
    );
  }
}

/**
 * Checks a whole share (as a server stores it; bytes past EOF are ignored): the signature,
 * then the hash chain, block hash tree and every block against the signed root hash.
 * Throws CorruptMutableShareError naming the share and what failed.
 */
export function verifyMutableShare(
  bytes: Uint8Array,
  shnum: number,
  fingerprint: Uint8Array,
): VerifiedMutableShare {
  const head = verifyShareSignature(bytes, shnum, fingerprint);
  const { header } = head;
  const ranges = shareRanges(header);
  if (bytes.length < header.offsets.eof) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
      shnum,
      `the share is ${bytes.length} bytes, but its EOF offset is ${header.offsets.eof}`,
    );
  }
  const hashes = verifyShareHashes(
    header,
    shnum,
    piece(bytes, ranges.shareHashChain, "share hash chain", shnum),
    piece(bytes, ranges.blockHashTree, "block hash tree", shnum),
  );
  const block = (segnum: number) => {
    const data = piece(bytes, ranges.block(segnum), `block of segment ${segnum}`, shnum);
    return header.format === "SDMF"
      ? { salt: header.iv!, block: data }
      : { salt: data.subarray(0, SALT_LENGTH), block: data.subarray(SALT_LENGTH) };
  };
  const g = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  for (let s = 0; s < g.numSegments; s++) {
    const { salt, block: data } = block(s);
    verifyBlock(header, hashes, shnum, s, salt, data);
  }
  return {
    ...head,
    ...hashes,
    geometry: g,
    encprivkey: piece(bytes, ranges.encPrivkey, "encrypted private key", shnum).slice(),
    block,
  };
}

/** One share's block of one segment, already checked with `verifyBlock`. */
export interface SegmentBlock {
  readonly shnum: number;
  /** MDMF: the salt stored with the block; SDMF: the header's IV. */
  readonly salt: Uint8Array;
  readonly block: Uint8Array;
}

/**
 * One segment's plaintext from k verified blocks of one version: zfec-decode, cut to the
 * segment length, decrypt with datakey(salt). `coder` may be reused across segments.
 */
export function decodeSegmentBlocks(
  header: MutableHeader,
  blocks: readonly SegmentBlock[],
  segnum: number,
  readkey: Uint8Array,
  coder: ErasureCoder = createErasureCoder(header.k, header.n),
): Uint8Array {
  const chosen = blocks.slice(0, header.k);
  if (chosen.length < header.k) {
    throw new MutableError(
      "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES",
      `segment ${segnum} has ${chosen.length} good blocks, but k=${header.k}`,
      { hint: "Fetch this segment's block from more shares." },
    );
  }
  const g = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  const primary = coder.decode(
    chosen.map((p) => p.block),
    chosen.map((p) => p.shnum),
  );
  const crypttext = Buffer.concat(primary).subarray(0, segmentLength(g, segnum));
  return aesCtr(dataKeyOf(chosen[0]!.salt, readkey), crypttext);
}

/** One segment's plaintext from k whole verified shares of one version. */
export function decodeMutableSegment(
  shares: readonly VerifiedMutableShare[],
  segnum: number,
  readkey: Uint8Array,
  coder?: ErasureCoder,
): Uint8Array {
  const blocks = shares.slice(0, shares[0]!.header.k).map((s) => ({ shnum: s.shnum, ...s.block(segnum) }));
  return decodeSegmentBlocks(shares[0]!.header, blocks, segnum, readkey, coder);
}

/** Tahoe's version ranking: higher seqnum first, then the higher root hash (bytes). */
export function compareVersions(a: MutableHeader, b: MutableHeader): number {
  return a.seqnum - b.seqnum || compareBytes(a.rootHash, b.rootHash);
}

/** A key that is equal exactly for shares of one version (Tahoe's verinfo): the signed prefix. */
export function versionKey(header: MutableHeader): string {
  return Buffer.from(header.signedPrefix).toString("hex");
}

export interface DecodedMutableVersion {
  readonly plaintext: Uint8Array;
  readonly header: MutableHeader;
  /** The share numbers decoded from. */
  readonly sharesUsed: number[];
  /** Shares that failed a check, with why (a retriever reports them as corrupt). */
  readonly corrupt: CorruptMutableShareError[];
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Verifies every share given (shnum -> bytes), picks the newest version that has k good
 * shares (highest seqnum, then root hash, as Tahoe ranks them), and decodes it. Bad shares are
 * routed around and listed in `corrupt`. Throws TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES when no
 * version is recoverable. Needs a write or read cap (a verify cap cannot decrypt).
 */
export function decodeMutableVersion(
  cap: MutableCap,
  shares: ReadonlyMap<number, Uint8Array> | Iterable<readonly [number, Uint8Array]>,
): DecodedMutableVersion {
  if (cap.kind === "verify") {
    throw new MutableError("TAHOE_ERR_MUTABLE_CAP", "a verify cap can check shares but not decrypt them", {
      hint: "Read the file with its write cap (URI:SSK:/URI:MDMF:) or read cap (URI:SSK-RO:/URI:MDMF-RO:).",
    });
  }
  const { readkey } = readCapOf(cap);
  const corruptShares: CorruptMutableShareError[] = [];
  const versions = new Map<string, VerifiedMutableShare[]>();
  for (const [shnum, bytes] of shares) {
    try {
      const share = verifyMutableShare(bytes, shnum, cap.fingerprint);
      if (share.header.format !== cap.format) {
        throw corrupt(
          "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
          shnum,
          `a ${share.header.format} share, but the cap is ${cap.format}`,
        );
      }
      const key = versionKey(share.header);
      const list = versions.get(key) ?? [];
      if (!list.some((s) => s.shnum === shnum)) list.push(share);
      versions.set(key, list);
    } catch (error) {
      if (!(error instanceof CorruptMutableShareError)) throw error;
      corruptShares.push(error);
    }
  }
  const recoverable = [...versions.values()]
    .filter((list) => list.length >= list[0]!.header.k)
    .sort((a, b) => compareVersions(b[0]!.header, a[0]!.header));
  const best = recoverable[0];
  if (best === undefined) {
    const found = [...versions.values()].map(
      (l) => `seqnum ${l[0]!.header.seqnum}: ${l.length} of k=${l[0]!.header.k}`,
    );
    const failed = corruptShares.map((e) => e.message);
    throw new MutableError(
      "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES",
      `no version of the mutable file has enough good shares (${[...found, ...failed].join("; ") || "no shares given"})`,
      {
        hint: "Fewer than k good shares of any one version were found; check that enough storage servers are reachable.",
      },
    );
  }
  best.sort((a, b) => a.shnum - b.shnum);
  const header = best[0]!.header;
  const parts: Uint8Array[] = [];
  // One coder for the whole file: it keeps the decoding matrix for these share numbers.
  const coder = createErasureCoder(header.k, header.n);
  for (let s = 0; s < best[0]!.geometry.numSegments; s++)
    parts.push(decodeMutableSegment(best, s, readkey, coder));
  return {
    plaintext: Buffer.concat(parts),
    header,
    sharesUsed: best.slice(0, header.k).map((s) => s.shnum),
    corrupt: corruptShares,
  };
}

/**
 * The signing key from a share's encrypted private key, for a writer that holds only the
 * write cap (Tahoe's servermap in MODE_WRITE). Accepted only when the decrypted key hashes back
 * to `writekey`; otherwise TAHOE_ERR_MUTABLE_SHARE_PRIVKEY naming the share.
 */
export function privateKeyFromShare(
  encprivkey: Uint8Array,
  writekey: Uint8Array,
  shnum: number,
): MutableKeyPair {
  const der = decryptPrivateKey(writekey, encprivkey);
  if (der === undefined) {
    throw corrupt(
      "TAHOE_ERR_MUTABLE_SHARE_PRIVKEY",
      shnum,
      "its encrypted private key does not decrypt to the key the write cap names",
    );
  }
  try {
    return { privateKeyDer: der, publicKeyDer: importMutablePrivateKey(der).publicKeyDer };
  } catch (error) {
    throw new CorruptMutableShareError(
      "TAHOE_ERR_MUTABLE_SHARE_PRIVKEY",
      shnum,
      "its private key does not parse",
      {
        cause: error,
      },
    );
  }
}
