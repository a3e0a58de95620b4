import { createHash, randomBytes } from "node:crypto";
import { netstring } from "@lafs/crypto";
import { createCtrCipher, encryptInto } from "./aes-ctr.js";
import { type BufferPool, createBufferPool } from "./buffer-pool.js";
import {
  type ChkReadCap,
  formatChkReadCap,
  formatChkVerifyCap,
  formatLiteralCap,
  type LiteralCap,
  storageIndexOfKey,
} from "./caps.js";
import { createConvergenceHasher } from "./convergence.js";
import { ImmutableError } from "./errors.js";
import { buildHashTree } from "./hash-tree.js";
import {
  CHAIN_ENTRY_SIZE,
  type ChkParams,
  type ChkPlan,
  checkChkParams,
  DEFAULT_MAX_SEGMENT_SIZE,
  LITERAL_MAX_SIZE,
  nextMultiple,
  planChk,
} from "./plan.js";
import { shareHashChainIndices } from "./share-hash-chain.js";
import { encodeShareHeader, headerOf } from "./share-header.js";
import { type ByteSource, readExactly, readExactlyReusing } from "./source.js";
import { encodeUeb, uebFor, uebHash } from "./ueb.js";
import { createErasureCoder } from "./zfec/index.js";

const BLOCK_PREFIX = netstring("allmydata_encoded_subshare_v1");
const CRYPTTEXT_SEGMENT_PREFIX = netstring("allmydata_crypttext_segment_v1");
const CRYPTTEXT_PREFIX = netstring("allmydata_crypttext_v1");

/** tagged_hash with the tag's netstring prepared once: the encoder hashes every block. */
function prefixedHash(prefix: Uint8Array, value: Uint8Array): Buffer {
  return createHash("sha256").update(createHash("sha256").update(prefix).update(value).digest()).digest();
}
/** How much plaintext the convergence pass reads at a time. */
const HASH_CHUNK = 1 << 20;

export interface ChkEncodeOptions extends ChkParams {
  /** Convergent encryption: the key is a hash of this secret, the parameters and the plaintext. */
  readonly convergenceSecret?: Uint8Array | undefined;
  /** Random-key encryption: a fresh key, so equal files do not share storage. */
  readonly randomKey?: boolean | undefined;
  /** An explicit 16-byte key (tests, or a caller that chose its own random key). */
  readonly encryptionKey?: Uint8Array | undefined;
}

/** Bytes to write at `offset` of every share: `data[i]` goes to share i; all are equally long. */
export interface ShareWrite {
  readonly offset: number;
  readonly data: readonly Uint8Array[];
  /**
   * Says the consumer is done with `data[share]`: once every share of a segment that shares a
   * buffer is released, the encoder reuses that buffer for a later segment (or frees it at
   * once, see freeNow) rather than leaving it to the garbage collector. Optional; after it,
   * `data[share]` must not be read again: its bytes are overwritten by a later segment.
   */
  release(share: number): void;
}

const noRelease = (_share: number) => {};

/**
 * A segment's release: each parity block lives in its own pooled buffer, given back when its
 * share is done; the k primary blocks are views of one pooled crypttext buffer, given back when
 * all k are done. The next segments reuse them (see BufferPool).
 */
function segmentRelease(
  k: number,
  crypttextPool: BufferPool,
  crypttextBuffer: Uint8Array,
  parityPool: BufferPool,
  parityBuffers: readonly Uint8Array[],
) {
  const released = new Set<number>();
  let primaryLeft = k;
  return (share: number) => {
    if (share < 0 || share >= k + parityBuffers.length || released.has(share)) return;
    released.add(share);
    if (share >= k) parityPool.give(parityBuffers[share - k]!);
    else if (--primaryLeft === 0) crypttextPool.give(crypttextBuffer);
  };
}

/**
 * What each of an encode's two pools may keep idle. The buffers in use are bounded by the
 * consumer (an uploader holds a few MB per share); this only caps what waits between uses.
 */
