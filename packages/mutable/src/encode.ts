import { createCtrCipher, createErasureCoder, type ErasureCoder } from "@lafs/immutable";
import type { MutableFormat } from "./caps.js";
import { dataKeyOf, deriveMutableSecrets, type MutableSecrets } from "./derive.js";
import { MutableError } from "./errors.js";
import { hashTreeOf, mutableBlockHash, neededHashes } from "./hash-tree.js";
import {
  blockLength,
  HASH_LENGTH,
  hashTreeNodeCount,
  MDMF_CHECKSTRING_LENGTH,
  MDMF_HEADER_LENGTH,
  MDMF_SHARE_DATA_OFFSET,
  MDMF_SIGNED_PREFIX_LENGTH,
  type MutableHeader,
  type MutableOffsets,
  packOffsets,
  packShareHashChain,
  packSignedPrefix,
  SALT_LENGTH,
  SDMF_CHECKSTRING_LENGTH,
  SDMF_HEADER_LENGTH,
  segmentGeometry,
  segmentLength,
  segmentSizeFor,
  shareDataLength,
} from "./layout.js";
import { type MutableKeyPair, randomSalt, signMutable } from "./rsa.js";

/** One write a storage server applies to a share: `data` at `offset` (holes fill with zeros). */
export interface ShareWrite {
  readonly offset: number;
  readonly data: Uint8Array;
}

/** Where fresh salts come from: injected ones (tests) in call order, else random. */
export type SaltSource = () => Uint8Array;

export function saltSource(salts: readonly Uint8Array[] | undefined): SaltSource {
  if (salts === undefined) return randomSalt;
  let next = 0;
  return () => {
    const salt = salts[next++];
    if (salt === undefined) {
      throw new MutableError(
        "TAHOE_ERR_MUTABLE_PARAMS",
        `only ${salts.length} salts were given, but more segments need one`,
        {
          hint: "Pass one 16-byte salt per segment written (SDMF: one IV), or none for random salts.",
        },
      );
    }
    if (salt.length !== SALT_LENGTH) {
      throw new MutableError(
        "TAHOE_ERR_MUTABLE_PARAMS",
        `salt ${next - 1} is ${salt.length} bytes, not ${SALT_LENGTH}`,
        {
          hint: "Salts and SDMF IVs are 16 bytes.",
        },
      );
    }
    return salt;
  };
}

/** One segment encrypted and erasure-coded: a block for every share, and each block's hash. */
export interface EncodedSegment {
  readonly salt: Uint8Array;
  readonly blocks: Uint8Array[];
  readonly hashes: Uint8Array[];
}

/** Encrypts a segment with datakey(salt) (counter from 0), cuts it into k zero-padded pieces, codes N blocks. */
export function encodeSegment(
  format: MutableFormat,
  coder: ErasureCoder,
  readkey: Uint8Array,
  salt: Uint8Array,
  plaintext: Uint8Array,
  blockSize: number,
): EncodedSegment {
  const padded = Buffer.allocUnsafe(blockSize * coder.k);
  const crypttext = createCtrCipher(dataKeyOf(salt, readkey)).update(plaintext);
  crypttext.copy(padded);
  padded.fill(0, crypttext.length);
  const primary: Uint8Array[] = [];
  for (let i = 0; i < coder.k; i++) primary.push(padded.subarray(i * blockSize, (i + 1) * blockSize));
  const blocks = [...primary, ...coder.encode(primary)];
  const hashes = blocks.map((block) => mutableBlockHash(block, format === "MDMF" ? salt : undefined));
  return { salt, blocks, hashes };
}

/** Everything about a version that is not blocks: the trees, the root, the signed header. */
export interface SignedVersion {
  readonly header: MutableHeader;
  readonly signature: Uint8Array;
  /** shnum -> that share's whole block hash tree (root first). */
  readonly blockHashTrees: Uint8Array[][];
  /** shnum -> that share's share hash chain (index -> hash). */
  readonly shareHashChains: Map<number, Uint8Array>[];
}

export interface VersionFields {
  readonly format: MutableFormat;
  readonly seqnum: number;
  readonly k: number;
  readonly n: number;
  readonly segmentSize: number;
  readonly dataLength: number;
  /** SDMF only. */
  readonly iv?: Uint8Array | undefined;
}

/**
 * Builds each share's block hash tree from its leaves (one block hash per segment), the share
 * hash tree over their roots, the offsets and the signed prefix, and signs it.
 */
