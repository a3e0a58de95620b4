import { CorruptShareError, type CorruptShareErrorCode } from "./errors.js";
import { findInconsistentNode, rootFromPath } from "./hash-tree.js";
import { CHAIN_ENTRY_SIZE, type ChkPlan, HASH_SIZE, nextPowerOfTwo, planChk } from "./plan.js";
import { shareHashChainIndices } from "./share-hash-chain.js";
import { decodeShareHeader, headerMismatch, headerOf, type ShareHeader } from "./share-header.js";
import { parseUeb, type Ueb, uebHash } from "./ueb.js";

/**
 * Byte-range access to one share on one server (an HTTP GET with Range, or a buffer in tests).
 * Like a GBS server, `read` may return fewer bytes than asked at the end of the share.
 */
export interface ShareReader {
  readonly shareNumber: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Every read resolves to a buffer nothing else holds (a network reply's own bytes), so the
   * decoder may free it with freeNow once it has used it. Leave unset when reads may share
   * memory (views of one share image, a cache).
   */
  readonly freshReads?: boolean | undefined;
}

/** A share reader over an in-memory share image. */
export function bufferShareReader(shareNumber: number, share: Uint8Array): ShareReader {
  return {
    shareNumber,
    read: async (offset, length) => share.subarray(offset, Math.min(share.length, offset + length)),
  };
}

/** What the cap commits to: enough to check a share without the decryption key. */
export interface ShareExpectation {
  readonly uebHash: Uint8Array;
  readonly k: number;
  readonly n: number;
  readonly size: number;
}

/** A share whose header, UEB, hash chain and block hash tree have been checked. */
export interface OpenedShare {
  readonly reader: ShareReader;
  readonly shareNumber: number;
  readonly header: ShareHeader;
  readonly plan: ChkPlan;
  readonly ueb: Ueb;
  readonly uebBytes: Uint8Array;
  /** The share's verified block hash tree, flattened. */
  readonly blockTree: readonly Uint8Array[];
  /** The crypttext hash tree as stored in this share, not yet checked. */
  readonly crypttextTree: readonly Uint8Array[];
  /**
   * The share's bytes from offset 0, blocks included, when openShare read it whole (see
   * OpenShareOptions.wholeUpTo); its blocks are unchecked, like any read's. Nothing else here
   * is a view of it, so its owner may free it.
   */
  readonly whole?: Uint8Array | undefined;
}

export interface OpenShareOptions {
  /**
   * Read a share of at most this many bytes (by the plan it is expected to have) whole, in one
   * request, blocks and all: for a reader that would fetch the blocks next anyway, this saves the
   * round trip and the second connection a separate header read needs. Default 0: never.
   */
  readonly wholeUpTo?: number | undefined;
}

/** The UEB is a few hundred bytes; more than this is a corrupt length field. */
const MAX_UEB_SIZE = 1 << 16;
/** Read this much beyond the UEB-length field at once, to usually get the UEB in the same request. */
const UEB_READ_AHEAD = 2048;
/**
 * A share's hash trees, chain and UEB are asked for together with its header when they fit in
 * this many bytes (the trees of files up to 8 GiB with 1 MiB segments); a larger tail is read
 * only once the header and UEB say where it is.
 */
const GUESSED_TAIL_MAX = 1 << 20;

function corrupt(code: CorruptShareErrorCode, shareNumber: number, message: string): CorruptShareError {
  return new CorruptShareError(code, shareNumber, message);
}

function splitNodes(bytes: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

async function readAtLeast(reader: ShareReader, offset: number, length: number, need: number, what: string) {
  const bytes = await reader.read(offset, length);
  if (bytes.length < need) {
    throw corrupt(
      "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED",
      reader.shareNumber,
      `the share ends before its ${what} (wanted ${need} bytes at offset ${offset}, got ${bytes.length})`,
    );
  }
  return bytes;
}

/**
 * The read that fetches a share's tail (hash trees, chain, UEB length and UEB) if the share is
 * laid out as `plan` says, or undefined when that would be more than GUESSED_TAIL_MAX bytes.
 */
function tailRead(plan: ChkPlan): { offset: number; length: number } | undefined {
  const { layout } = plan;
  const length =
    layout.uebLength + (layout.version === 1 ? 4 : 8) - layout.crypttextHashTree + UEB_READ_AHEAD;
  if (length > GUESSED_TAIL_MAX) return undefined;
  return { offset: layout.crypttextHashTree, length };
}

/** A share's first requests, sent before its header says where anything is. */
interface FirstReads {
  /** At least the header's bytes. */
  readonly header: Promise<Uint8Array>;
  /**
   * The share's bytes from `offset` on, if these requests brought at least `need` of them. A
   * request that failed brought nothing: whoever needs its bytes asks again and meets the error.
   */
  from(offset: number, need: number): Promise<Uint8Array | undefined>;
  /** The whole share, when it was read whole. */
  whole(): Uint8Array | undefined;
}

/**
 * The header and, at once, the tail where `plan` puts it (hash trees, chain, UEB length and
 * UEB); or, when the share `plan` describes is at most `wholeUpTo` bytes, the first `wholeUpTo`
 * bytes in one request: the server answers with what there is, which is all of it unless the
 * share has more segments (and so larger trees) than `plan`.
 */
function firstReads(reader: ShareReader, plan: ChkPlan | undefined, wholeUpTo: number): FirstReads {
  const guess = plan === undefined ? undefined : tailRead(plan);
  if (guess !== undefined && guess.offset + guess.length <= wholeUpTo) {
    const header = readAtLeast(reader, 0, wholeUpTo, 0x24, "header");
    let whole: Uint8Array | undefined;
    header.then(
      (bytes) => (whole = bytes),
      () => {},
    );
    return {
      header,
      // A copy: the trees and UEB outlive the blocks, which the decoder frees once read.
      from: async (offset, need) => {
        const bytes = await header;
        return offset + need <= bytes.length ? bytes.slice(offset) : undefined;
      },
      whole: () => whole,
    };
  }
  const tail =
    guess === undefined ? undefined : reader.read(guess.offset, guess.length).catch(() => undefined);
  return {
    header: readAtLeast(reader, 0, 0x44, 0x24, "header"),
    from: async (offset, need) => {
      // Not waited for when it cannot hold the bytes.
      if (guess === undefined || offset < guess.offset || offset + need > guess.offset + guess.length)
        return undefined;
      const bytes = await tail;
      const at = offset - guess.offset;
      return bytes !== undefined && at + need <= bytes.length ? bytes.subarray(at) : undefined;
    },
    whole: () => undefined,
  };
}

/**
 * The plan of the cap's file encoded with the default 1 MiB segments, as Tahoe-LAFS 1.20 and
 * lafs-ts encode (Tahoe's own downloader guesses offsets the same way).
 */
function guessedPlan(expect: ShareExpectation): ChkPlan | undefined {
  try {
    return planChk(expect.size, { k: expect.k, n: expect.n });
  } catch {
    return undefined;
  }
}

/**
 * Reads and checks everything but the blocks of one share: the header against the plan, the UEB
 * against the cap's UEB hash, the hash chain against the UEB's share root hash, and the block
 * hash tree against the chain. Throws CorruptShareError naming the share.
 *
 * Round trips count more than bytes here (over Tor each is a second or so), so the header and
 * the tail are asked for at once, at the offsets of `known`'s plan or else at the guessed ones,
 * or the whole share in one request (`options.wholeUpTo`). A share laid out otherwise (other
 * segment sizes) costs one more request, for its tail where the header says (two, the UEB then
 * the trees, when that tail is larger than GUESSED_TAIL_MAX). Nothing read at guessed offsets
 * is trusted before the header has shown they are the share's own and the UEB has matched the
 * cap.
 */
export async function openShare(
  reader: ShareReader,
  expect: ShareExpectation,
  known?: { readonly plan: ChkPlan; readonly ueb: Ueb },
  options: OpenShareOptions = {},
): Promise<OpenedShare> {
  const sn = reader.shareNumber;
  if (!Number.isInteger(sn) || sn < 0 || sn >= expect.n) {
    throw corrupt("TAHOE_ERR_IMMUTABLE_SHARE_HEADER", sn, `share number ${sn} is outside 0..${expect.n - 1}`);
  }
  const first = firstReads(reader, known?.plan ?? guessedPlan(expect), options.wholeUpTo ?? 0);
  const header = decodeShareHeader(await first.header);
  if (typeof header === "string") throw corrupt("TAHOE_ERR_IMMUTABLE_SHARE_HEADER", sn, header);
  if (
    !(
      header.crypttextHashTree < header.blockHashTree &&
      header.blockHashTree < header.shareHashChain &&
      header.shareHashChain < header.uebLength
    )
  ) {
    throw corrupt("TAHOE_ERR_IMMUTABLE_SHARE_HEADER", sn, "header offsets are not in ascending order");
  }
  if (known !== undefined) {
    const wrong = headerMismatch(header, headerOf(known.plan));
    if (wrong !== undefined) throw corrupt("TAHOE_ERR_IMMUTABLE_SHARE_HEADER", sn, wrong);
  }
  const lengthField = header.version === 1 ? 4 : 8;
  const uebStart = header.uebLength + lengthField;
  const inHand = await first.from(header.crypttextHashTree, uebStart - header.crypttextHashTree);
  // With a known plan, or a tail the header puts within GUESSED_TAIL_MAX, the trees, chain and
  // UEB come in one request; otherwise the UEB comes first, so a corrupt header cannot make us
  // fetch gigabytes of "hash tree".
  const fromTrees =
    inHand !== undefined ||
    known !== undefined ||
    uebStart + UEB_READ_AHEAD - header.crypttextHashTree <= GUESSED_TAIL_MAX;
  const tailStart = fromTrees ? header.crypttextHashTree : header.uebLength;
  let tail =
    inHand ??
    (await readAtLeast(
      reader,
      tailStart,
      uebStart - tailStart + UEB_READ_AHEAD,
      uebStart - tailStart,
      "UEB length",
    ));
  const lengthView = Buffer.from(tail.buffer, tail.byteOffset + header.uebLength - tailStart, lengthField);
  const uebSize = lengthField === 4 ? lengthView.readUInt32BE(0) : Number(lengthView.readBigUInt64BE(0));
  if (uebSize > MAX_UEB_SIZE)
    throw corrupt("TAHOE_ERR_IMMUTABLE_UEB", sn, `UEB length field says ${uebSize} bytes`);
  const uebEnd = uebStart + uebSize - tailStart;
  if (tail.length < uebEnd) {
    const missing = uebEnd - tail.length;
    tail = Buffer.concat([tail, await readAtLeast(reader, tailStart + tail.length, missing, missing, "UEB")]);
  }
  const uebBytes = tail.subarray(uebStart - tailStart, uebEnd);
  if (!uebHash(uebBytes).equals(expect.uebHash)) {
    throw corrupt(
      "TAHOE_ERR_IMMUTABLE_UEB_HASH",
      sn,
      "the URI extension block does not match the cap's UEB hash",
    );
  }
  let plan = known?.plan;
  let ueb = known?.ueb;
  let trees: Uint8Array = tail;
  if (plan === undefined || ueb === undefined) {
    const parsed = parseUeb(uebBytes);
    if (typeof parsed === "string")
      throw corrupt("TAHOE_ERR_IMMUTABLE_UEB", sn, `URI extension block: ${parsed}`);
    ueb = parsed;
    // Tahoe's ValidatedExtendedURIProxy refuses a UEB whose size, k or N differ from the cap's.
    if (ueb.size !== expect.size || ueb.neededShares !== expect.k || ueb.totalShares !== expect.n) {
      throw corrupt(
        "TAHOE_ERR_IMMUTABLE_UEB",
        sn,
        `the URI extension block is for ${ueb.size} bytes with k=${ueb.neededShares}, N=${ueb.totalShares}, but the cap says ${expect.size} bytes with k=${expect.k}, N=${expect.n}`,
      );
    }
    // Tahoe takes k, n and the size from the cap, and the segment size from the UEB.
    plan = planChk(expect.size, { k: expect.k, n: expect.n, maxSegmentSize: Math.max(1, ueb.segmentSize) });
    if (plan.segmentSize !== ueb.segmentSize || plan.numSegments !== ueb.numSegments) {
      throw corrupt(
        "TAHOE_ERR_IMMUTABLE_UEB",
        sn,
        `URI extension block says ${ueb.numSegments} segments of ${ueb.segmentSize} bytes, which no Tahoe encoder makes for ${expect.size} bytes with k=${expect.k}`,
      );
    }
    const wrong = headerMismatch(header, headerOf(plan));
    if (wrong !== undefined) throw corrupt("TAHOE_ERR_IMMUTABLE_SHARE_HEADER", sn, wrong);
    if (tailStart !== header.crypttextHashTree) {
      const length = header.uebLength - header.crypttextHashTree;
      trees = await readAtLeast(reader, header.crypttextHashTree, length, length, "hash trees");
    }
  }
  const treesStart = header.crypttextHashTree;

  const at = (offset: number) => offset - treesStart;
  const treeCount = plan.segmentTreeNodes;
  const crypttextTree = splitNodes(trees.subarray(at(header.crypttextHashTree)), treeCount);
  const blockTree = splitNodes(trees.subarray(at(header.blockHashTree)), treeCount);
  const chainBytes = Buffer.from(
    trees.buffer,
    trees.byteOffset + at(header.shareHashChain),
    plan.chainLength * CHAIN_ENTRY_SIZE,
  );
  const chain = new Map<number, Uint8Array>();
  for (let i = 0; i < plan.chainLength; i++) {
    const index = chainBytes.readUInt16BE(i * CHAIN_ENTRY_SIZE);
    chain.set(index, chainBytes.subarray(i * CHAIN_ENTRY_SIZE + 2, (i + 1) * CHAIN_ENTRY_SIZE));
  }
  const expected = shareHashChainIndices(plan.n, sn);
  if (chain.size !== expected.length || expected.some((i) => !chain.has(i))) {
    throw corrupt(
      "TAHOE_ERR_IMMUTABLE_SHARE_HASH",
      sn,
      `share hash chain holds nodes [${[...chain.keys()].join(", ")}], expected [${expected.join(", ")}]`,
    );
  }
  const blockRoot = chain.get(nextPowerOfTwo(plan.n) - 1 + sn)!;
  const root = rootFromPath(plan.n, sn, blockRoot, chain);
  if (root === undefined || !Buffer.from(root).equals(ueb.shareRootHash)) {
    throw corrupt(
      "TAHOE_ERR_IMMUTABLE_SHARE_HASH",
      sn,
      "the share hash chain does not lead to the UEB's share root hash",
    );
  }
  const bad = findInconsistentNode(blockTree, blockRoot);
  if (bad !== undefined) {
    throw corrupt(
      "TAHOE_ERR_IMMUTABLE_BLOCK_HASH",
      sn,
      `block hash tree node ${bad} does not match the hashes below and above it`,
    );
  }
  return {
    reader,
    shareNumber: sn,
    header,
    plan,
    ueb,
    uebBytes,
    blockTree,
    crypttextTree,
    whole: first.whole(),
  };
}

/** Checks the crypttext hash tree a share carries against the UEB; throws CorruptShareError. */
export function checkCrypttextTree(share: OpenedShare): void {
  const bad = findInconsistentNode(share.crypttextTree, share.ueb.crypttextRootHash);
  if (bad !== undefined) {
    throw corrupt(
      "TAHOE_ERR_IMMUTABLE_CRYPTTEXT_TREE",
      share.shareNumber,
      `crypttext hash tree node ${bad} does not match the UEB's crypttext root hash`,
    );
  }
}
