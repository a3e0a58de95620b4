import { createErasureCoder } from "@lafs/immutable";
import { type MutableCap, readCapOf } from "./caps.js";
import { deriveMutableSecrets, type MutableSecrets } from "./derive.js";
import {
  applyShareWrites,
  encodeSegment,
  type ShareWrite,
  type SignedVersion,
  saltSource,
  shareWrites,
  signVersion,
} from "./encode.js";
import { CorruptMutableShareError, MutableError } from "./errors.js";
import { leavesOf } from "./hash-tree.js";
import { blockLength, type MutableHeader, segmentGeometry, segmentLength } from "./layout.js";
import type { MutableKeyPair } from "./rsa.js";
import { decodeMutableSegment, type VerifiedMutableShare, verifyMutableShare } from "./verify.js";

/** Which segments an in-place update rewrites, and which old ones it must read first. */
export interface MdmfUpdateRange {
  readonly startSegment: number;
  /** The last segment rewritten (of the new, possibly longer, file). */
  readonly endSegment: number;
  readonly newDataLength: number;
  /** Old segments whose plaintext the update keeps in part: decode these before planning. */
  readonly segmentsToRead: number[];
}

function badUpdate(why: string, hint: string): MutableError {
  return new MutableError("TAHOE_ERR_MUTABLE_UPDATE", why, { hint });
}

/**
 * Tahoe's update range (filenode.py `update`): from `offset // segsize` to the segment of the
 * last byte written, or to the new end when the write reaches the end of the file.
 */
export function mdmfUpdateRange(header: MutableHeader, offset: number, length: number): MdmfUpdateRange {
  if (header.format !== "MDMF") {
    throw badUpdate(
      "an in-place update needs an MDMF file; this is SDMF",
      "SDMF files are rewritten whole: decode, splice, and publish a new version with seqnum + 1.",
    );
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > header.dataLength) {
    throw badUpdate(
      `update offset ${offset} is outside the file (0..${header.dataLength})`,
      "The offset must be a whole number no larger than the current size; writing at the size appends.",
    );
  }
  const segsize = header.segmentSize;
  const end = offset + length;
  const newDataLength = Math.max(header.dataLength, end);
  const startSegment = Math.floor(offset / segsize);
  const newLast = Math.max(0, Math.ceil(newDataLength / segsize) - 1);
  const endSegment =
    end < header.dataLength ? Math.max(startSegment, Math.floor((end - 1) / segsize)) : newLast;
  const old = segmentGeometry(header.k, segsize, header.dataLength);
  const segmentsToRead: number[] = [];
  for (let s = startSegment; s <= endSegment && s < old.numSegments; s++) {
    const from = s * segsize;
    const to = Math.min(from + segsize, newDataLength);
    if (from < offset || to > end) segmentsToRead.push(s);
  }
  return { startSegment, endSegment, newDataLength, segmentsToRead };
}

export interface PlanMdmfUpdateOptions {
  readonly keyPair: MutableKeyPair;
  readonly secrets?: MutableSecrets | undefined;
  /** The header of the version being updated (from the servermap). */
  readonly old: MutableHeader;
  /** shnum -> that share's whole old block hash tree, for every share 0..N-1. */
  readonly oldBlockHashTrees: ReadonlyMap<number, readonly Uint8Array[]>;
  /** segnum -> old plaintext, for each of `mdmfUpdateRange(...).segmentsToRead`. */
  readonly oldSegments: ReadonlyMap<number, Uint8Array>;
  readonly offset: number;
  readonly data: Uint8Array;
  /** Default old.seqnum + 1; a publisher passes the servermap's highest seqnum + 1. */
  readonly seqnum?: number | undefined;
  /** Injected salts for the rewritten segments, in order. Random when absent. */
  readonly salts?: readonly Uint8Array[] | undefined;
  readonly pssSalt?: Uint8Array | undefined;
}

/** An update as data: the new signed version and, per share, only the writes it needs. */
export interface MdmfUpdatePlan extends SignedVersion {
  readonly range: MdmfUpdateRange;
  /** The salts drawn, one per rewritten segment. */
  readonly salts: Uint8Array[];
  /** shnum -> write vectors: the rewritten blocks, then the trees, chain, key, signature and header. */
  readonly writes: ShareWrite[][];
}

/**
 * Plans an MDMF in-place update (Tahoe's `MutableFileVersion.update`): re-encrypts only the
 * segments the new bytes touch, each with a fresh salt, replaces their leaves in every share's
 * block hash tree, and re-signs with the new seqnum. Untouched segments keep their blocks.
 */