export function signVersion(
  fields: VersionFields,
  keyPair: MutableKeyPair,
  encprivkeyLength: number,
  leaves: readonly (readonly Uint8Array[])[],
  pssSalt?: Uint8Array,
): SignedVersion {
  const blockHashTrees = leaves.map((l) => hashTreeOf(l));
  const shareTree = hashTreeOf(blockHashTrees.map((tree) => tree[0]!));
  const rootHash = shareTree[0]!;
  const shareHashChains = blockHashTrees.map((_, shnum) => {
    const chain = new Map<number, Uint8Array>();
    for (const index of neededHashes(fields.n, shnum)) chain.set(index, shareTree[index]!);
    return chain;
  });
  const offsets = offsetsOf(fields, encprivkeyLength, keyPair.publicKeyDer.length);
  const signedPrefix = packSignedPrefix({ ...fields, rootHash });
  const signature = signMutable(keyPair, signedPrefix, { pssSalt });
  const checkLength = fields.format === "SDMF" ? SDMF_CHECKSTRING_LENGTH : MDMF_CHECKSTRING_LENGTH;
  const header: MutableHeader = {
    format: fields.format,
    seqnum: fields.seqnum,
    rootHash,
    iv: fields.format === "SDMF" ? fields.iv : undefined,
    k: fields.k,
    n: fields.n,
    segmentSize: fields.segmentSize,
    dataLength: fields.dataLength,
    offsets,
    signedPrefix,
    checkstring: signedPrefix.slice(0, checkLength),
  };
  return { header, signature, blockHashTrees, shareHashChains };
}

/** Every offset of a version's shares, from its sizes alone (all shares of a version share them). */
export function offsetsOf(
  fields: VersionFields,
  encprivkeyLength: number,
  verificationKeyLength: number,
): MutableOffsets {
  const { format } = fields;
  const g = segmentGeometry(fields.k, fields.segmentSize, fields.dataLength);
  const chainLength = neededHashes(fields.n, 0).length * 34;
  const treeLength = hashTreeNodeCount(Math.max(1, g.numSegments)) * HASH_LENGTH;
  if (format === "SDMF") {
    const signature = SDMF_HEADER_LENGTH + verificationKeyLength;
    const shareHashChain = signature + 256;
    const blockHashTree = shareHashChain + chainLength;
    const shareData = blockHashTree + treeLength;
    const encPrivkey = shareData + (g.numSegments === 0 ? 0 : g.blockSize);
    return {
      signature,
      shareHashChain,
      blockHashTree,
      shareData,
      encPrivkey,
      eof: encPrivkey + encprivkeyLength,
      verificationKey: SDMF_HEADER_LENGTH,
      verificationKeyEnd: signature,
    };
  }
  const encPrivkey = MDMF_HEADER_LENGTH;
  const shareHashChain = encPrivkey + encprivkeyLength;
  const signature = shareHashChain + chainLength;
  const verificationKey = signature + 256;
  const verificationKeyEnd = verificationKey + verificationKeyLength;
  const blockHashTree = MDMF_SHARE_DATA_OFFSET + shareDataLength("MDMF", g);
  return {
    encPrivkey,
    shareHashChain,
    signature,
    verificationKey,
    verificationKeyEnd,
    shareData: MDMF_SHARE_DATA_OFFSET,
    blockHashTree,
    eof: blockHashTree + treeLength,
  };
}

/**
 * The write vectors of one share, in the order Tahoe's MDMF writer queues them (SDMF: the
 * whole share in one write at 0). `segments` limits which blocks are written (an in-place
 * update); everything else is always rewritten.
 */
