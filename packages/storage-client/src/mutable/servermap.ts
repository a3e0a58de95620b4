import { base32Encode } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import {
  CorruptMutableShareError,
  compareVersions,
  MDMF_CHECKSTRING_LENGTH,
  type MutableCap,
  type MutableHeader,
  type MutableKeyPair,
  parseMutableHeader,
  privateKeyFromShare,
  SDMF_CHECKSTRING_LENGTH,
  SERVERMAP_READ_SIZE,
  type SignedShareHead,
  shareRanges,
  storageIndexOfCap,
  verifyShareSignature,
  versionKey,
} from "@lafs/mutable";
import { serverLabel } from "@lafs/placement";
import type { UploadServer } from "../grid-server.js";
import { adviseCorrupt } from "./advise.js";
import { mutableError, reasonOf, throwIfAborted } from "./errors.js";
import { callOptions, usableServers } from "./grid.js";

/** One share a server holds whose signature checks out. */
export interface ServermapShare {
  readonly server: UploadServer;
  readonly shnum: number;
  readonly head: SignedShareHead;
  /**
   * The share's first bytes as the servermap read them (the signed head and whatever followed
   * it in the same read): a small share's hashes and blocks, which a read then need not fetch.
   */
  readonly prefix: Uint8Array;
}

/** One share a server holds that failed a check (it is still rewritten by a publish). */
export interface BadServermapShare {
  readonly server: UploadServer;
  readonly shnum: number;
  /** What a publish's test vector expects there: the bytes read from offset 0, cut to a checkstring. */
  readonly checkstring: Uint8Array;
  readonly reason: string;
}

/** All shares of one version (same signed prefix) that were found. */
export interface ServermapVersion {
  readonly key: string;
  readonly header: MutableHeader;
  readonly shares: readonly ServermapShare[];
  /** Distinct share numbers seen. */
  readonly distinct: number;
  readonly recoverable: boolean;
}

/** Which servers hold which versions of which shares of one mutable file (Tahoe's ServerMap). */
export interface ServerMap {
  readonly storageIndex: Uint8Array;
  /** Servers that answered, in permuted order (with shares or without). */
  readonly answered: readonly UploadServer[];
  /** Servers that were asked but failed, with why. */
  readonly failed: readonly { readonly server: UploadServer; readonly reason: string }[];
  readonly shares: readonly ServermapShare[];
  readonly badShares: readonly BadServermapShare[];
  /** Every version seen, newest first (Tahoe's ranking: seqnum, then root hash). */
  readonly versions: readonly ServermapVersion[];
  /** The newest version with at least k distinct shares, if any. */
  readonly best: ServermapVersion | undefined;
  /** The highest seqnum seen, recoverable or not (0 when no share was found). */
  readonly highestSeqnum: number;
  /** The signing key, decrypted from a share (write mode with a write cap only). */
  readonly privateKey: MutableKeyPair | undefined;
}

export interface ServermapOptions {
  readonly servers: readonly UploadServer[];
  readonly signal?: AbortSignal | undefined;
  readonly logger: Logger;
  readonly queryTimeoutMs: number;
  /** Write mode: also fetch and check the encrypted private key (needs a write cap). */
  readonly forWrite: boolean;
  /** Queries in flight at once; default 5, like Tahoe's servermap updater. */
  readonly concurrency?: number | undefined;
}

interface ServerAnswer {
  readonly shares: ServermapShare[];
  readonly bad: BadServermapShare[];
}

function checkstringOf(cap: MutableCap, bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, cap.format === "SDMF" ? SDMF_CHECKSTRING_LENGTH : MDMF_CHECKSTRING_LENGTH);
}

/** The end of the verification key and signature: what verifyShareSignature needs. */
function signedHeadEnd(bytes: Uint8Array, shnum: number): number {
  const ranges = shareRanges(parseMutableHeader(bytes, shnum));
  return Math.max(
    ranges.verificationKey.offset + ranges.verificationKey.length,
    ranges.signature.offset + ranges.signature.length,
  );
}

