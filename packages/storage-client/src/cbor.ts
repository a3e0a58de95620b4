/**
 * The CBOR subset GBS uses (RFC 8949): unsigned and negative integers, byte and text strings,
 * arrays, maps, tags, booleans, null and floats. Encoding is what Python's cbor2 writes
 * (definite lengths, shortest integer form), so request bodies are byte-identical to a
 * Tahoe-LAFS client's. Decoding also takes indefinite lengths, which other servers may send.
 */

/** A tagged item; GBS uses tag 258 ("set") around arrays of share numbers. */
export interface CborTagged {
  readonly tag: number;
  readonly value: CborValue;
}

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>
  | CborTagged
  | { [key: string]: CborValue };

export const SET_TAG = 258;

/** Wraps share numbers the way cbor2 encodes a Python set: tag 258 over an array. */
export function cborSet(items: readonly number[]): CborTagged {
  return { tag: SET_TAG, value: [...items] };
}

export function isCborTagged(value: unknown): value is CborTagged {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Map) &&
    !Array.isArray(value) &&
    Object.keys(value).length === 2 &&
    typeof (value as CborTagged).tag === "number" &&
    "value" in value
  );
}

/** Malformed CBOR; the caller turns it into a protocol error naming the server and operation. */
export class CborDecodeError extends Error {}

class Writer {
  private chunks: Uint8Array[] = [];
  private head = new Uint8Array(9);
  private view = new DataView(this.head.buffer);

  header(major: number, length: number | bigint): void {
    const m = major << 5;
    if (typeof length === "bigint" || length > 0xffffffff) {
      const big = BigInt(length);
      this.head[0] = m | 27;
      this.view.setBigUint64(1, big);
      this.chunks.push(this.head.slice(0, 9));
    } else if (length < 24) {
      this.chunks.push(Uint8Array.of(m | length));
    } else if (length < 0x100) {
      this.chunks.push(Uint8Array.of(m | 24, length));
    } else if (length < 0x10000) {
      this.chunks.push(Uint8Array.of(m | 25, length >> 8, length & 0xff));
    } else {
      this.head[0] = m | 26;
      this.view.setUint32(1, length);
      this.chunks.push(this.head.slice(0, 5));
    }
  }

  raw(bytes: Uint8Array): void {
    this.chunks.push(bytes);
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

const MAX_U64 = (1n << 64n) - 1n;

function encodeInteger(w: Writer, value: number | bigint): void {
  const big = BigInt(value);
  if (big >= 0n) {
    if (big > MAX_U64) throw new RangeError(`CBOR integer ${big} does not fit in 64 bits`);
    w.header(0, big <= 0xffffffffn ? Number(big) : big);
  } else {
    const n = -1n - big;
    if (n > MAX_U64) throw new RangeError(`CBOR integer ${big} does not fit in 64 bits`);
    w.header(1, n <= 0xffffffffn ? Number(n) : n);
  }
}

const SIMPLE = new Map<null | undefined | boolean, Uint8Array>([
  [false, Uint8Array.of(0xf4)],
  [true, Uint8Array.of(0xf5)],
  [null, Uint8Array.of(0xf6)],
  [undefined, Uint8Array.of(0xf7)],
]);

function encodeItem(w: Writer, value: CborValue): void {
  if (value === null || value === undefined || typeof value === "boolean") {
    w.raw(SIMPLE.get(value)!);
    return;
  }
  if (typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value))) {
    encodeInteger(w, value);
    return;
  }
  if (typeof value === "number") {
    const out = new Uint8Array(9);
    out[0] = 0xfb;
    new DataView(out.buffer).setFloat64(1, value);
    w.raw(out);
    return;
  }
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    w.header(3, bytes.length);
    w.raw(bytes);
    return;
  }
  if (value instanceof Uint8Array) {
    w.header(2, value.length);
    w.raw(value);
    return;
  }
  if (Array.isArray(value)) {
    w.header(4, value.length);
    for (const item of value) encodeItem(w, item);
    return;
  }
  if (value instanceof Map) {
    w.header(5, value.size);
    for (const [k, v] of value) {
      encodeItem(w, k);
      encodeItem(w, v);
    }
    return;
  }
  if (isCborTagged(value)) {
    w.header(6, value.tag);
    encodeItem(w, value.value);
    return;
  }
  const entries = Object.entries(value);
  w.header(5, entries.length);
  for (const [k, v] of entries) {
    encodeItem(w, k);
    encodeItem(w, v);
  }
}

/** Encodes a value; plain objects become maps with text keys, in insertion order. */
export function encodeCbor(value: CborValue): Uint8Array {
  const w = new Writer();
  encodeItem(w, value);
  return w.finish();
}

const BREAK = Symbol("break");
const MAX_DEPTH = 64;