export function shareWrites(
  version: SignedVersion,
  shnum: number,
  keyPair: MutableKeyPair,
  encprivkey: Uint8Array,
  blocks: ReadonlyMap<number, { salt: Uint8Array; block: Uint8Array }>,
): ShareWrite[] {
  const { header } = version;
  const o = header.offsets;
  const tree = Buffer.concat(version.blockHashTrees[shnum]!);
  const chain = packShareHashChain(version.shareHashChains[shnum]!);
  if (header.format === "SDMF") {
    const only = blocks.get(0);
    const share = Buffer.concat([
      header.signedPrefix,
      packOffsets("SDMF", o),
      keyPair.publicKeyDer,
      version.signature,
      chain,
      tree,
      only === undefined ? new Uint8Array(0) : only.block,
      encprivkey,
    ]);
    return [{ offset: 0, data: share }];
  }
  const g = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  const writes: ShareWrite[] = [];
  for (const segnum of [...blocks.keys()].sort((a, b) => a - b)) {
    const { salt, block } = blocks.get(segnum)!;
    writes.push({
      offset: o.shareData + segnum * (g.blockSize + SALT_LENGTH),
      data: Buffer.concat([salt, block]),
    });
  }
  writes.push(
    { offset: o.encPrivkey, data: encprivkey },
    { offset: o.blockHashTree, data: tree },
    { offset: o.shareHashChain, data: chain },
    { offset: 0, data: header.checkstring },
    { offset: o.signature, data: version.signature },
    { offset: o.verificationKey, data: keyPair.publicKeyDer },
    { offset: MDMF_SIGNED_PREFIX_LENGTH, data: packOffsets("MDMF", o) },
    { offset: MDMF_CHECKSTRING_LENGTH, data: header.signedPrefix.subarray(MDMF_CHECKSTRING_LENGTH) },
    // The writer's first write ends with the checkstring again (layout.py _write).
    { offset: 0, data: header.checkstring },
  );
  return writes;
}

/** What a server holds after applying `writes` to `old` (empty for a new share): holes are zeros. */
export function applyShareWrites(old: Uint8Array, writes: readonly ShareWrite[]): Uint8Array {
  let length = old.length;
  for (const w of writes) length = Math.max(length, w.offset + w.data.length);
  const out = new Uint8Array(length);
  out.set(old);
  for (const w of writes) out.set(w.data, w.offset);
  return out;
}

export interface EncodeMutableOptions {
  readonly format: MutableFormat;
  readonly keyPair: MutableKeyPair;
  readonly plaintext: Uint8Array;
  /** 1 for a new file; the servermap's highest seqnum + 1 for an overwrite. */
  readonly seqnum: number;
  readonly k: number;
  readonly n: number;
  /** Injected salts in call order (SDMF: one IV; MDMF: one per segment). Random when absent. */
  readonly salts?: readonly Uint8Array[] | undefined;
  /** Injected RSASSA-PSS salt (32 bytes). Random when absent. */
  readonly pssSalt?: Uint8Array | undefined;
  /** Derived from keyPair when absent (pass them to save the hashing). */
  readonly secrets?: MutableSecrets | undefined;
}

/** A whole version, ready to publish: each share's write vectors and its resulting bytes. */
export interface EncodedMutableVersion extends SignedVersion {
  readonly secrets: MutableSecrets;
  /** The salts drawn, in call order (SDMF: the IV). */
  readonly salts: Uint8Array[];
  /** shnum -> the write vectors Tahoe would send for a fresh share. */
  readonly writes: ShareWrite[][];
  /** shnum -> the share's bytes as a server stores them (after the container header). */
  readonly shares: Uint8Array[];
}

export function checkEncodingParameters(k: number, n: number, what = "encoding parameters"): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > 255) {
    throw new MutableError("TAHOE_ERR_MUTABLE_PARAMS", `${what}: k=${k}, N=${n} is not 1 <= k <= N <= 255`, {
      hint: "shares.needed (k) and shares.total (N) must be whole numbers with 1 <= k <= N <= 255 (a share header holds N in one byte).",
    });
  }
}

function checkSeqnum(seqnum: number): void {
  if (!Number.isSafeInteger(seqnum) || seqnum < 1) {
    throw new MutableError(
      "TAHOE_ERR_MUTABLE_PARAMS",
      `sequence number ${seqnum} is not a whole number >= 1`,
      {
        hint: "A new file has seqnum 1; an overwrite uses the highest seqnum seen + 1.",
      },
    );
  }
}

/**
 * Encrypts, erasure-codes, hashes and signs a whole version (create or overwrite):
 * plaintext -> segments -> AES-128-CTR(datakey(salt)) -> zfec k-of-N -> block hash trees ->
 * share hash tree -> signed prefix -> every share's exact bytes. Pure apart from random salts.
 */