async function readShareHead(
  cap: MutableCap,
  server: UploadServer,
  storageIndex: Uint8Array,
  shnum: number,
  options: ServermapOptions,
): Promise<{ head: SignedShareHead; prefix: Uint8Array } | { bad: BadServermapShare }> {
  const call = callOptions(server, options.signal, options.queryTimeoutMs);
  let bytes = await server.client.readMutable(storageIndex, shnum, 0, SERVERMAP_READ_SIZE, call);
  try {
    // An MDMF share with a large N can keep its key past the first read: fetch up to it.
    const end = signedHeadEnd(bytes, shnum);
    if (end > bytes.length && bytes.length === SERVERMAP_READ_SIZE && end <= 64 * 1024) {
      bytes = await server.client.readMutable(storageIndex, shnum, 0, end, call);
    }
    const head = verifyShareSignature(bytes, shnum, cap.fingerprint);
    if (head.header.format !== cap.format) {
      throw new CorruptMutableShareError(
        "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
        shnum,
        `a ${head.header.format} share, but the cap is ${cap.format}`,
      );
    }
    if (shnum >= head.header.n) {
      throw new CorruptMutableShareError(
        "TAHOE_ERR_MUTABLE_SHARE_LAYOUT",
        shnum,
        `share number ${shnum} is not below N=${head.header.n}`,
      );
    }
    return { head, prefix: bytes };
  } catch (error) {
    if (!(error instanceof CorruptMutableShareError)) throw error;
    return { bad: { server, shnum, checkstring: checkstringOf(cap, bytes), reason: reasonOf(error) } };
  }
}

async function queryServer(
  cap: MutableCap,
  server: UploadServer,
  storageIndex: Uint8Array,
  options: ServermapOptions,
): Promise<ServerAnswer> {
  const call = callOptions(server, options.signal, options.queryTimeoutMs);
  const shnums = await server.client.listMutableShares(storageIndex, call);
  const answer: ServerAnswer = { shares: [], bad: [] };
  for (const shnum of shnums) {
    const got = await readShareHead(cap, server, storageIndex, shnum, options);
    if ("head" in got) answer.shares.push({ server, shnum, head: got.head, prefix: got.prefix });
    else answer.bad.push(got.bad);
  }
  return answer;
}

/**
 * Asks the connected servers (permuted order, a few at a time) which shares of the file they
 * hold, reads each share's first SERVERMAP_READ_SIZE bytes and checks its key and signature.
 * Shares that fail are listed as bad and their servers get a corruption advisory, as Tahoe's
 * servermap updater sends. A reader stops asking by Tahoe's MODE_READ rule (readDone); a
 * writer asks every connected server, so its test-and-set knows every share there is.
 */
