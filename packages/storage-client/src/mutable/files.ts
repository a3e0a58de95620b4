import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { base32Encode } from "@lafs/crypto";
import { type Logger, silentLogger } from "@lafs/interface";
import {
  deriveMutableSecrets,
  encodeMutableVersion,
  formatMutableCap,
  importMutablePrivateKey,
  type MutableCap,
  MutableError,
  type MutableFormat,
  type MutableKeyPair,
  type MutableReadCap,
  type MutableWriteCap,
  mdmfUpdateRange,
  mutableCapsOf,
  parseMutableCap,
  planMdmfUpdate,
  RSA_KEY_BITS,
  readCapOf,
  storageIndexOfCap,
  verifyCapOf,
  writeEnablerMasterOf,
} from "@lafs/mutable";
import type { MutableCorruptShareReport } from "./advise.js";
import { collectContents, MAX_MUTABLE_FILE_SIZE, type MutableContents } from "./contents.js";
import {
  abortedError,
  isMutableFileError,
  type MutableFileError,
  mutableError,
  reasonOf,
  throwIfAborted,
} from "./errors.js";
import { checkLeaseSecret, type MutableGridOptions, queryTimeout, usableServers } from "./grid.js";
import { locationKey, type PublishResult, placementGoal, publishShares } from "./publish.js";
import { VersionReader } from "./retrieve.js";
import { type ServerMap, type ServermapVersion, updateServermap } from "./servermap.js";

export type { MutableContents };

const generateKeyPairAsync = promisify(generateKeyPair);

/** What createMutableFile made. */
export interface CreatedMutableFile {
  readonly writeCap: string;
  readonly readCap: string;
  readonly verifyCap: string;
  readonly storageIndex: Uint8Array;
  readonly format: MutableFormat;
}

/** The newest recoverable version of a mutable file, ready to read. */
export interface MutableFileHandle {
  readonly format: MutableFormat;
  readonly size: number;
  readonly seqnum: number;
  readonly k: number;
  readonly n: number;
  readonly writeCap?: string;
  readonly readCap: string;
  readonly verifyCap: string;
  readonly storageIndex: Uint8Array;
  /** Plaintext of [start, end) (end exclusive, clipped to the size); only the segments it touches are fetched. */
  read(range?: { start: number; end: number }, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /** The whole range at once. */
  readAll(range?: { start: number; end: number }, signal?: AbortSignal): Promise<Uint8Array>;
  /** Corrupt shares found so far (each one's server was sent an advisory). */
  corruptShares(): readonly MutableCorruptShareReport[];
}

export interface OverwriteResult {
  readonly seqnum: number;
}

export interface UpdateResult {
  readonly seqnum: number;
  readonly size: number;
  /** True when the update rewrote only the touched segments (MDMF), false for a whole rewrite. */
  readonly inPlace: boolean;
}

export interface CreateOptions {
  readonly format: MutableFormat;
  readonly contents: MutableContents;
  readonly size?: number | undefined;
  /**
   * The file's RSA-2048 private key (PKCS#8 DER, or PEM), as Tahoe's `private-key=` and
   * `--private-key-path` give one; a fresh key when absent.
   */
  readonly privateKey?: Uint8Array | string | undefined;
}

/** Extra knobs tests and tools use; the web API passes none. */
export interface PublishExtras {
  /** Publish against this servermap instead of a fresh one (two writers racing from the same view). */
  readonly servermap?: ServerMap | undefined;
  /** Told the bytes written per server. */
  readonly onPublished?: ((result: PublishResult) => void) | undefined;
}

function loggerOf(o: MutableGridOptions): Logger {
  return (o.logger ?? silentLogger).child({ component: "mutable" });
}

function parseCap(cap: string): MutableCap {
  return parseMutableCap(typeof cap === "string" ? cap.trim() : cap);
}

function writeCapOf(text: string, what: string): MutableWriteCap {
  const cap = parseCap(text);
  if (cap.kind !== "write") {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_READ_ONLY_CAP",
      `cannot ${what} ${formatMutableCap(cap)}: it is a ${cap.kind === "read" ? "read-only" : "verify"} cap`,
      `Writing needs the write cap (URI:SSK: or URI:MDMF:); a ${cap.kind} cap can only ${cap.kind === "read" ? "read" : "check"} the file.`,
    );
  }
  return cap;
}

