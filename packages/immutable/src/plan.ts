import { ImmutableError } from "./errors.js";
import { uebLengthFor } from "./ueb.js";

/** Tahoe's default maximum segment size (1 MiB); the published vectors use 128 KiB. */
export const DEFAULT_MAX_SEGMENT_SIZE = 1_048_576;
/** Files of at most this many bytes become `URI:LIT:` caps and are never uploaded. */
export const LITERAL_MAX_SIZE = 55;
/** One share-hash-chain entry: u16 tree index || 32-byte hash. */
export const CHAIN_ENTRY_SIZE = 34;
export const HASH_SIZE = 32;

export interface ChkParams {
  /** shares.needed. */
  readonly k: number;
  /** shares.total. */
  readonly n: number;
  /** Default 1 MiB (DEFAULT_MAX_SEGMENT_SIZE). */
  readonly maxSegmentSize?: number | undefined;
}

/** Where each section of a share starts (spec §2.10); every share of a file has the same layout. */
export interface ShareLayout {
  /** 1 (u32 fields, 0x24-byte header) or 2 (u64 fields, 0x44-byte header). */
  readonly version: 1 | 2;
  readonly headerSize: number;
  readonly data: number;
  readonly plaintextHashTree: number;
  readonly crypttextHashTree: number;
  readonly blockHashTree: number;
  readonly shareHashChain: number;
  /** The offset of the UEB-length field; the UEB follows it. */
  readonly uebLength: number;
}

/** Every size and offset of a CHK upload, from the file size and the encoding parameters. */
export interface ChkPlan {
  readonly size: number;
  readonly k: number;
  readonly n: number;
  /** The effective segment size: next_multiple(min(max, size), k). The key depends on it. */
  readonly segmentSize: number;
  readonly numSegments: number;
  /** Bytes of plaintext in the last segment (segmentSize when it is full). */
  readonly tailSize: number;
  readonly paddedTailSize: number;
  readonly blockSize: number;
  readonly tailBlockSize: number;
  /** ceil(size / k): the data section of each share. */
  readonly shareDataSize: number;
  /** Nodes in each segment-indexed tree (block, crypttext): 2 * nextPowerOfTwo(numSegments) - 1. */
  readonly segmentTreeNodes: number;
  /** Entries in each share's hash chain: log2(nextPowerOfTwo(n)) + 1. */
  readonly chainLength: number;
  readonly layout: ShareLayout;
  /** Length of the UEB this file gets (the hashes have fixed length, so it is known up front). */
  readonly uebSize: number;
  /** The bytes of each share: the `allocated-size` an uploader asks servers for. */
  readonly shareSize: number;
}

export function nextPowerOfTwo(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

export function nextMultiple(x: number, k: number): number {
  return Math.ceil(x / k) * k;
}

function checkInteger(name: string, value: number, min: number, max: number, hint: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ImmutableError("TAHOE_ERR_IMMUTABLE_PARAMS", `${name} = ${value} is out of range`, {
      hint: `${name} must be a whole number from ${min} to ${max}. ${hint}`,
    });
  }
}

/** Checks k, n and the maximum segment size as Tahoe does: 1 <= k <= n <= 256. */
export function checkChkParams(params: ChkParams): void {
  checkInteger("shares.needed (k)", params.k, 1, 256, "It cannot exceed shares.total.");
  checkInteger("shares.total (n)", params.n, 1, 256, "");
  if (params.k > params.n) {
    throw new ImmutableError(
      "TAHOE_ERR_IMMUTABLE_PARAMS",
      `shares.needed (k) = ${params.k} is larger than shares.total (n) = ${params.n}`,
      { hint: "Choose 1 <= k <= n <= 256, for example k=3, n=10." },
    );
  }
  if (params.maxSegmentSize !== undefined) {
    checkInteger("maximum segment size", params.maxSegmentSize, 1, 2 ** 40, "Tahoe's default is 1048576.");
  }
}

const U32_LIMIT = 2 ** 32;

function layoutFor(
  version: 1 | 2,
  shareDataSize: number,
  treeBytes: number,
  chainBytes: number,
): ShareLayout {
  const headerSize = version === 1 ? 0x24 : 0x44;
  const data = headerSize;
  const plaintextHashTree = data + shareDataSize;
  const crypttextHashTree = plaintextHashTree + treeBytes;
  const blockHashTree = crypttextHashTree + treeBytes;
  const shareHashChain = blockHashTree + treeBytes;
  const uebLength = shareHashChain + chainBytes;
  return {
    version,
    headerSize,
    data,
    plaintextHashTree,
    crypttextHashTree,
    blockHashTree,
    shareHashChain,
    uebLength,
  };
}

/**
 * The sizes and share layout of a CHK file of `size` bytes (size >= 1; files of 55 bytes or
 * less are normally LIT). Throws TAHOE_ERR_IMMUTABLE_PARAMS for k, n or sizes out of range.
 */
export function planChk(size: number, params: ChkParams): ChkPlan {
  checkChkParams(params);
  checkInteger(
    "file size",
    size,
    1,
    Number.MAX_SAFE_INTEGER,
    "An empty file is a LIT cap and has no shares.",
  );
  const { k, n } = params;
  const max = params.maxSegmentSize ?? DEFAULT_MAX_SEGMENT_SIZE;
  const segmentSize = nextMultiple(Math.min(max, size), k);
  const numSegments = Math.ceil(size / segmentSize);
  const tailSize = size % segmentSize === 0 ? segmentSize : size % segmentSize;
  const paddedTailSize = nextMultiple(tailSize, k);
  const blockSize = segmentSize / k;
  const tailBlockSize = paddedTailSize / k;
  const shareDataSize = Math.ceil(size / k);
  const segmentTreeNodes = 2 * nextPowerOfTwo(numSegments) - 1;
  const chainLength = Math.log2(nextPowerOfTwo(n)) + 1;
  const treeBytes = segmentTreeNodes * HASH_SIZE;
  const chainBytes = chainLength * CHAIN_ENTRY_SIZE;
  let layout = layoutFor(1, shareDataSize, treeBytes, chainBytes);
  if (blockSize >= U32_LIMIT || shareDataSize >= U32_LIMIT || layout.uebLength >= U32_LIMIT) {
    layout = layoutFor(2, shareDataSize, treeBytes, chainBytes);
  }
  const uebSize = uebLengthFor({ size, segmentSize, numSegments, paddedTailSize, k, n });
  const shareSize = layout.uebLength + (layout.version === 1 ? 4 : 8) + uebSize;
  return {
    size,
    k,
    n,
    segmentSize,
    numSegments,
    tailSize,
    paddedTailSize,
    blockSize,
    tailBlockSize,
    shareDataSize,
    segmentTreeNodes,
    chainLength,
    layout,
    uebSize,
    shareSize,
  };
}

/** The plaintext bytes [start, end) of segment `s`. */
export function segmentRange(plan: ChkPlan, s: number): { start: number; end: number } {
  const start = s * plan.segmentSize;
  return { start, end: Math.min(plan.size, start + plan.segmentSize) };
}

/** The block size of segment `s`: blockSize, or tailBlockSize for the last one. */
export function blockSizeOf(plan: ChkPlan, s: number): number {
  return s === plan.numSegments - 1 ? plan.tailBlockSize : plan.blockSize;
}