const POOL_MAX_IDLE_BYTES = 16 * 1024 * 1024;

/** What encoding shares produced, with or without a key: what a verify-cap repairer gets. */
export interface ChkSharesResult {
  readonly verifyCap: string;
  readonly storageIndex: Uint8Array;
  readonly uebHash: Uint8Array;
  readonly ueb: Uint8Array;
  readonly shareRootHash: Uint8Array;
  readonly plan: ChkPlan;
}

/** What an encode produced: the caps and the values a repairer or uploader records. */
export interface ChkEncodeResult extends ChkSharesResult {
  readonly cap: ChkReadCap;
  readonly readCap: string;
}

/**
 * An encode in progress. The key, storage index and share sizes are known before any share byte
 * exists, so an uploader can pick servers and allocate first; then it pulls `writes()` (each
 * share's bytes in ascending offset order, at most one segment's worth at a time, so awaiting
 * a slow server holds the encoder back) and reads `result()` at the end.
 */
export interface ChkEncoding extends ChkSharesEncoding {
  readonly key: Uint8Array;
  writes(): AsyncGenerator<ShareWrite, ChkEncodeResult, undefined>;
  result(): ChkEncodeResult;
}

/** An encode of shares, keyed (ChkEncoding) or of crypttext as it is (startChkEncodeOfCrypttext). */
export interface ChkSharesEncoding {
  readonly plan: ChkPlan;
  readonly storageIndex: Uint8Array;
  /** Every share's length: the `allocated-size` for servers. */
  readonly shareSize: number;
  /** Runs the encoding pass; call once. */
  writes(): AsyncGenerator<ShareWrite, ChkSharesResult, undefined>;
  /** The caps; throws until writes() has been consumed to the end. */
  result(): ChkSharesResult;
}

function chooseKeyMode(options: ChkEncodeOptions): "convergent" | "random" | "explicit" {
  const modes = [
    options.convergenceSecret !== undefined ? "convergent" : undefined,
    options.randomKey ? "random" : undefined,
    options.encryptionKey !== undefined ? "explicit" : undefined,
  ].filter((m) => m !== undefined);
  if (modes.length !== 1) {
    throw new ImmutableError(
      "TAHOE_ERR_IMMUTABLE_PARAMS",
      `choose exactly one of convergenceSecret, randomKey or encryptionKey (got ${modes.length === 0 ? "none" : modes.join(" and ")})`,
      {
        hint: "Uploads normally use the node's convergence secret (private/convergence); randomKey opts out of convergence.",
      },
    );
  }
  if (options.encryptionKey !== undefined && options.encryptionKey.length !== 16) {
    throw new ImmutableError(
      "TAHOE_ERR_IMMUTABLE_PARAMS",
      `encryptionKey is ${options.encryptionKey.length} bytes, not 16`,
      {
        hint: "CHK files use AES-128: give a 16-byte key.",
      },
    );
  }
  return modes[0] as "convergent" | "random" | "explicit";
}

/** Pass 1 of convergent encryption: hash the whole plaintext into the key. */
async function convergentKey(source: ByteSource, secret: Uint8Array, plan: ChkPlan): Promise<Buffer> {
  const hasher = createConvergenceHasher(secret, plan.k, plan.n, plan.segmentSize);
  const buffers = readBuffers(source, Math.min(HASH_CHUNK, source.size));
  const readChunk = (i: number) => {
    const at = i * HASH_CHUNK;
    return readExactlyReusing(source, at, Math.min(HASH_CHUNK, source.size - at), buffers?.[i % 2]);
  };
  let next = source.size > 0 ? readChunk(0) : undefined;
  for (let i = 0; i * HASH_CHUNK < source.size; i++) {
    const chunk = await next!;
    next = (i + 1) * HASH_CHUNK < source.size ? readChunk(i + 1) : undefined;
    hasher.update(chunk);
  }
  return hasher.digest();
}