export function planMdmfUpdate(options: PlanMdmfUpdateOptions): MdmfUpdatePlan {
  const { old, offset, data, keyPair } = options;
  const range = mdmfUpdateRange(old, offset, data.length);
  const secrets = options.secrets ?? deriveMutableSecrets(keyPair);
  const { k, n, segmentSize } = old;
  const oldGeometry = segmentGeometry(k, segmentSize, old.dataLength);
  const g = segmentGeometry(k, segmentSize, range.newDataLength);
  const leaves: Uint8Array[][] = [];
  for (let shnum = 0; shnum < n; shnum++) {
    const tree = options.oldBlockHashTrees.get(shnum);
    if (tree === undefined) {
      throw badUpdate(
        `the block hash tree of share ${shnum} is missing`,
        "An update rebuilds the share hash tree over all N shares; fetch every share's block hash tree first.",
      );
    }
    leaves.push(leavesOf(tree, oldGeometry.numSegments));
  }
  const nextSalt = saltSource(options.salts);
  const coder = createErasureCoder(k, n);
  const blocks = Array.from({ length: n }, () => new Map<number, { salt: Uint8Array; block: Uint8Array }>());
  const salts: Uint8Array[] = [];
  for (let s = range.startSegment; s <= range.endSegment; s++) {
    const from = s * segmentSize;
    const segment = new Uint8Array(segmentLength(g, s));
    if (range.segmentsToRead.includes(s)) {
      const oldPlain = options.oldSegments.get(s);
      if (oldPlain === undefined) {
        throw badUpdate(
          `the old plaintext of segment ${s} is missing`,
          "Decode the segments listed by mdmfUpdateRange().segmentsToRead and pass them as oldSegments.",
        );
      }
      segment.set(oldPlain.subarray(0, segment.length));
    }
    const patchFrom = Math.max(offset, from);
    const patchTo = Math.min(offset + data.length, from + segment.length);
    if (patchTo > patchFrom)
      segment.set(data.subarray(patchFrom - offset, patchTo - offset), patchFrom - from);
    const salt = nextSalt();
    salts.push(salt);
    const encoded = encodeSegment("MDMF", coder, secrets.readkey, salt, segment, blockLength(g, s));
    for (let shnum = 0; shnum < n; shnum++) {
      leaves[shnum]![s] = encoded.hashes[shnum]!;
      blocks[shnum]!.set(s, { salt, block: encoded.blocks[shnum]! });
    }
  }
  const seqnum = options.seqnum ?? old.seqnum + 1;
  const signed = signVersion(
    { format: "MDMF", seqnum, k, n, segmentSize, dataLength: range.newDataLength },
    keyPair,
    secrets.encprivkey.length,
    leaves,
    options.pssSalt,
  );
  const writes = blocks.map((b, shnum) => shareWrites(signed, shnum, keyPair, secrets.encprivkey, b));
  return { ...signed, range, salts, writes };
}

export interface UpdateMdmfSharesOptions {
  readonly keyPair: MutableKeyPair;
  /** The write cap (its fingerprint and readkey check and decrypt the old shares). */
  readonly cap: MutableCap;
  /** shnum -> the old share's bytes, for every share 0..N-1 of one version. */
  readonly shares: ReadonlyMap<number, Uint8Array>;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly seqnum?: number | undefined;
  readonly salts?: readonly Uint8Array[] | undefined;
  readonly pssSalt?: Uint8Array | undefined;
}

/**
 * The whole update over shares held in memory: verifies the old shares, decodes the boundary
 * segments, plans the update and applies its writes. Returns the plan and each share's new bytes.
 */
export function updateMdmfShares(
  options: UpdateMdmfSharesOptions,
): MdmfUpdatePlan & { shares: Uint8Array[] } {
  const verified: VerifiedMutableShare[] = [];
  for (const [shnum, bytes] of options.shares)
    verified.push(verifyMutableShare(bytes, shnum, options.cap.fingerprint));
  verified.sort((a, b) => a.shnum - b.shnum);
  const first = verified[0];
  if (first === undefined)
    throw badUpdate("no shares were given to update", "Pass every share of the version.");
  for (const share of verified) {
    if (!Buffer.from(share.header.signedPrefix).equals(first.header.signedPrefix)) {
      throw new CorruptMutableShareError(
        "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
        share.shnum,
        `holds seqnum ${share.header.seqnum}, another version than share ${first.shnum} (seqnum ${first.header.seqnum})`,
      );
    }
  }
  const range = mdmfUpdateRange(first.header, options.offset, options.data.length);
  if (options.cap.kind === "verify") {
    throw badUpdate("an update needs the write cap, not a verify cap", "Pass the URI:MDMF: write cap.");
  }
  const { readkey } = readCapOf(options.cap);
  const oldSegments = new Map<number, Uint8Array>();
  for (const s of range.segmentsToRead) oldSegments.set(s, decodeMutableSegment(verified, s, readkey));
  const plan = planMdmfUpdate({
    keyPair: options.keyPair,
    old: first.header,
    oldBlockHashTrees: new Map(verified.map((s) => [s.shnum, s.blockHashTree])),
    oldSegments,
    offset: options.offset,
    data: options.data,
    seqnum: options.seqnum,
    salts: options.salts,
    pssSalt: options.pssSalt,
  });
  const shares = plan.writes.map((w, shnum) =>
    applyShareWrites(options.shares.get(shnum) ?? new Uint8Array(0), w),
  );
  return { ...plan, shares };
}