class Reader {
  private view: DataView;
  at = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.at + n > this.bytes.length) {
      throw new CborDecodeError(`CBOR ends early: needs ${n} more byte(s) at offset ${this.at}`);
    }
  }

  private argument(info: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.need(1);
        return this.view.getUint8(this.at++);
      case 25: {
        this.need(2);
        const v = this.view.getUint16(this.at);
        this.at += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.view.getUint32(this.at);
        this.at += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getBigUint64(this.at);
        this.at += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      default:
        throw new CborDecodeError(`CBOR additional information ${info} is reserved (offset ${this.at - 1})`);
    }
  }

  private length(info: number): number {
    const n = this.argument(info);
    if (typeof n === "bigint" || n > this.bytes.length) {
      throw new CborDecodeError(`CBOR length ${n} exceeds the ${this.bytes.length}-byte message`);
    }
    return n;
  }

  private chunks(major: number, info: number): Uint8Array {
    if (info !== 31) {
      const n = this.length(info);
      this.need(n);
      const out = this.bytes.subarray(this.at, this.at + n);
      this.at += n;
      return out;
    }
    const parts: Uint8Array[] = [];
    for (;;) {
      this.need(1);
      const b = this.view.getUint8(this.at++);
      if (b === 0xff) return Buffer.concat(parts);
      if (b >> 5 !== major || (b & 31) === 31) {
        throw new CborDecodeError(
          `CBOR indefinite string has a chunk of another type (offset ${this.at - 1})`,
        );
      }
      parts.push(this.chunks(major, b & 31));
    }
  }

  item(depth: number): CborValue | typeof BREAK {
    if (depth > MAX_DEPTH) throw new CborDecodeError(`CBOR nests deeper than ${MAX_DEPTH} levels`);
    this.need(1);
    const initial = this.view.getUint8(this.at++);
    const major = initial >> 5;
    const info = initial & 31;
    switch (major) {
      case 0:
        return this.argument(info);
      case 1: {
        const n = this.argument(info);
        return typeof n === "bigint" ? -1n - n : -1 - n;
      }
      case 2:
        return Uint8Array.from(this.chunks(2, info));
      case 3: {
        const bytes = this.chunks(3, info);
        try {
          return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        } catch {
          throw new CborDecodeError(`CBOR text string at offset ${this.at - bytes.length} is not UTF-8`);
        }
      }
      case 4: {
        const out: CborValue[] = [];
        const n = info === 31 ? Number.POSITIVE_INFINITY : this.length(info);
        for (let i = 0; i < n; i++) {
          const v = this.item(depth + 1);
          if (v === BREAK) {
            if (info === 31) return out;
            throw new CborDecodeError("CBOR break inside a definite-length array");
          }
          out.push(v);
        }
        return out;
      }
      case 5: {
        const out = new Map<CborValue, CborValue>();
        const n = info === 31 ? Number.POSITIVE_INFINITY : this.length(info);
        for (let i = 0; i < n; i++) {
          const k = this.item(depth + 1);
          if (k === BREAK) {
            if (info === 31) return out;
            throw new CborDecodeError("CBOR break inside a definite-length map");
          }
          const v = this.item(depth + 1);
          if (v === BREAK) throw new CborDecodeError("CBOR map key without a value");
          out.set(k, v);
        }
        return out;
      }
      case 6: {
        const tag = this.argument(info);
        const value = this.item(depth + 1);
        if (value === BREAK) throw new CborDecodeError("CBOR tag without a value");
        return { tag: Number(tag), value };
      }
      default:
        return this.simple(info);
    }
  }

  private simple(info: number): CborValue | typeof BREAK {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25: {
        this.need(2);
        const half = this.view.getUint16(this.at);
        this.at += 2;
        return halfToNumber(half);
      }
      case 26: {
        this.need(4);
        const v = this.view.getFloat32(this.at);
        this.at += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getFloat64(this.at);
        this.at += 8;
        return v;
      }
      case 31:
        return BREAK;
      default:
        throw new CborDecodeError(`CBOR simple value ${info} is not supported (offset ${this.at - 1})`);
    }
  }
}

function halfToNumber(half: number): number {
  const exp = (half >> 10) & 0x1f;
  const mant = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/**
 * Decodes exactly one CBOR item. Maps come back as Map (GBS mixes text, byte-string and integer
 * keys), integers beyond 2^53 as bigint, tags as {tag, value}.
 */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const r = new Reader(bytes);
  const value = r.item(0);
  if (value === BREAK) throw new CborDecodeError("CBOR starts with a break");
  if (r.at !== bytes.length) {
    throw new CborDecodeError(`CBOR has ${bytes.length - r.at} byte(s) after the first item`);
  }
  return value;
}