/**
 * Two buffers taking turns when the source can fill them: one is read into (read-ahead) while
 * the other's bytes are hashed or encrypted, and neither escapes (the cipher copies).
 */
function readBuffers(source: ByteSource, size: number): [Buffer, Buffer] | undefined {
  if (source.readInto === undefined || size === 0) return undefined;
  return [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
}

/** Feeds a file's bytes in order while it streams past, then gives its convergent key. */
export interface StreamingConvergentKey {
  update(plaintext: Uint8Array): void;
  /** The key for a file of `size` bytes, or undefined when it must be hashed again (see below). */
  keyFor(size: number): Buffer | undefined;
}

/**
 * The convergent key, hashed while a one-pass stream is spooled, so the encoder need not read
 * the whole file once more before its first share byte. The segment size is part of the key's
 * tag and depends on the file's size only for files smaller than one maximum segment; the
 * hash assumes a larger file, and `keyFor` answers undefined for a smaller one.
 */
export function streamingConvergentKey(secret: Uint8Array, params: ChkParams): StreamingConvergentKey {
  checkChkParams(params);
  const max = params.maxSegmentSize ?? DEFAULT_MAX_SEGMENT_SIZE;
  const segmentSize = nextMultiple(max, params.k);
  const hasher = createConvergenceHasher(secret, params.k, params.n, segmentSize);
  let used = false;
  return {
    update: (plaintext) => hasher.update(plaintext),
    keyFor(size) {
      if (used) throw new Error("streamingConvergentKey: keyFor() can only be called once");
      used = true;
      if (size <= LITERAL_MAX_SIZE || planChk(size, params).segmentSize !== segmentSize) return undefined;
      return hasher.digest();
    },
  };
}

/**
 * Starts a CHK encode of `source` (at least 1 byte; see encodeImmutable for LIT). With a
 * convergence secret this reads the whole source once to derive the key before returning.
 */
export async function startChkEncode(source: ByteSource, options: ChkEncodeOptions): Promise<ChkEncoding> {
  checkChkParams(options);
  const mode = chooseKeyMode(options);
  const plan = planChk(source.size, options);
  const key =
    mode === "convergent"
      ? await convergentKey(source, options.convergenceSecret!, plan)
      : mode === "random"
        ? randomBytes(16)
        : Buffer.from(options.encryptionKey!);
  const storageIndex = storageIndexOfKey(key);
  let started = false;
  let outcome: ChkEncodeResult | undefined;
  return {
    plan,
    key,
    storageIndex,
    shareSize: plan.shareSize,
    async *writes() {
      if (started) throw new Error("ChkEncoding.writes() can only run once");
      started = true;
      const cipher = createCtrCipher(key);
      const shares = yield* encodingPass(
        source,
        plan,
        (p, into) => encryptInto(cipher, p, into),
        storageIndex,
      );
      cipher.final();
      const cap: ChkReadCap = {
        kind: "chk",
        key,
        uebHash: shares.uebHash,
        k: plan.k,
        n: plan.n,
        size: plan.size,
      };
      outcome = { ...shares, cap, readCap: formatChkReadCap(cap) };
      return outcome;
    },
    result() {
      if (outcome === undefined) throw new Error("ChkEncoding.result() called before writes() finished");
      return outcome;
    },
  };
}

/**
 * Encodes a file's crypttext as it is, with no key: what Tahoe's repairer does from a verify
 * cap. The storage index is the file's (a verify cap's); given the same k, N and segment size
 * as the original upload, the shares come out byte for byte the same, and the caller checks
 * the result's UEB hash against the cap's before it trusts them.
 */
export function startChkEncodeOfCrypttext(
  source: ByteSource,
  options: ChkParams & { readonly storageIndex: Uint8Array },
): ChkSharesEncoding {
  checkChkParams(options);
  if (options.storageIndex.length !== 16) {
    throw new ImmutableError(
      "TAHOE_ERR_IMMUTABLE_PARAMS",
      `storageIndex is ${options.storageIndex.length} bytes, not 16`,
      { hint: "give the 16-byte storage index of the file's verify cap" },
    );
  }
  const plan = planChk(source.size, options);
  const storageIndex = Buffer.from(options.storageIndex);
  let started = false;
  let outcome: ChkSharesResult | undefined;
  return {
    plan,
    storageIndex,
    shareSize: plan.shareSize,
    async *writes() {
      if (started) throw new Error("ChkSharesEncoding.writes() can only run once");
      started = true;
      // A copy: the source may reuse its buffers, and the blocks are views of the copy.
      outcome = yield* encodingPass(source, plan, (c, into) => into.set(c), storageIndex);
      return outcome;
    },
    result() {
      if (outcome === undefined)
        throw new Error("ChkSharesEncoding.result() called before writes() finished");
      return outcome;
    },
  };
}

/** `toCrypttext` writes a segment's crypttext into `into` (as long as the segment). */
async function* encodingPass(
  source: ByteSource,
  plan: ChkPlan,
  toCrypttext: (segment: Uint8Array, into: Uint8Array) => void,
  storageIndex: Buffer,
): AsyncGenerator<ShareWrite, ChkSharesResult, undefined> {
  const { k, n, numSegments, segmentSize, layout } = plan;
  const coder = createErasureCoder(k, n, { implementation: "fast" });
  const crypttextHasher = createHash("sha256").update(CRYPTTEXT_PREFIX);
  const segmentHashes: Uint8Array[] = [];
  const blockHashes: Uint8Array[][] = Array.from({ length: n }, () => []);

  const header = encodeShareHeader(headerOf(plan));
  yield { offset: 0, data: new Array(n).fill(header), release: noRelease };

  const buffers = readBuffers(source, Math.min(segmentSize, plan.size));
  const readSegment = (s: number) => {
    const start = s * segmentSize;
    return readExactlyReusing(source, start, Math.min(segmentSize, plan.size - start), buffers?.[s % 2]);
  };
  // Every segment's crypttext and check blocks go into buffers the pass reuses once the
  // consumer has released them; the tail segment uses the first bytes of one.
  const crypttextPool = createBufferPool(k * plan.blockSize, POOL_MAX_IDLE_BYTES);
  const parityPool = createBufferPool(plan.blockSize, POOL_MAX_IDLE_BYTES);
  try {
    let next: Promise<Uint8Array> | undefined = readSegment(0);
    for (let s = 0; s < numSegments; s++) {
      const plaintext = await next!;
      // Read ahead: the file system works on the next segment while this one is encoded.
      next = s + 1 < numSegments ? readSegment(s + 1) : undefined;
      const bs = s === numSegments - 1 ? plan.tailBlockSize : plan.blockSize;
      const crypttextBuffer = crypttextPool.take();
      const padded = crypttextBuffer.subarray(0, k * bs);
      const crypttext = padded.subarray(0, plaintext.length);
      toCrypttext(plaintext, crypttext);
      // A pooled buffer holds an earlier segment's bytes: the padding must be zeros.
      padded.fill(0, plaintext.length);
      crypttextHasher.update(crypttext);
      segmentHashes.push(prefixedHash(CRYPTTEXT_SEGMENT_PREFIX, crypttext));
      const primary: Uint8Array[] = [];
      for (let i = 0; i < k; i++) primary.push(padded.subarray(i * bs, (i + 1) * bs));
      const parityBuffers: Uint8Array[] = [];
      for (let i = k; i < n; i++) parityBuffers.push(parityPool.take());
      const parity = n > k ? coder.encode(primary, parityBuffers) : [];
      const blocks = primary.concat(parity);
      for (let i = 0; i < n; i++) blockHashes[i]!.push(prefixedHash(BLOCK_PREFIX, blocks[i]!));
      yield {
        offset: layout.data + s * plan.blockSize,
        data: blocks,
        release: segmentRelease(k, crypttextPool, crypttextBuffer, parityPool, parityBuffers),
      };
    }
  } finally {
    // Blocks still out are freed as they are released; the idle ones now.
    crypttextPool.close();
    parityPool.close();
  }

  const crypttextHash = createHash("sha256").update(crypttextHasher.digest()).digest();
  const crypttextTree = buildHashTree(segmentHashes);
  const blockTrees = blockHashes.map((leaves) => buildHashTree(leaves));
  const shareTree = buildHashTree(blockTrees.map((tree) => tree[0]!));
  const shareRootHash = shareTree[0]!;
  const ueb = encodeUeb(uebFor(plan, { crypttextHash, crypttextRootHash: crypttextTree[0]!, shareRootHash }));
  if (ueb.length !== plan.uebSize) throw new Error(`UEB is ${ueb.length} bytes, planned ${plan.uebSize}`);
  const hash = uebHash(ueb);

  const treeBytes = plan.segmentTreeNodes * 32;
  const crypttextTreeBytes = Buffer.concat(crypttextTree);
  const trailers: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const trailer = Buffer.alloc(plan.shareSize - layout.plaintextHashTree);
    let at = treeBytes; // the plaintext hash tree area stays zero, as in Tahoe
    at += crypttextTreeBytes.copy(trailer, at);
    for (const node of blockTrees[i]!)
      at += Buffer.from(node.buffer, node.byteOffset, node.byteLength).copy(trailer, at);
    for (const index of shareHashChainIndices(n, i)) {
      trailer.writeUInt16BE(index, at);
      Buffer.from(shareTree[index]!).copy(trailer, at + 2);
      at += CHAIN_ENTRY_SIZE;
    }
    if (layout.version === 1) at = trailer.writeUInt32BE(ueb.length, at);
    else at = trailer.writeBigUInt64BE(BigInt(ueb.length), at);
    ueb.copy(trailer, at);
    trailers.push(trailer);
  }
  yield { offset: layout.plaintextHashTree, data: trailers, release: noRelease };

  return {
    verifyCap: formatChkVerifyCap({ storageIndex, uebHash: hash, k, n, size: plan.size }),
    storageIndex,
    uebHash: hash,
    ueb,
    shareRootHash,
    plan,
  };
}

