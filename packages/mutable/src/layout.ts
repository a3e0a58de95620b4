import type { MutableFormat } from "./caps.js";
import { CorruptMutableShareError } from "./errors.js";

/** SDMF fixed header (">BQ32s16s BBQQ LLLLQQ") and its signed part (">BQ32s16s BBQQ"). */
export const SDMF_HEADER_LENGTH = 107;
export const SDMF_SIGNED_PREFIX_LENGTH = 75;
export const SDMF_CHECKSTRING_LENGTH = 57;
/** MDMF fixed header (">BQ32sBBQQ QQQQQQQQ") and its signed part (">BQ32sBBQQ"). */
export const MDMF_HEADER_LENGTH = 123;
export const MDMF_SIGNED_PREFIX_LENGTH = 59;
export const MDMF_CHECKSTRING_LENGTH = 41;
/** Where MDMF share data always starts: 123 + 1220 + 260 + 292 + 272 reserved bytes. */
export const MDMF_SHARE_DATA_OFFSET = 2167;
/** Tahoe's MDMF segment size before rounding up to a multiple of k. */
export const MDMF_SEGMENT_SIZE = 131072;
export const SALT_LENGTH = 16;
export const HASH_LENGTH = 32;
/** How much of a share a servermap query reads first (servermap.py, MODE_READ/WRITE). */
export const SERVERMAP_READ_SIZE = 4000;

/**
 * Byte offsets inside a share (after the container header). SDMF has no verification-key
 * offsets (its key sits at 107); MDMF has both.
 */
export interface MutableOffsets {
  readonly signature: number;
  readonly shareHashChain: number;
  readonly blockHashTree: number;
  readonly shareData: number;
  readonly encPrivkey: number;
  readonly eof: number;
  readonly verificationKey: number;
  readonly verificationKeyEnd: number;
}

/** What the signature covers (plus the offsets that locate everything else). */
export interface MutableHeader {
  readonly format: MutableFormat;
  readonly seqnum: number;
  readonly rootHash: Uint8Array;
  /** SDMF only: the file's one IV ("salt"). Undefined for MDMF. */
  readonly iv: Uint8Array | undefined;
  readonly k: number;
  readonly n: number;
  readonly segmentSize: number;
  readonly dataLength: number;
  readonly offsets: MutableOffsets;
  /** The exact bytes that are signed: 75 (SDMF) or 59 (MDMF). */
  readonly signedPrefix: Uint8Array;
  /** What test-and-set compares: version ‖ seqnum ‖ root hash (‖ IV for SDMF). */
  readonly checkstring: Uint8Array;
}

/** How a version's plaintext is cut into segments and blocks. */
export interface SegmentGeometry {
  readonly segmentSize: number;
  readonly dataLength: number;
  readonly k: number;
  readonly numSegments: number;
  /** Block length of a full segment: segmentSize / k. */
  readonly blockSize: number;
  readonly tailSegmentSize: number;
  readonly tailBlockSize: number;
}

export function nextMultiple(n: number, k: number): number {
  return Math.ceil(n / k) * k;
}

/** The segment size Tahoe picks: the whole file for SDMF, 128 KiB (rounded to k) for MDMF. */
export function segmentSizeFor(format: MutableFormat, k: number, dataLength: number): number {
  return format === "SDMF" ? nextMultiple(dataLength, k) : nextMultiple(MDMF_SEGMENT_SIZE, k);
}

export function segmentGeometry(k: number, segmentSize: number, dataLength: number): SegmentGeometry {
  const numSegments = segmentSize === 0 ? 0 : Math.ceil(dataLength / segmentSize);
  const tail = numSegments === 0 ? 0 : dataLength - (numSegments - 1) * segmentSize;
  return {
    segmentSize,
    dataLength,
    k,
    numSegments,
    blockSize: segmentSize / k,
    tailSegmentSize: tail,
    tailBlockSize: nextMultiple(tail, k) / k,
  };
}

export function segmentLength(g: SegmentGeometry, segnum: number): number {
  return segnum === g.numSegments - 1 ? g.tailSegmentSize : g.segmentSize;
}

export function blockLength(g: SegmentGeometry, segnum: number): number {
  return segnum === g.numSegments - 1 ? g.tailBlockSize : g.blockSize;
}

/**
 * Bytes of share data a version's shares hold (MDMF: each block with its salt), computed
 * without walking segments, so an absurd header costs nothing.
 */
export function shareDataLength(format: MutableFormat, g: SegmentGeometry): number {
  if (g.numSegments === 0) return 0;
  const salt = format === "MDMF" ? SALT_LENGTH : 0;
  return (g.numSegments - 1) * (g.blockSize + salt) + g.tailBlockSize + salt;
}

/** Nodes in a Tahoe hash tree over `leaves` leaves (at least one, padded to a power of two). */
export function hashTreeNodeCount(leaves: number): number {
  let p = 1;
  while (p < leaves) p *= 2;
  return 2 * p - 1;
}

