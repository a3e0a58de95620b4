import { type DecodeOptions, decode, encode } from "cbor2";

/** A reply body that is not CBOR, or does not have the shape GBS (wire-formats §5.5) prescribes. */
export class ShapeError extends Error {}

/** A decoded CBOR item: cbor2 gives Maps (preferMap), Sets for tag 258, bigints past 2^53. */
export type CborValue = unknown;

const SET_TAG = 258;

// Lenient where the storage server is strict (it rejects indefinite lengths and duplicate
// keys): other servers may send indefinite lengths, and a reply is only read, never stored.
// Maps stay Maps because GBS mixes text, byte-string and integer keys; no tag but 258 (a
// Python set) gets meaning, so any other comes back as a Tag that no parser accepts.
const DECODE_OPTIONS: DecodeOptions = {
  preferMap: true,
  maxDepth: 64,
  ignoreGlobalTags: true,
  tags: new Map([
    [
      SET_TAG,
      (tag: { contents: unknown }) => {
        if (!Array.isArray(tag.contents)) throw new Error("tag 258 (set) must wrap an array");
        return new Set(tag.contents);
      },
    ],
  ]),
};

/**
 * Decodes exactly one CBOR item; anything malformed is a ShapeError naming cbor2's reason. Byte
 * strings come back as plain Uint8Arrays (cbor2 would give Buffer views of a Buffer reply).
 */
export function decodeBody(bytes: Uint8Array): CborValue {
  try {
    return decode(plainBytes(bytes), DECODE_OPTIONS);
  } catch (cause) {
    throw new ShapeError(`not valid CBOR (${cause instanceof Error ? cause.message : String(cause)})`);
  }
}

/**
 * Encodes a request body as Python's cbor2 does for a Tahoe-LAFS client: plain objects become
 * text-keyed maps in insertion order, Sets become tag 258, integers take their shortest form,
 * so the bytes match Tahoe's. Byte strings must be plain Uint8Arrays (see `plainBytes`).
 */
export function encodeBody(value: CborValue): Uint8Array {
  return encode(value);
}

/** A Uint8Array view that cbor2 encodes as a byte string (it encodes a Node Buffer as an object). */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What `GET /storage/v1/version` tells about the server. Sizes past 2^53 lose precision. */
export interface StorageVersion {
  maximumImmutableShareSize: number;
  maximumMutableShareSize: number;
  availableSpace: number;
  /** e.g. `tahoe-lafs/1.20.0`. */
  applicationVersion: string;
}

export interface AllocateResult {
  /** Every complete share of the storage index on this server, not only the ones asked for. */
  alreadyHave: number[];
  /** Share numbers this upload may now write, tied to its upload secret. */
  allocated: number[];
  /**
   * Requested share numbers in neither list: another upload is writing them, or the server lacked
   * space for them.
   */
  refused: number[];
}

/** A half-open byte range [begin, end) the server still needs. */
export interface ByteRange {
  begin: number;
  end: number;
}

export interface WriteResult {
  /** True once every byte of the share is written (HTTP 201): the share is now readable. */
  complete: boolean;
  required: ByteRange[];
}

export interface TestVector {
  offset: number;
  size: number;
  /** The bytes at [offset, offset+size) must equal this (reads past the end are cut short). */
  specimen: Uint8Array;
}

export interface WriteVector {
  offset: number;
  data: Uint8Array;
}

export interface TestWriteVectors {
  test?: readonly TestVector[];
  write?: readonly WriteVector[];
  /** 0 deletes the share; a smaller length truncates it; null or absent leaves the length alone. */
  newLength?: number | null;
}

export interface ReadVector {
  offset: number;
  size: number;
}

export interface ReadTestWriteRequest {
  testWriteVectors: ReadonlyMap<number, TestWriteVectors> | Readonly<Record<number, TestWriteVectors>>;
  readVector?: readonly ReadVector[];
}

export interface ReadTestWriteResult {
  /** Whether every test passed, and so whether the writes were applied. */
  success: boolean;
  /** For every share that existed before the call: the bytes of each read vector, in order. */
  data: Map<number, Uint8Array[]>;
}

const VERSION_KEY = "http://allmydata.org/tahoe/protocols/storage/v1";

function bytesKey(map: Map<CborValue, CborValue>, key: string): CborValue {
  for (const [k, v] of map) {
    if (k instanceof Uint8Array && Buffer.from(k).toString("latin1") === key) return v;
  }
  return undefined;
}

function textKey(map: Map<CborValue, CborValue>, key: string, where: string): CborValue {
  if (!map.has(key)) throw new ShapeError(`${where} has no '${key}' key`);
  return map.get(key);
}

function asMap(value: CborValue, where: string): Map<CborValue, CborValue> {
  if (!(value instanceof Map)) throw new ShapeError(`${where} is not a CBOR map`);
  return value;
}

