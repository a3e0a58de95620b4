import { createHash } from "node:crypto";
import { netstring, taggedHash, taggedPairHash } from "@lafs/crypto";
import { aesCtr } from "@lafs/mutable";
import { type DirectoryCap, IMMUTABLE_PREFIX, parseDirectoryCap, READONLY_PREFIX } from "./caps.js";
import { classifyChildCap } from "./child-caps.js";
import { DirectoryError, shownCap } from "./errors.js";
import { compareNames, normalizeName } from "./names.js";
import { readNetstring, splitNetstrings } from "./netstrings.js";
import { metadataJson, rememberRawMetadata } from "./python-json.js";

/** One child of a directory, as listed (Tahoe's (node, metadata) pair). */
export interface DirectoryEntry {
  /** NFC. */
  readonly name: string;
  /** rw_uri, decrypted: only a writable parent's holder sees it. */
  readonly writeCap?: string | undefined;
  /** ro_uri. */
  readonly readCap?: string | undefined;
  /** Includes metadata.tahoe.linkcrtime/linkmotime when Tahoe's link times were set. */
  readonly metadata: Record<string, unknown>;
  readonly kind: "dirnode" | "filenode" | "unknown";
  /** Undefined for an unknown cap. */
  readonly mutable?: boolean | undefined;
}

/** An entry that could not be read; the rest of the directory still is. */
export interface DirectoryProblem {
  /** The entry's name when it could be read. */
  readonly name?: string | undefined;
  readonly error: DirectoryError;
  /** The entry's bytes (netstring included), written back unchanged when the directory is edited. */
  readonly raw: Uint8Array;
}

export interface UnpackedDirectory {
  readonly entries: DirectoryEntry[];
  readonly problems: DirectoryProblem[];
  /** The packed length read (Tahoe's dirnode.get_size, which deep-stats adds up). */
  readonly size?: number | undefined;
}

export interface PackOptions {
  /** An immutable (DIR2-CHK/LIT) directory: rwcapdata empty, every child deep-immutable. */
  readonly deepImmutable?: boolean | undefined;
  /** Entries that could not be read, kept byte for byte (those whose name is also in `entries` are dropped). */
  readonly preserved?: readonly DirectoryProblem[] | undefined;
  /** Names the directory in errors. */
  readonly dirName?: string | undefined;
}

const SALT_TAG = "allmydata_dirnode_child_rwcap_to_salt_v1";
const CAPKEY_TAG = "allmydata_mutable_writekey_and_salt_to_dirnode_child_capkey_v1";
const SALT_LENGTH = 16;
const MAC_LENGTH = 32;
const EMPTY_NETSTRING = Buffer.from("0:,", "ascii");

/** hashutil.hmac: HMAC-SHA256 with the 16-byte key XORed unpadded, as Tahoe writes it (never RFC 2104). */
function tahoeHmac(key: Uint8Array, data: Uint8Array): Buffer {
  const inner = Buffer.from(key.map((b) => b ^ 0x36));
  const outer = Buffer.from(key.map((b) => b ^ 0x5c));
  const h = createHash("sha256").update(inner).update(data).digest();
  return createHash("sha256").update(outer).update(h).digest();
}

function childCapKey(salt: Uint8Array, writekey: Uint8Array): Buffer {
  return taggedPairHash(CAPKEY_TAG, salt, writekey, 16);
}

/**
 * rwcapdata is a pure function of (writekey, write cap), and every edit repacks every child, so
 * recent results are kept: an edit of a 1,000-entry directory then hashes only what changed.
 * Bounded: the oldest are dropped past CACHE_LIMIT.
 */
const CACHE_LIMIT = 4096;
const encrypted = new Map<string, Buffer>();
const decrypted = new Map<string, string | undefined>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

/** _encrypt_rw_uri: salt (a hash of the write cap) ‖ AES-CTR(cap) ‖ MAC. */
export function encryptChildWriteCap(writekey: Uint8Array, writeCap: string): Buffer {
  const key = `${Buffer.from(writekey).toString("base64")} ${writeCap}`;
  const hit = encrypted.get(key) ?? remember(encrypted, key, encryptUncached(writekey, writeCap));
  // A copy: the cached bytes must not change under a caller that writes into its result.
  return Buffer.from(hit);
}