export function encodeMutableVersion(options: EncodeMutableOptions): EncodedMutableVersion {
  const { format, keyPair, plaintext, seqnum, k, n } = options;
  checkEncodingParameters(k, n);
  checkSeqnum(seqnum);
  const secrets = options.secrets ?? deriveMutableSecrets(keyPair);
  const nextSalt = saltSource(options.salts);
  const segmentSize = segmentSizeFor(format, k, plaintext.length);
  const g = segmentGeometry(k, segmentSize, plaintext.length);
  const sizes = { format, seqnum, k, n, segmentSize, dataLength: plaintext.length };
  const offsets = offsetsOf(sizes, secrets.encprivkey.length, keyPair.publicKeyDer.length);
  // Blocks go straight into each share's buffer; every byte but MDMF's reserved gap is written.
  const shares: Uint8Array[] = Array.from({ length: n }, () => {
    const share = new Uint8Array(Buffer.allocUnsafe(offsets.eof));
    share.fill(0, offsets.verificationKeyEnd, offsets.shareData);
    return share;
  });
  const stride = format === "MDMF" ? g.blockSize + SALT_LENGTH : g.blockSize;
  const coder = createErasureCoder(k, n);
  const leaves: Uint8Array[][] = Array.from({ length: n }, () => []);
  const salts: Uint8Array[] = [];
  for (let s = 0; s < g.numSegments; s++) {
    const salt = nextSalt();
    salts.push(salt);
    const start = s * segmentSize;
    const segment = plaintext.subarray(start, start + segmentLength(g, s));
    const encoded = encodeSegment(format, coder, secrets.readkey, salt, segment, blockLength(g, s));
    const at = offsets.shareData + s * stride;
    for (let shnum = 0; shnum < n; shnum++) {
      leaves[shnum]!.push(encoded.hashes[shnum]!);
      if (format === "MDMF") {
        shares[shnum]!.set(salt, at);
        shares[shnum]!.set(encoded.blocks[shnum]!, at + SALT_LENGTH);
      } else {
        shares[shnum]!.set(encoded.blocks[shnum]!, at);
      }
    }
  }
  // An empty SDMF file still draws one IV, or the signed prefix would have nothing there.
  if (format === "SDMF" && g.numSegments === 0) salts.push(nextSalt());
  const fields: VersionFields = { ...sizes, iv: format === "SDMF" ? salts[0] : undefined };
  const signed = signVersion(fields, keyPair, secrets.encprivkey.length, leaves, options.pssSalt);
  const writes = shares.map((share, shnum) => {
    if (format === "SDMF") {
      const block = share.subarray(offsets.shareData, offsets.encPrivkey);
      const whole = shareWrites(
        signed,
        shnum,
        keyPair,
        secrets.encprivkey,
        new Map([[0, { salt: salts[0]!, block }]]),
      );
      shares[shnum] = whole[0]!.data;
      return whole;
    }
    const pieces = shareWrites(signed, shnum, keyPair, secrets.encprivkey, new Map());
    for (const w of pieces) share.set(w.data, w.offset);
    const blockWrites: ShareWrite[] = [];
    for (let s = 0; s < g.numSegments; s++) {
      const at = offsets.shareData + s * stride;
      blockWrites.push({ offset: at, data: share.subarray(at, at + blockLength(g, s) + SALT_LENGTH) });
    }
    return [...blockWrites, ...pieces];
  });
  return { ...signed, secrets, salts, writes, shares };
}

/** A slot test vector: the bytes at [offset, offset+size) must equal `specimen` (cut short at the end). */
export interface SlotTestVector {
  readonly offset: number;
  readonly size: number;
  readonly specimen: Uint8Array;
}

/**
 * The test vector Tahoe's publisher sends for one share: `(0, 1, "")` ("must not exist") for a
 * share the servermap did not see, or `(0, len, old checkstring)` for one it saw, so that a
 * concurrent writer's change makes the write fail instead of being lost.
 */
export function publishTestVector(oldCheckstring?: Uint8Array): SlotTestVector {
  if (oldCheckstring === undefined || oldCheckstring.length === 0) {
    return { offset: 0, size: 1, specimen: new Uint8Array(0) };
  }
  return { offset: 0, size: oldCheckstring.length, specimen: oldCheckstring };
}

/** The read vector a publish sends, to see every share's checkstring in the answer: [(0, 57)] or [(0, 41)]. */
export function checkstringReadVector(format: MutableFormat): { offset: number; size: number } {
  return { offset: 0, size: format === "SDMF" ? SDMF_CHECKSTRING_LENGTH : MDMF_CHECKSTRING_LENGTH };
}