function asUint(value: CborValue, where: string): number {
  if (typeof value === "bigint" && value >= 0n) return Number(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ShapeError(`${where} is not an unsigned integer`);
}

function asSet(value: CborValue, where: string): number[] {
  if (!(value instanceof Set)) throw new ShapeError(`${where} is not a CBOR set (tag 258 over an array)`);
  return [...value].map((v, i) => asUint(v, `${where}[${i}]`)).sort((a, b) => a - b);
}

export function parseVersion(value: CborValue): StorageVersion {
  const top = asMap(value, "the version reply");
  const inner = bytesKey(top, VERSION_KEY);
  if (inner === undefined) throw new ShapeError(`the version reply has no b'${VERSION_KEY}' key`);
  const v1 = asMap(inner, "the v1 version map");
  const field = (name: string) => {
    const found = bytesKey(v1, name);
    if (found === undefined) throw new ShapeError(`the v1 version map has no b'${name}' key`);
    return asUint(found, `the version's '${name}'`);
  };
  const app = bytesKey(top, "application-version");
  if (!(app instanceof Uint8Array)) {
    throw new ShapeError("the version reply's b'application-version' is missing or not a byte string");
  }
  return {
    maximumImmutableShareSize: field("maximum-immutable-share-size"),
    maximumMutableShareSize: field("maximum-mutable-share-size"),
    availableSpace: field("available-space"),
    applicationVersion: Buffer.from(app).toString("utf8"),
  };
}

export function parseShareSet(value: CborValue): number[] {
  return asSet(value, "the share list");
}

export function encodeAllocate(shareNumbers: readonly number[], allocatedSize: number): CborValue {
  // Key order as a Tahoe-LAFS client writes it, so the bytes match its requests.
  return { "share-numbers": new Set(shareNumbers), "allocated-size": allocatedSize };
}

export function parseAllocate(value: CborValue, requested: readonly number[]): AllocateResult {
  const map = asMap(value, "the allocate reply");
  const alreadyHave = asSet(textKey(map, "already-have", "the allocate reply"), "already-have");
  const allocated = asSet(textKey(map, "allocated", "the allocate reply"), "allocated");
  const granted = new Set([...alreadyHave, ...allocated]);
  const refused = [...new Set(requested)].filter((n) => !granted.has(n)).sort((a, b) => a - b);
  return { alreadyHave, allocated, refused };
}

export function parseRequired(value: CborValue): ByteRange[] {
  const map = asMap(value, "the write reply");
  const list = textKey(map, "required", "the write reply");
  if (!Array.isArray(list)) throw new ShapeError("the write reply's 'required' is not an array");
  return list.map((item, i) => {
    const range = asMap(item, `required[${i}]`);
    const begin = asUint(textKey(range, "begin", `required[${i}]`), `required[${i}].begin`);
    const end = asUint(textKey(range, "end", `required[${i}]`), `required[${i}].end`);
    if (end < begin) throw new ShapeError(`required[${i}] ends (${end}) before it begins (${begin})`);
    return { begin, end };
  });
}

export function encodeReadTestWrite(request: ReadTestWriteRequest): CborValue {
  const entries: (readonly [number, TestWriteVectors])[] =
    request.testWriteVectors instanceof Map
      ? [...(request.testWriteVectors as ReadonlyMap<number, TestWriteVectors>).entries()]
      : Object.entries(request.testWriteVectors as Record<number, TestWriteVectors>).map(
          ([k, v]) => [Number(k), v] as const,
        );
  for (const [shnum] of entries) {
    if (!Number.isSafeInteger(shnum) || shnum < 0 || shnum > 255) {
      throw new RangeError(`share number ${shnum} in the test-write vectors is not 0..255`);
    }
  }
  const vectors = new Map<CborValue, CborValue>();
  for (const [shnum, tw] of entries) {
    vectors.set(shnum, {
      test: (tw.test ?? []).map((t) => ({
        offset: t.offset,
        size: t.size,
        specimen: plainBytes(t.specimen),
      })),
      write: (tw.write ?? []).map((w) => ({ offset: w.offset, data: plainBytes(w.data) })),
      "new-length": tw.newLength ?? null,
    });
  }
  return {
    "test-write-vectors": vectors,
    "read-vector": (request.readVector ?? []).map((r) => ({ offset: r.offset, size: r.size })),
  };
}

export function parseReadTestWrite(value: CborValue): ReadTestWriteResult {
  const map = asMap(value, "the read-test-write reply");
  const success = textKey(map, "success", "the read-test-write reply");
  if (typeof success !== "boolean") throw new ShapeError("the read-test-write 'success' is not a boolean");
  const dataMap = asMap(textKey(map, "data", "the read-test-write reply"), "the read-test-write 'data'");
  const data = new Map<number, Uint8Array[]>();
  for (const [k, v] of dataMap) {
    const shnum = asUint(k, "a share number in 'data'");
    if (!Array.isArray(v)) throw new ShapeError(`data[${shnum}] is not an array`);
    data.set(
      shnum,
      v.map((b, i) => {
        if (!(b instanceof Uint8Array)) throw new ShapeError(`data[${shnum}][${i}] is not a byte string`);
        // cbor2 gives views into the reply; a copy lets the caller keep or free each read alone.
        return Uint8Array.from(b);
      }),
    );
  }
  return { success, data };
}