function encryptUncached(writekey: Uint8Array, writeCap: string): Buffer {
  const plain = Buffer.from(writeCap, "utf8");
  const salt = taggedHash(SALT_TAG, plain, SALT_LENGTH);
  const key = childCapKey(salt, writekey);
  const ct = aesCtr(key, plain);
  const mac = tahoeHmac(key, Buffer.concat([salt, ct]));
  return Buffer.concat([salt, ct, mac]);
}

/** The write cap back from rwcapdata, after checking its MAC; undefined for a read-only child. */
export function decryptChildWriteCap(
  writekey: Uint8Array,
  rwcapdata: Uint8Array,
): { ok: true; writeCap: string | undefined } | { ok: false; why: string } {
  if (rwcapdata.length < SALT_LENGTH + MAC_LENGTH) {
    return {
      ok: false,
      why: `its encrypted write cap is ${rwcapdata.length} bytes, shorter than salt and MAC (48)`,
    };
  }
  const cacheKey = `${Buffer.from(writekey).toString("base64")} ${Buffer.from(rwcapdata).toString("base64")}`;
  if (decrypted.has(cacheKey)) return { ok: true, writeCap: decrypted.get(cacheKey) };
  const salt = rwcapdata.subarray(0, SALT_LENGTH);
  const ct = rwcapdata.subarray(SALT_LENGTH, rwcapdata.length - MAC_LENGTH);
  const mac = rwcapdata.subarray(rwcapdata.length - MAC_LENGTH);
  const key = childCapKey(salt, writekey);
  const expected = tahoeHmac(key, rwcapdata.subarray(0, rwcapdata.length - MAC_LENGTH));
  if (!expected.equals(mac)) {
    return {
      ok: false,
      why: "the MAC of its encrypted write cap does not match (damaged, or not written with this directory's key)",
    };
  }
  const text = Buffer.from(aesCtr(key, ct)).toString("utf8").replace(/ +$/, "");
  return { ok: true, writeCap: remember(decrypted, cacheKey, text === "" ? undefined : text) };
}

function dirLabel(dirName: string | undefined, cap: DirectoryCap | undefined): string {
  if (dirName !== undefined) return `directory ${JSON.stringify(dirName)}`;
  return cap === undefined ? "directory" : `directory ${shownCap(cap.text)}`;
}

function malformed(label: string, entry: string | undefined, why: string): DirectoryError {
  const which = entry === undefined ? "an entry" : `entry ${JSON.stringify(entry)}`;
  return new DirectoryError("TAHOE_ERR_DIRECTORY_MALFORMED", `${label}: ${which} cannot be read: ${why}`, {
    hint: "The other entries are still listed. Relink or delete the damaged entry; an edit of the directory keeps its bytes unchanged.",
  });
}

function stripForRo(cap: string, deepImmutable: boolean): string {
  if (cap.startsWith(IMMUTABLE_PREFIX)) return deepImmutable ? cap.slice(IMMUTABLE_PREFIX.length) : cap;
  if (cap.startsWith(READONLY_PREFIX)) return cap.slice(READONLY_PREFIX.length);
  return cap;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value as object)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The cap fields of one child, checked as Tahoe's set_uri/pack_children check them. */
function childFields(
  entry: DirectoryEntry,
  deepImmutable: boolean,
  label: string,
): { ro: string; rw: string | undefined } {
  const name = entry.name;
  const rw = entry.writeCap === undefined || entry.writeCap === "" ? undefined : entry.writeCap;
  let ro = entry.readCap === undefined || entry.readCap === "" ? undefined : entry.readCap;
  if (ro !== undefined) {
    const info = classifyChildCap(ro);
    if (info.isWriteCap) {
      throw new DirectoryError(
        "TAHOE_ERR_DIRECTORY_BAD_CHILD",
        `${label}: child ${JSON.stringify(name)}: a write cap was given as its read-only cap: ${shownCap(ro)}`,
        { hint: "Give the write cap as writeCap; its read-only cap is derived from it." },
      );
    }
  } else if (rw !== undefined) {
    ro = classifyChildCap(rw).readCap;
  }
  if (deepImmutable) {
    const cap = ro ?? rw;
    const ok =
      cap !== undefined &&
      (rw === undefined || (rw.startsWith(IMMUTABLE_PREFIX) && ro === undefined) || rw === ro) &&
      (classifyChildCap(cap).deepImmutable || cap.startsWith(IMMUTABLE_PREFIX));
    if (!ok) {
      throw new DirectoryError(
        "TAHOE_ERR_DIRECTORY_NOT_DEEP_IMMUTABLE",
        `${label}: child ${JSON.stringify(name)} is not immutable: ${shownCap(cap ?? "(no cap)")}`,
        {
          hint: "An immutable directory may hold only immutable files and directories (URI:CHK:, URI:LIT:, URI:DIR2-CHK:, URI:DIR2-LIT:) or unknown caps marked imm.",
        },
      );
    }
    return { ro: stripForRo(cap!, true), rw: undefined };
  }
  return { ro: ro === undefined ? "" : stripForRo(ro, false), rw };
}