function checkGrid(o: MutableGridOptions): void {
  checkLeaseSecret(o.leaseSecret);
}

/**
 * Creates a mutable file: a fresh RSA-2048 key (or the one given), seqnum 1, k-of-N shares placed like Tahoe's
 * publish (each share number on the least-loaded server in permuted order, tested to not exist).
 */
export async function createMutableFile(
  o: MutableGridOptions & CreateOptions & PublishExtras,
): Promise<CreatedMutableFile> {
  checkGrid(o);
  if (o.format !== "SDMF" && o.format !== "MDMF") {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_ARGUMENT",
      `unknown mutable format ${JSON.stringify(o.format)}`,
      "The format is SDMF or MDMF.",
    );
  }
  const given =
    o.privateKey === undefined
      ? undefined
      : importMutablePrivateKey(o.privateKey, "the new mutable file's private key");
  const plaintext = await collectContents(
    o.contents,
    "new mutable file",
    maxOf(o, o.format, o.k),
    o.size,
    o.signal,
  );
  const keyPair = given ?? (await newMutableKeyPair());
  const secrets = deriveMutableSecrets(keyPair);
  const caps = mutableCapsOf(o.format, secrets.writekey, secrets.fingerprint);
  await publishWhole(o, keyPair, caps.write, plaintext, 1, o.k, o.n, undefined);
  return {
    writeCap: formatMutableCap(caps.write),
    readCap: formatMutableCap(caps.read),
    verifyCap: formatMutableCap(caps.verify),
    storageIndex: secrets.storageIndex,
    format: o.format,
  };
}

/** The key the next create takes: made once a create has taken the one before. */
let spareKeyPair: Promise<MutableKeyPair> | undefined;

/**
 * A fresh RSA-2048 key. Finding one takes 0.1 to 0.5 s of CPU (more than a round trip on most
 * links), so once a process has created a mutable file or directory it keeps one made ahead,
 * and the next create starts publishing at once. A key is never used twice.
 */
export function newMutableKeyPair(): Promise<MutableKeyPair> {
  const key = spareKeyPair ?? makeKeyPair();
  spareKeyPair = makeKeyPair();
  // A failure here is the next create's to report, when it takes this key.
  spareKeyPair.catch(() => {});
  return key;
}

/**
 * An RSA-2048 key made on libuv's thread pool, so a web request creating a file does not
 * stall the event loop while the key is found.
 */
async function makeKeyPair(): Promise<MutableKeyPair> {
  const { privateKey } = await generateKeyPairAsync("rsa", {
    modulusLength: RSA_KEY_BITS,
    publicExponent: 65537,
    publicKeyEncoding: { type: "spki", format: "der" },
    privateKeyEncoding: { type: "pkcs8", format: "der" },
  });
  return importMutablePrivateKey(new Uint8Array(privateKey), "a new RSA key");
}

/** SDMF keeps the whole file in one segment, in one request per share: cap it below a server's body limit. */
const SDMF_MAX_SHARE = 48 * 1024 * 1024;

function maxOf(o: MutableGridOptions, format: MutableFormat, k: number): number {
  const max = o.maxSize ?? MAX_MUTABLE_FILE_SIZE;
  return format === "SDMF" ? Math.min(max, SDMF_MAX_SHARE * Math.max(1, k)) : max;
}