export async function updateServermap(cap: MutableCap, options: ServermapOptions): Promise<ServerMap> {
  const storageIndex = storageIndexOfCap(cap);
  const si = base32Encode(storageIndex);
  const ordered = usableServers(storageIndex, options.servers);
  const answered: UploadServer[] = [];
  const failed: { server: UploadServer; reason: string }[] = [];
  const shares: ServermapShare[] = [];
  const badShares: BadServermapShare[] = [];
  const results = new Array<ServerAnswer | undefined>(ordered.length);
  const sofar: ServermapShare[] = [];
  let answers = 0;
  let next = 0;
  const worker = async () => {
    while (
      next < ordered.length &&
      !options.signal?.aborted &&
      !(readDone(sofar, answers) && !options.forWrite)
    ) {
      const i = next++;
      const server = ordered[i]!;
      try {
        results[i] = await queryServer(cap, server, storageIndex, options);
        sofar.push(...results[i]!.shares);
        answers++;
      } catch (error) {
        failed.push({ server, reason: reasonOf(error) });
        options.logger.warn({ si, server: server.id, error: reasonOf(error) }, "servermap query failed");
      }
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? 5);
  await Promise.all(Array.from({ length: Math.min(concurrency, ordered.length) }, worker));
  throwIfAborted(`servermap update of ${si}`, options.signal);
  ordered.forEach((server, i) => {
    const result = results[i];
    if (result === undefined) return;
    answered.push(server);
    shares.push(...result.shares);
    badShares.push(...result.bad);
  });
  await Promise.all(
    badShares.map((bad) =>
      adviseCorrupt(bad.server, storageIndex, bad.shnum, bad.reason, options.logger, options.signal),
    ),
  );
  const versions = groupVersions(shares);
  let privateKey: MutableKeyPair | undefined;
  if (options.forWrite && cap.kind === "write") {
    privateKey = await findPrivateKey(cap.writekey, storageIndex, shares, options);
  }
  options.logger.debug(
    { si, answered: answered.length, failed: failed.length, shares: shares.length, bad: badShares.length },
    "servermap updated",
  );
  return {
    storageIndex,
    answered,
    failed,
    shares,
    badShares,
    versions,
    best: versions.find((v) => v.recoverable),
    highestSeqnum: versions.reduce((m, v) => Math.max(m, v.header.seqnum), 0),
    privateKey,
  };
}

/**
 * Tahoe's MODE_READ stopping rule: at least k+EPSILON (EPSILON = k) servers answered, some
 * version is recoverable, and no unrecoverable version is newer than the best recoverable one.
 * A writer asks every server instead.
 */
function readDone(shares: readonly ServermapShare[], answers: number): boolean {
  const versions = groupVersions(shares);
  const best = versions.find((v) => v.recoverable);
  if (best === undefined || answers < 2 * best.header.k) return false;
  return !versions.some((v) => !v.recoverable && v.header.seqnum > best.header.seqnum);
}

function groupVersions(shares: readonly ServermapShare[]): ServermapVersion[] {
  const byKey = new Map<string, ServermapShare[]>();
  for (const share of shares) {
    const key = versionKey(share.head.header);
    const list = byKey.get(key) ?? [];
    list.push(share);
    byKey.set(key, list);
  }
  return [...byKey.entries()]
    .map(([key, list]) => {
      const header = list[0]!.head.header;
      const distinct = new Set(list.map((s) => s.shnum)).size;
      return { key, header, shares: list, distinct, recoverable: distinct >= header.k };
    })
    .sort((a, b) => compareVersions(b.header, a.header));
}

/**
 * Whether the share no longer holds the version the servermap saw: another writer replaced it
 * between our reads, so bytes read at the old offsets mean nothing (and are no sign of corruption).
 */
async function shareChanged(
  share: ServermapShare,
  storageIndex: Uint8Array,
  options: ServermapOptions,
): Promise<boolean> {
  try {
    const call = callOptions(share.server, options.signal, options.queryTimeoutMs);
    const now = await share.server.client.readMutable(
      storageIndex,
      share.shnum,
      0,
      SERVERMAP_READ_SIZE,
      call,
    );
    const header = parseMutableHeader(now, share.shnum);
    return !Buffer.from(header.checkstring).equals(share.head.header.checkstring);
  } catch {
    return false;
  }
}

/**
 * The signing key from the first share whose encrypted private key decrypts to the writekey.
 * When every share failed and some had been replaced meanwhile, two writers are racing: that is
 * Tahoe's UncoordinatedWriteError, not a missing key.
 */
async function findPrivateKey(
  writekey: Uint8Array,
  storageIndex: Uint8Array,
  shares: readonly ServermapShare[],
  options: ServermapOptions,
): Promise<MutableKeyPair | undefined> {
  let replaced = 0;
  for (const share of shares) {
    const range = shareRanges(share.head.header).encPrivkey;
    try {
      const call = callOptions(share.server, options.signal, options.queryTimeoutMs);
      // A small share's key came with its head.
      const enc =
        range.offset + range.length <= share.prefix.length
          ? share.prefix.subarray(range.offset, range.offset + range.length)
          : await share.server.client.readMutable(
              storageIndex,
              share.shnum,
              range.offset,
              range.length,
              call,
            );
      return privateKeyFromShare(enc, writekey, share.shnum);
    } catch (error) {
      throwIfAborted("servermap update", options.signal);
      if (error instanceof CorruptMutableShareError && (await shareChanged(share, storageIndex, options))) {
        replaced++;
        continue;
      }
      options.logger.warn(
        { server: serverLabel(share.server), share: share.shnum, error: reasonOf(error) },
        "no usable private key in this share",
      );
      if (error instanceof CorruptMutableShareError) {
        await adviseCorrupt(
          share.server,
          storageIndex,
          share.shnum,
          reasonOf(error),
          options.logger,
          options.signal,
        );
      }
    }
  }
  if (replaced > 0) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE",
      `another writer changed mutable file ${base32Encode(storageIndex)} while its signing key was read (${replaced} share(s) replaced)`,
      "Two writers changed the file at once (Tahoe's UncoordinatedWriteError). Read the file again and redo the change.",
    );
  }
  return undefined;
}