/** Whole share images in memory: for tests and small files only. */
export interface ChkEncodedShares {
  readonly result: ChkEncodeResult;
  readonly shares: Buffer[];
}

export async function encodeChkToBuffers(
  source: ByteSource,
  options: ChkEncodeOptions,
): Promise<ChkEncodedShares> {
  const encoding = await startChkEncode(source, options);
  const shares = Array.from({ length: encoding.plan.n }, () => Buffer.alloc(encoding.shareSize));
  for await (const write of encoding.writes()) {
    for (const [i, bytes] of write.data.entries()) {
      shares[i]!.set(bytes, write.offset);
      write.release(i);
    }
  }
  return { result: encoding.result(), shares };
}

/** A LIT result: the file is its own cap. */
export interface LiteralEncodeResult {
  readonly cap: LiteralCap;
  readonly readCap: string;
}

/**
 * The cap a file gets, without keeping any share: what `tahoe debug compute-cap` prints.
 * Files of 55 bytes or less are LIT unless `literal` is false.
 */
export async function computeImmutableCap(
  source: ByteSource,
  options: ChkEncodeOptions & { readonly literal?: boolean },
): Promise<ChkEncodeResult | LiteralEncodeResult> {
  if (source.size <= LITERAL_MAX_SIZE && options.literal !== false) {
    checkChkParams(options);
    chooseKeyMode(options);
    const data = Buffer.from(await readExactly(source, 0, source.size));
    return { cap: { kind: "lit", data }, readCap: formatLiteralCap(data) };
  }
  const encoding = await startChkEncode(source, options);
  for await (const write of encoding.writes()) {
    // The blocks are only needed for their hashes, which the encoder keeps.
    for (let i = 0; i < write.data.length; i++) write.release(i);
  }
  return encoding.result();
}