/** Encodes and publishes a whole version (create, overwrite, SDMF update). */
async function publishWhole(
  o: MutableGridOptions & PublishExtras,
  keyPair: MutableKeyPair,
  cap: MutableWriteCap,
  plaintext: Uint8Array,
  seqnum: number,
  k: number,
  n: number,
  map: ServerMap | undefined,
): Promise<void> {
  const logger = loggerOf(o);
  const storageIndex = storageIndexOfCap(cap);
  throwIfAborted(`publish of mutable file ${base32Encode(storageIndex)}`, o.signal);
  const secrets = deriveMutableSecrets(keyPair);
  const encoded = encodeMutableVersion({ format: cap.format, keyPair, secrets, plaintext, seqnum, k, n });
  const servers = map === undefined ? usableServers(storageIndex, o.servers) : [...map.answered];
  const result = await publishShares({
    storageIndex,
    format: cap.format,
    k,
    writeEnablerMaster: writeEnablerMasterOf(cap.writekey),
    leaseSecret: o.leaseSecret,
    newCheckstring: encoded.header.checkstring,
    writesFor: (shnum) => encoded.writes[shnum]!,
    goal: placementGoal(map, servers, n),
    rehomeTo: servers,
    known: knownLocations(map),
    signal: o.signal,
    logger,
  });
  o.onPublished?.(result);
}

function knownLocations(map: ServerMap | undefined): Set<string> {
  const known = new Set<string>();
  for (const s of map?.shares ?? []) known.add(locationKey(s.server, s.shnum));
  for (const b of map?.badShares ?? []) known.add(locationKey(b.server, b.shnum));
  return known;
}

async function servermapFor(o: MutableGridOptions, cap: MutableCap, forWrite: boolean): Promise<ServerMap> {
  return updateServermap(cap, {
    servers: o.servers,
    signal: o.signal,
    logger: loggerOf(o),
    queryTimeoutMs: queryTimeout(o),
    forWrite,
  });
}

function noRecoverableVersion(map: ServerMap): MutableFileError {
  const si = base32Encode(map.storageIndex);
  const seen = map.versions.map((v) => `seqnum ${v.header.seqnum}: ${v.distinct} of k=${v.header.k}`);
  const bad = map.badShares.length;
  return mutableError(
    "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES",
    `no recoverable version of mutable file ${si}: ` +
      (seen.length > 0 ? `found ${seen.join(", ")}` : "no shares found") +
      (bad > 0 ? `, ${bad} bad share(s)` : "") +
      `; asked ${map.answered.length + map.failed.length} server(s), ${map.failed.length} failed`,
    "Fewer than k good shares of any version were found; try again when more storage servers are connected.",
  );
}

function bestOf(map: ServerMap): ServermapVersion {
  if (map.best === undefined) throw noRecoverableVersion(map);
  return map.best;
}

/**
 * Opens the newest recoverable version of a mutable file (Tahoe's download_best_version):
 * a servermap update, then reads that fetch only the segments they cover, every signature,
 * hash and block checked; a bad share is routed around and its server told. With `servermap`
 * (one a writer just made, as Tahoe's modify reads the version its map found) no update is
 * made.
 */
export async function openMutableFile(
  o: MutableGridOptions & { cap: string; servermap?: ServerMap | undefined },
): Promise<MutableFileHandle> {
  const cap = parseCap(o.cap);
  if (cap.kind === "verify") {
    throw new MutableError("TAHOE_ERR_MUTABLE_CAP", "a verify cap can check shares but not decrypt them", {
      hint: "Read the file with its write cap (URI:SSK:/URI:MDMF:) or read cap (URI:SSK-RO:/URI:MDMF-RO:).",
    });
  }
  const map = o.servermap ?? (await servermapFor(o, cap, false));
  const version = bestOf(map);
  return handleFor(o, cap, map, version);
}