/** Where segment `segnum`'s data (MDMF: salt ‖ block) starts in a share. */
export function blockOffset(header: MutableHeader, segnum: number): number {
  const g = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  const stride = header.format === "MDMF" ? g.blockSize + SALT_LENGTH : g.blockSize;
  return header.offsets.shareData + segnum * stride;
}

function u64(view: DataView, at: number): number {
  const value = view.getBigUint64(at);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(value);
}

function corrupt(shnum: number, why: string): CorruptMutableShareError {
  return new CorruptMutableShareError("TAHOE_ERR_MUTABLE_SHARE_LAYOUT", shnum, why);
}

/**
 * Parses a share's fixed header and offset table (the first 107 or 123 bytes suffice) and
 * checks that the offsets are in the order the format puts them. Throws
 * CorruptMutableShareError (TAHOE_ERR_MUTABLE_SHARE_LAYOUT) naming `shnum`.
 */
export function parseMutableHeader(bytes: Uint8Array, shnum: number): MutableHeader {
  if (bytes.length < 1) throw corrupt(shnum, "the share is empty");
  const version = bytes[0];
  if (version !== 0 && version !== 1) {
    throw corrupt(shnum, `unknown share version ${version}; only 0 (SDMF) and 1 (MDMF) exist`);
  }
  const format: MutableFormat = version === 0 ? "SDMF" : "MDMF";
  const headerLength = format === "SDMF" ? SDMF_HEADER_LENGTH : MDMF_HEADER_LENGTH;
  if (bytes.length < headerLength) {
    throw corrupt(
      shnum,
      `the share is ${bytes.length} bytes, shorter than the ${headerLength}-byte ${format} header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerLength);
  const seqnum = u64(view, 1);
  const rootHash = bytes.slice(9, 41);
  let iv: Uint8Array | undefined;
  let at = 41;
  if (format === "SDMF") {
    iv = bytes.slice(41, 57);
    at = 57;
  }
  const k = bytes[at]!;
  const n = bytes[at + 1]!;
  const segmentSize = u64(view, at + 2);
  const dataLength = u64(view, at + 10);
  const signedLength = at + 18;
  let offsets: MutableOffsets;
  if (format === "SDMF") {
    offsets = {
      signature: view.getUint32(75),
      shareHashChain: view.getUint32(79),
      blockHashTree: view.getUint32(83),
      shareData: view.getUint32(87),
      encPrivkey: u64(view, 91),
      eof: u64(view, 99),
      verificationKey: SDMF_HEADER_LENGTH,
      verificationKeyEnd: view.getUint32(75),
    };
  } else {
    offsets = {
      encPrivkey: u64(view, 59),
      shareHashChain: u64(view, 67),
      signature: u64(view, 75),
      verificationKey: u64(view, 83),
      verificationKeyEnd: u64(view, 91),
      shareData: u64(view, 99),
      blockHashTree: u64(view, 107),
      eof: u64(view, 115),
    };
  }
  if (!Number.isSafeInteger(seqnum)) throw corrupt(shnum, "the sequence number is beyond 2^53");
  if (!Number.isSafeInteger(segmentSize) || !Number.isSafeInteger(dataLength)) {
    throw corrupt(shnum, "the segment size or data length is beyond 2^53");
  }
  if (k < 1 || n < k) throw corrupt(shnum, `k=${k}, N=${n} is not 1 <= k <= N <= 255`);
  if (segmentSize % k !== 0) throw corrupt(shnum, `segment size ${segmentSize} is not a multiple of k=${k}`);
  if (dataLength > 0 && segmentSize === 0)
    throw corrupt(shnum, `data length ${dataLength} with segment size 0`);
  if (format === "SDMF" && dataLength > segmentSize) {
    throw corrupt(
      shnum,
      `an SDMF share has one segment, but data length ${dataLength} > segment size ${segmentSize}`,
    );
  }
  checkOffsetOrder(format, offsets, headerLength, shnum);
  const checkLength = format === "SDMF" ? SDMF_CHECKSTRING_LENGTH : MDMF_CHECKSTRING_LENGTH;
  return {
    format,
    seqnum,
    rootHash,
    iv,
    k,
    n,
    segmentSize,
    dataLength,
    offsets,
    signedPrefix: bytes.slice(0, signedLength),
    checkstring: bytes.slice(0, checkLength),
  };
}

function checkOffsetOrder(
  format: MutableFormat,
  o: MutableOffsets,
  headerLength: number,
  shnum: number,
): void {
  const order: [string, number][] =
    format === "SDMF"
      ? [
          ["header end", headerLength],
          ["signature", o.signature],
          ["share hash chain", o.shareHashChain],
          ["block hash tree", o.blockHashTree],
          ["share data", o.shareData],
          ["encrypted private key", o.encPrivkey],
          ["EOF", o.eof],
        ]
      : [
          ["header end", headerLength],
          ["encrypted private key", o.encPrivkey],
          ["share hash chain", o.shareHashChain],
          ["signature", o.signature],
          ["verification key", o.verificationKey],
          ["verification key end", o.verificationKeyEnd],
          ["share data", o.shareData],
          ["block hash tree", o.blockHashTree],
          ["EOF", o.eof],
        ];
  for (let i = 1; i < order.length; i++) {
    const [name, value] = order[i]!;
    const [before, previous] = order[i - 1]!;
    if (!Number.isSafeInteger(value) || value < previous) {
      throw corrupt(shnum, `offset of the ${name} (${value}) lies before the ${before} (${previous})`);
    }
  }
  if (format === "MDMF" && o.shareData !== MDMF_SHARE_DATA_OFFSET) {
    throw corrupt(shnum, `MDMF share data starts at ${o.shareData}, not ${MDMF_SHARE_DATA_OFFSET}`);
  }
}

/** One byte range of a share: what a reader asks a server for. */
export interface ShareRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * The ranges of every piece of a share, from its header: what a retriever reads with
 * `slot_readv` (GBS read-test-write reads) instead of the whole share.
 */
export function shareRanges(header: MutableHeader): {
  verificationKey: ShareRange;
  signature: ShareRange;
  shareHashChain: ShareRange;
  blockHashTree: ShareRange;
  encPrivkey: ShareRange;
  /** MDMF: salt ‖ block; SDMF: the block alone (its salt is the header's IV). */
  block(segnum: number): ShareRange;
} {
  const o = header.offsets;
  const g = segmentGeometry(header.k, header.segmentSize, header.dataLength);
  const range = (from: number, to: number): ShareRange => ({ offset: from, length: to - from });
  const sdmf = header.format === "SDMF";
  return {
    verificationKey: sdmf
      ? range(SDMF_HEADER_LENGTH, o.signature)
      : range(o.verificationKey, o.verificationKeyEnd),
    signature: sdmf ? range(o.signature, o.shareHashChain) : range(o.signature, o.verificationKey),
    shareHashChain: sdmf ? range(o.shareHashChain, o.blockHashTree) : range(o.shareHashChain, o.signature),
    blockHashTree: sdmf ? range(o.blockHashTree, o.shareData) : range(o.blockHashTree, o.eof),
    encPrivkey: sdmf ? range(o.encPrivkey, o.eof) : range(o.encPrivkey, o.shareHashChain),
    block(segnum) {
      const extra = sdmf ? 0 : SALT_LENGTH;
      return { offset: blockOffset(header, segnum), length: blockLength(g, segnum) + extra };
    },
  };
}

/** Packs a share hash chain: `u16 index ‖ 32-byte hash` per entry, by ascending index. */
export function packShareHashChain(chain: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const indices = [...chain.keys()].sort((a, b) => a - b);
  const out = new Uint8Array(indices.length * 34);
  indices.forEach((index, i) => {
    out[i * 34] = index >> 8;
    out[i * 34 + 1] = index & 0xff;
    out.set(chain.get(index)!, i * 34 + 2);
  });
  return out;
}

export function unpackShareHashChain(bytes: Uint8Array, shnum: number): Map<number, Uint8Array> {
  if (bytes.length % 34 !== 0) {
    throw corrupt(shnum, `the share hash chain is ${bytes.length} bytes, not a multiple of 34`);
  }
  const chain = new Map<number, Uint8Array>();
  for (let at = 0; at < bytes.length; at += 34) {
    const index = (bytes[at]! << 8) | bytes[at + 1]!;
    if (chain.has(index)) throw corrupt(shnum, `the share hash chain lists node ${index} twice`);
    chain.set(index, bytes.slice(at + 2, at + 34));
  }
  return chain;
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

function u64bytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

export interface PrefixFields {
  readonly format: MutableFormat;
  readonly seqnum: number;
  readonly rootHash: Uint8Array;
  readonly iv?: Uint8Array | undefined;
  readonly k: number;
  readonly n: number;
  readonly segmentSize: number;
  readonly dataLength: number;
}

/** The signed prefix: SDMF version ‖ seqnum ‖ root ‖ IV ‖ k ‖ N ‖ segsize ‖ datalen; MDMF without the IV. */
export function packSignedPrefix(f: PrefixFields): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(f.format === "SDMF" ? 0 : 1), u64bytes(f.seqnum), f.rootHash];
  if (f.format === "SDMF") parts.push(f.iv!);
  parts.push(Uint8Array.of(f.k, f.n), u64bytes(f.segmentSize), u64bytes(f.dataLength));
  return Buffer.concat(parts);
}

/** The offset table as it follows the signed prefix in the header. */
export function packOffsets(format: MutableFormat, o: MutableOffsets): Uint8Array {
  if (format === "SDMF") {
    return Buffer.concat([
      u32(o.signature),
      u32(o.shareHashChain),
      u32(o.blockHashTree),
      u32(o.shareData),
      u64bytes(o.encPrivkey),
      u64bytes(o.eof),
    ]);
  }
  return Buffer.concat(
    [
      o.encPrivkey,
      o.shareHashChain,
      o.signature,
      o.verificationKey,
      o.verificationKeyEnd,
      o.shareData,
      o.blockHashTree,
      o.eof,
    ].map(u64bytes),
  );
}
