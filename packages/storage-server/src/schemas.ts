import { ADVISORY_LIMITS } from "./advisories.js";
import { badBody } from "./errors.js";

// Hand-written checks of the CDDL in Tahoe's http_server.py. Its maps have no wildcard
// entry, so they are closed: a missing, extra or mistyped key is a 400.

/** Larger integers arrive as bigint; no offset or size this server handles goes past 2^53. */
function uint(value: unknown, where: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "bigint" && value >= 0n) {
    throw badBody(`${where}: ${value} is larger than this server accepts (at most 2^53-1)`);
  }
  throw badBody(`${where}: expected an unsigned integer, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Map) return "a map";
  if (value instanceof Set) return "a set";
  if (value instanceof Uint8Array) return "a byte string";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return "a text string";
  if (typeof value === "number" && !Number.isInteger(value)) return `the float ${value}`;
  if (typeof value === "number" || typeof value === "bigint") return `the integer ${value}`;
  if (typeof value === "object") return "a tagged item or other CBOR value";
  return typeof value;
}

function closedMap(
  value: unknown,
  where: string,
  required: string[],
  optional: string[] = [],
): Map<string, unknown> {
  if (!(value instanceof Map)) throw badBody(`${where}: expected a map, got ${describe(value)}`);
  for (const key of value.keys()) {
    if (typeof key !== "string")
      throw badBody(`${where}: map keys must be text strings, got ${describe(key)}`);
    if (!required.includes(key) && !optional.includes(key)) {
      throw badBody(`${where}: unexpected key '${key}' (allowed: ${[...required, ...optional].join(", ")})`);
    }
  }
  for (const key of required) {
    if (!value.has(key)) throw badBody(`${where}: missing key '${key}'`);
  }
  return value as Map<string, unknown>;
}

function array(value: unknown, where: string, max?: number): unknown[] {
  if (!Array.isArray(value)) throw badBody(`${where}: expected an array, got ${describe(value)}`);
  if (max !== undefined && value.length > max) {
    throw badBody(`${where}: ${value.length} entries, at most ${max} allowed`);
  }
  return value;
}

function bytes(value: unknown, where: string): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw badBody(`${where}: expected a byte string, got ${describe(value)}`);
  return value;
}

export interface AllocateRequest {
  shareNumbers: number[];
  allocatedSize: number;
}

/** `{share-numbers: #6.258([0*256 uint]), allocated-size: uint}` */
export function parseAllocateRequest(value: unknown): AllocateRequest {
  const map = closedMap(value, "allocate request", ["share-numbers", "allocated-size"]);
  const set = map.get("share-numbers");
  if (!(set instanceof Set)) {
    throw badBody(`allocate request: 'share-numbers' must be a set (CBOR tag 258), got ${describe(set)}`);
  }
  if (set.size > 256) throw badBody(`allocate request: ${set.size} share numbers, at most 256 allowed`);
  const shareNumbers = [...set].map((n) => shareNumber(n, "allocate request: share number"));
  return {
    shareNumbers,
    allocatedSize: uint(map.get("allocated-size"), "allocate request: 'allocated-size'"),
  };
}

function shareNumber(value: unknown, where: string): number {
  const n = uint(value, where);
  if (n > 255) throw badBody(`${where} ${n} is out of range`, "share numbers are 0..255");
  return n;
}

/**
 * `{reason: tstr .size (1..32765)}` in Tahoe's CDDL; this server allows 1..32757 bytes, the most
 * that fits in the 32768-byte body limit (Tahoe's own limits disagree the same way).
 */
export function parseCorruptionAdvisory(value: unknown): string {
  const map = closedMap(value, "corruption advisory", ["reason"]);
  const reason = map.get("reason");
  if (typeof reason !== "string") {
    throw badBody(`corruption advisory: 'reason' must be a text string, got ${describe(reason)}`);
  }
  const size = Buffer.byteLength(reason, "utf8");
  if (size < 1 || size > ADVISORY_LIMITS.reasonBytes)
    throw badBody(
      `corruption advisory: 'reason' is ${size} bytes, allowed 1..${ADVISORY_LIMITS.reasonBytes}`,
    );
  return reason;
}

export interface ReadVectorEntry {
  offset: number;
  size: number;
}
export interface TestVectorEntry extends ReadVectorEntry {
  specimen: Uint8Array;
}
export interface WriteVectorEntry {
  offset: number;
  data: Uint8Array;
}
export interface TestWriteVector {
  test: TestVectorEntry[];
  write: WriteVectorEntry[];
  newLength: number | null;
}
export interface ReadTestWriteRequest {
  testWriteVectors: Map<number, TestWriteVector>;
  readVector: ReadVectorEntry[];
}

function readEntry(value: unknown, where: string): ReadVectorEntry {
  const map = closedMap(value, where, ["offset", "size"]);
  return {
    offset: uint(map.get("offset"), `${where}: 'offset'`),
    size: uint(map.get("size"), `${where}: 'size'`),
  };
}

/** The read-test-write body of wire-formats §5.7. */
export function parseReadTestWrite(value: unknown): ReadTestWriteRequest {
  const where = "read-test-write request";
  const map = closedMap(value, where, ["test-write-vectors", "read-vector"]);
  const vectors = map.get("test-write-vectors");
  if (!(vectors instanceof Map)) {
    throw badBody(`${where}: 'test-write-vectors' must be a map, got ${describe(vectors)}`);
  }
  if (vectors.size > 256) throw badBody(`${where}: ${vectors.size} shares, at most 256 allowed`);
  const testWriteVectors = new Map<number, TestWriteVector>();
  for (const [key, entry] of vectors) {
    const shnum = shareNumber(key, `${where}: share number key`);
    const at = `${where}: share ${shnum}`;
    const tw = closedMap(entry, at, ["test", "write", "new-length"]);
    const test = array(tw.get("test"), `${at}: 'test'`, 30).map((t, i) => {
      const m = closedMap(t, `${at}: test ${i}`, ["offset", "size", "specimen"]);
      return {
        offset: uint(m.get("offset"), `${at}: test ${i}: 'offset'`),
        size: uint(m.get("size"), `${at}: test ${i}: 'size'`),
        specimen: bytes(m.get("specimen"), `${at}: test ${i}: 'specimen'`),
      };
    });
    const write = array(tw.get("write"), `${at}: 'write'`).map((w, i) => {
      const m = closedMap(w, `${at}: write ${i}`, ["offset", "data"]);
      return {
        offset: uint(m.get("offset"), `${at}: write ${i}: 'offset'`),
        data: bytes(m.get("data"), `${at}: write ${i}: 'data'`),
      };
    });
    const rawLength = tw.get("new-length");
    const newLength = rawLength === null ? null : uint(rawLength, `${at}: 'new-length'`);
    testWriteVectors.set(shnum, { test, write, newLength });
  }
  const readVector = array(map.get("read-vector"), `${where}: 'read-vector'`, 30).map((r, i) =>
    readEntry(r, `${where}: read ${i}`),
  );
  return { testWriteVectors, readVector };
}