/** The metadata as JSON text; what JSON cannot hold (a function, NaN, Infinity) is refused with a coded error. */
function storedMetadata(entry: DirectoryEntry, label: string): string {
  const refuse = (why: string) =>
    new DirectoryError(
      "TAHOE_ERR_DIRECTORY_BAD_CHILD",
      `${label}: the metadata of child ${JSON.stringify(entry.name)} ${why}`,
      {
        hint: "Metadata is a JSON object of strings, finite numbers, booleans, null, lists and objects.",
      },
    );
  const metadata = entry.metadata ?? {};
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata))
    throw refuse("is not an object");
  let text: string;
  try {
    text = metadataJson(metadata);
  } catch (error) {
    throw refuse(`cannot be written as JSON: ${(error as Error).message}`);
  }
  return text;
}

/**
 * pack_children: the children sorted by NFC name (code point order), each
 * netstring(netstring(name) ‖ netstring(ro_uri) ‖ netstring(rwcapdata) ‖ netstring(metadata)).
 * With a writekey every child gets rwcapdata (48 bytes for a read-only one); without one it is
 * "0:,". Byte-identical to Tahoe's for the same children and metadata.
 */
export function packDirectory(
  entries: readonly DirectoryEntry[],
  writekey: Uint8Array | undefined,
  options: PackOptions = {},
): Uint8Array {
  const deepImmutable = options.deepImmutable === true;
  const label = dirLabel(options.dirName, undefined);
  if (deepImmutable && writekey !== undefined) {
    throw new DirectoryError(
      "TAHOE_ERR_DIRECTORY_BAD_CHILD",
      `${label}: an immutable directory is packed without a writekey`,
    );
  }
  const byName = new Map<string, Buffer>();
  for (const entry of entries) {
    const name = normalizeName(entry.name);
    const { ro, rw } = childFields({ ...entry, name }, deepImmutable, label);
    const rwcapdata =
      writekey === undefined ? EMPTY_NETSTRING : netstring(encryptChildWriteCap(writekey, rw ?? ""));
    const body = Buffer.concat([
      netstring(name),
      netstring(ro),
      rwcapdata,
      netstring(storedMetadata(entry, label)),
    ]);
    byName.set(name, netstring(body));
  }
  const unnamed: Uint8Array[] = [];
  for (const p of options.preserved ?? []) {
    if (p.name === undefined) unnamed.push(p.raw);
    else if (!byName.has(p.name)) byName.set(p.name, Buffer.from(p.raw));
  }
  const names = [...byName.keys()].sort(compareNames);
  return Buffer.concat([...names.map((n) => byName.get(n)!), ...unnamed]);
}

export interface UnpackOptions {
  /** Names the directory in errors (a path, or its cap shortened when absent). */
  readonly dirName?: string | undefined;
}

/**
 * The children of a packed directory. Read as Tahoe's _unpack_contents does, but an entry that
 * cannot be read (a truncated netstring, bad UTF-8, a bad MAC, a malformed cap, bad metadata) is
 * returned as a problem naming the directory and the entry instead of failing the whole listing.
 * `cap` says how to read: a write cap decrypts each child's write cap; an immutable one expects
 * empty rwcapdata.
 */