function handleFor(
  o: MutableGridOptions,
  cap: MutableWriteCap | MutableReadCap,
  map: ServerMap,
  version: ServermapVersion,
): MutableFileHandle {
  const read = readCapOf(cap);
  const reports: MutableCorruptShareReport[] = [];
  const reader = new VersionReader(map.storageIndex, version, read.readkey, {
    signal: o.signal,
    logger: loggerOf(o),
    onCorruptShare: (r) => reports.push(r),
  });
  const header = version.header;
  const size = header.dataLength;
  async function* readRange(range?: { start: number; end: number }, signal?: AbortSignal) {
    const start = Math.max(0, Math.min(range?.start ?? 0, size));
    const end = Math.max(start, Math.min(range?.end ?? size, size));
    if (end <= start) return;
    const segsize = header.segmentSize;
    const first = Math.floor(start / segsize);
    const last = Math.floor((end - 1) / segsize);
    let s = first;
    for await (const plain of reader.segments(first, last, signal)) {
      throwIfAborted(`read of mutable file ${base32Encode(map.storageIndex)}`, signal);
      const from = s * segsize;
      const piece = plain.subarray(Math.max(0, start - from), Math.min(plain.length, end - from));
      if (piece.length > 0) yield piece;
      s++;
    }
  }
  return {
    format: header.format,
    size,
    seqnum: header.seqnum,
    k: header.k,
    n: header.n,
    ...(cap.kind === "write" ? { writeCap: formatMutableCap(cap) } : {}),
    readCap: formatMutableCap(read),
    verifyCap: formatMutableCap(verifyCapOf(cap)),
    storageIndex: map.storageIndex,
    read: readRange,
    async readAll(range, signal) {
      const parts: Uint8Array[] = [];
      for await (const part of readRange(range, signal)) parts.push(part);
      return Buffer.concat(parts);
    },
    corruptShares: () => [...reports],
  };
}

/** The signing key from the servermap, or a clear error when no share gave it. */
function privateKeyOf(map: ServerMap): MutableKeyPair {
  if (map.privateKey === undefined) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES",
      `no share of mutable file ${base32Encode(map.storageIndex)} gave the signing key (${map.shares.length} share(s) found)`,
      "Writing needs the private key, which every share carries encrypted; try again when more storage servers are connected.",
    );
  }
  return map.privateKey;
}

/**
 * Replaces the whole contents (Tahoe's overwrite): a servermap update for writing, then a new
 * version with seqnum = highest seen + 1, test-and-set against every share the map saw. A
 * concurrent writer makes it fail with TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE (no retry, as
 * Tahoe's overwrite does not retry).
 */
export async function overwriteMutableFile(
  o: MutableGridOptions & {
    writeCap: string;
    contents: MutableContents;
    size?: number | undefined;
  } & PublishExtras,
): Promise<OverwriteResult> {
  checkGrid(o);
  const cap = writeCapOf(o.writeCap, "overwrite");
  const map = o.servermap ?? (await servermapFor(o, cap, true));
  const best = bestOf(map);
  const keyPair = privateKeyOf(map);
  const plaintext = await collectContents(
    o.contents,
    `new contents of ${o.writeCap.slice(0, 12)}…`,
    maxOf(o, cap.format, best.header.k),
    o.size,
    o.signal,
  );
  const seqnum = map.highestSeqnum + 1;
  await publishWhole(o, keyPair, cap, plaintext, seqnum, best.header.k, best.header.n, map);
  return { seqnum };
}

/**
 * Writes `contents` at `offset` (offset <= size; writing at the size appends). MDMF: only the
 * segments the bytes touch are re-encrypted (fresh salts) and written, with the block hash
 * trees, share hash chain, signature and header, seqnum + 1 (Tahoe's update). SDMF, or an
 * MDMF file missing some share's block hash tree: the whole file is rewritten, as Tahoe's
 * modify does for SDMF.
 */
export async function updateMutableFile(
  o: MutableGridOptions & {
    writeCap: string;
    offset: number;
    contents: MutableContents;
    size?: number | undefined;
  } & PublishExtras,
): Promise<UpdateResult> {
  checkGrid(o);
  const cap = writeCapOf(o.writeCap, "update");
  if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_ARGUMENT",
      `update offset ${o.offset} is not a whole number >= 0`,
      "The offset is a byte position no larger than the file's size.",
    );
  }
  let map = o.servermap ?? (await servermapFor(o, cap, true));
  const max = maxOf(o, cap.format, bestOf(map).header.k);
  checkOffset(o.offset, bestOf(map).header.dataLength);
  const data = await collectContents(
    o.contents,
    "update data",
    Math.max(0, max - o.offset),
    o.size,
    o.signal,
  );
  // SDMF updates go through Tahoe's modify(), which retries an uncoordinated write after a
  // backoff on a fresh servermap (at most 3 times); MDMF in-place updates do not retry.
  for (let attempt = 0; ; attempt++) {
    try {
      return await updateOnce(o, cap, map, data);
    } catch (error) {
      const retry =
        isMutableFileError(error, "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE") &&
        o.servermap === undefined &&
        cap.format === "SDMF" &&
        attempt < MODIFY_RETRIES;
      if (!retry) throw error;
      loggerOf(o).info(
        { attempt: attempt + 1, error: reasonOf(error) },
        "uncoordinated write; retrying the update",
      );
      await backoff(attempt, o.signal);
      map = await servermapFor(o, cap, true);
      checkOffset(o.offset, bestOf(map).header.dataLength);
    }
  }
}