export function unpackDirectory(
  plaintext: Uint8Array,
  cap: DirectoryCap | string,
  dirName?: string | UnpackOptions,
): UnpackedDirectory {
  const dir = typeof cap === "string" ? parseDirectoryCap(cap) : cap;
  const name = typeof dirName === "string" ? dirName : dirName?.dirName;
  const label = dirLabel(name, dir);
  const data = plaintext;
  const entries: DirectoryEntry[] = [];
  const problems: DirectoryProblem[] = [];
  const seen = new Set<string>();
  let offset = 0;
  while (offset < data.length) {
    const outer = readNetstring(data, offset);
    if (!outer.ok) {
      problems.push({
        error: malformed(
          label,
          undefined,
          `${outer.why}; the last ${data.length - offset} bytes are skipped`,
        ),
        raw: data.subarray(offset),
      });
      break;
    }
    const raw = data.subarray(offset, outer.next);
    offset = outer.next;
    const result = unpackEntry(outer.body, dir, label, deepImmutableOf(dir));
    if ("problem" in result) {
      problems.push({ name: result.name, error: result.problem, raw });
      continue;
    }
    if (seen.has(result.entry.name)) {
      problems.push({
        name: result.entry.name,
        error: malformed(label, result.entry.name, "a second entry with this name"),
        raw,
      });
      continue;
    }
    seen.add(result.entry.name);
    entries.push(result.entry);
  }
  return { entries, problems };
}

function deepImmutableOf(dir: DirectoryCap): boolean {
  return dir.format === "CHK" || dir.format === "LIT";
}

function unpackEntry(
  body: Uint8Array,
  dir: DirectoryCap,
  label: string,
  deepImmutable: boolean,
): { entry: DirectoryEntry } | { problem: DirectoryError; name?: string | undefined } {
  const split = splitNetstrings(body, 4);
  if (!split.ok) return { problem: malformed(label, undefined, split.why) };
  const [nameBytes, roBytes, rwcapdata, metaBytes] = split.parts as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  let name: string;
  try {
    name = normalizeName(utf8.decode(nameBytes));
  } catch {
    return { problem: malformed(label, undefined, "its name is not UTF-8") };
  }
  const fail = (why: string) => ({ problem: malformed(label, name, why), name });
  let roField: string;
  try {
    roField = utf8.decode(roBytes).replace(/ +$/, "");
  } catch {
    return fail("its read-only cap is not UTF-8");
  }
  let writeCap: string | undefined;
  if (deepImmutable) {
    if (rwcapdata.length !== 0)
      return fail("it has an encrypted write cap, which an immutable directory may not hold");
  } else if (dir.writekey !== undefined && rwcapdata.length > 0) {
    const rw = decryptChildWriteCap(dir.writekey, rwcapdata);
    if (!rw.ok) return fail(rw.why);
    writeCap = rw.writeCap;
  }
  let metadata: Record<string, unknown>;
  let metaText: string;
  try {
    metaText = utf8.decode(metaBytes);
    const parsed: unknown = JSON.parse(metaText);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      return fail("its metadata is not a JSON object");
    metadata = parsed as Record<string, unknown>;
  } catch {
    return fail("its metadata is not JSON");
  }
  rememberRawMetadata(metadata, metaText);
  deepFreeze(metadata);
  // An unknown cap in an immutable directory is implicitly marked imm. (unknown.py).
  let readCap = roField === "" ? undefined : roField;
  const info = classifyChildCap(writeCap ?? readCap ?? "");
  // No cap we can see (an unknown write cap seen through a read cap, or none at all) is listed
  // as an opaque unknown child, as Tahoe's UnknownNode(None, None).
  if (info.error !== undefined) return fail(`its cap does not parse: ${info.error}`);
  if (readCap !== undefined) {
    const roInfo = writeCap === undefined ? info : classifyChildCap(readCap);
    if (roInfo.isWriteCap) return fail(`a write cap is stored as its read-only cap: ${shownCap(readCap)}`);
    if (deepImmutable && !roInfo.deepImmutable) {
      if (roInfo.kind !== "unknown")
        return fail(`an immutable directory holds a mutable cap: ${shownCap(readCap)}`);
      if (!readCap.startsWith(IMMUTABLE_PREFIX)) readCap = `${IMMUTABLE_PREFIX}${readCap}`;
    } else if (
      roInfo.kind === "unknown" &&
      !readCap.startsWith(IMMUTABLE_PREFIX) &&
      !readCap.startsWith(READONLY_PREFIX)
    ) {
      // unknown.py marks an unknown cap from a read-only slot "ro."; packing strips it again.
      readCap = `${READONLY_PREFIX}${readCap}`;
    }
  }
  if (writeCap !== undefined && info.kind !== "unknown" && readCap === undefined) readCap = info.readCap;
  const entry: DirectoryEntry = {
    name,
    ...(writeCap === undefined ? {} : { writeCap }),
    ...(readCap === undefined ? {} : { readCap }),
    metadata,
    kind: info.kind,
    ...(info.mutable === undefined ? {} : { mutable: info.mutable }),
  };
  return { entry };
}