/** Tahoe's BackoffAgent: 1 s, then × e each time, with a little jitter; the 4th failure is final. */
const MODIFY_RETRIES = 3;

async function backoff(attempt: number, signal: AbortSignal | undefined): Promise<void> {
  const delay = 1000 * Math.E ** attempt * (1 + (Math.random() - 0.5) * 0.2392);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, delay);
    function done() {
      signal?.removeEventListener("abort", cancel);
      resolve();
    }
    function cancel() {
      clearTimeout(timer);
      reject(abortedError("mutable file update", signal!));
    }
    signal?.addEventListener("abort", cancel, { once: true });
    if (signal?.aborted) cancel();
  });
}

function checkOffset(offset: number, size: number): void {
  if (offset > size) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_ARGUMENT",
      `update offset ${offset} is past the end of the ${size}-byte file`,
      "The offset must be no larger than the current size; writing at the size appends.",
    );
  }
}

async function updateOnce(
  o: MutableGridOptions & PublishExtras & { offset: number },
  cap: MutableWriteCap,
  map: ServerMap,
  data: Uint8Array,
): Promise<UpdateResult> {
  const best = bestOf(map);
  const keyPair = privateKeyOf(map);
  const header = best.header;
  const logger = loggerOf(o);
  const reader = new VersionReader(map.storageIndex, best, readCapOf(cap).readkey, {
    signal: o.signal,
    logger,
  });
  const seqnum = map.highestSeqnum + 1;
  const trees = header.format === "MDMF" ? await reader.blockHashTrees() : new Map();
  if (header.format === "SDMF" || trees.size < header.n) {
    if (header.format === "MDMF") {
      logger.info(
        { trees: trees.size, n: header.n },
        "some shares' block hash trees are missing: rewriting the whole file",
      );
    }
    const parts: Uint8Array[] = [];
    if (reader.numSegments > 0)
      for await (const p of reader.segments(0, reader.numSegments - 1)) parts.push(p);
    const old = Buffer.concat(parts);
    const end = o.offset + data.length;
    const next = Buffer.alloc(Math.max(old.length, end));
    next.set(old);
    next.set(data, o.offset);
    await publishWhole(o, keyPair, cap, next, seqnum, header.k, header.n, map);
    return { seqnum, size: next.length, inPlace: false };
  }
  const range = mdmfUpdateRange(header, o.offset, data.length);
  const oldSegments = new Map<number, Uint8Array>();
  for (const s of range.segmentsToRead) {
    for await (const plain of reader.segments(s, s)) oldSegments.set(s, plain);
  }
  const secrets = deriveMutableSecrets(keyPair);
  const plan = planMdmfUpdate({
    keyPair,
    secrets,
    old: header,
    oldBlockHashTrees: trees,
    oldSegments,
    offset: o.offset,
    data,
    seqnum,
  });
  // Only shares of the version updated can take in-place writes; they cannot move servers.
  const goal = best.shares.map((s) => ({
    server: s.server,
    shnum: s.shnum,
    test: { offset: 0, size: header.checkstring.length, specimen: header.checkstring },
  }));
  const result = await publishShares({
    storageIndex: map.storageIndex,
    format: "MDMF",
    k: header.k,
    writeEnablerMaster: secrets.writeEnablerMaster,
    leaseSecret: o.leaseSecret,
    newCheckstring: plan.header.checkstring,
    writesFor: (shnum) => plan.writes[shnum]!,
    goal,
    known: knownLocations(map),
    signal: o.signal,
    logger,
  });
  o.onPublished?.(result);
  return { seqnum, size: range.newDataLength, inPlace: true };
}
