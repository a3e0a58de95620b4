/**
 * A minimal DER encoder and reader: just what a self-signed X.509 certificate needs,
 * and enough of a reader to walk a certificate to its subjectPublicKeyInfo.
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value element. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** A SET OF; DER wants its elements sorted by their encodings. */
export function set(...items: Uint8Array[]): Buffer {
  return tlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
}

/** [n] EXPLICIT: a constructed context-specific tag wrapping one element. */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  if (tagNumber < 0 || tagNumber > 30) throw new RangeError(`context tag ${tagNumber} out of range`);
  return tlv(0xa0 | tagNumber, inner);
}

export function boolean(value: boolean): Buffer {
  return tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue(): Buffer {
  return tlv(TAG.NULL, Buffer.alloc(0));
}

/**
 * A non-negative INTEGER in its minimal two's-complement form: leading zero bytes
 * dropped, one zero byte added back when the top bit would make it negative.
 */
export function integer(value: bigint | number | Uint8Array): Buffer {
  let bytes: Buffer;
  if (typeof value === "number" || typeof value === "bigint") {
    let n = BigInt(value);
    if (n < 0n) throw new RangeError("negative INTEGER not supported");
    const out: number[] = [];
    do {
      out.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    bytes = Buffer.from(out);
  } else {
    bytes = Buffer.from(value);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(TAG.INTEGER, bytes);
}

/** An OBJECT IDENTIFIER from its dotted form, e.g. "1.2.840.10045.4.3.2". */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map((part) => {
    if (!/^\d+$/.test(part)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(part);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) {
    throw new RangeError(`bad OID ${dotted}`);
  }
  const values = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const out: number[] = [];
  for (const value of values) {
    const groups: number[] = [];
    let n = value;
    do {
      groups.unshift(Number(n & 0x7fn));
      n >>= 7n;
    } while (n > 0n);
    for (let i = 0; i < groups.length - 1; i++) groups[i]! |= 0x80;
    out.push(...groups);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** A BIT STRING of whole bytes (no unused bits). */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), bytes]));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, bytes);
}

export function utf8String(text: string): Buffer {
  return tlv(TAG.UTF8_STRING, Buffer.from(text, "utf8"));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function timeDigits(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date");
  return (
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2)
  );
}

/** UTCTime YYMMDDHHMMSSZ, for years 1950 to 2049. */
export function utcTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new RangeError(`UTCTime cannot hold the year ${year}`);
  return tlv(TAG.UTC_TIME, Buffer.from(`${pad(year % 100, 2)}${timeDigits(date)}Z`, "ascii"));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ (whole seconds, UTC). */
export function generalizedTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`GeneralizedTime cannot hold the year ${year}`);
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${pad(year, 4)}${timeDigits(date)}Z`, "ascii"));
}

/** An X.509 Time as RFC 5280 says: UTCTime through 2049, GeneralizedTime from 2050. */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

/** One element found by `readElement`: where its tag, content and end are in the input. */
export interface DerElement {
  tag: number;
  /** Offset of the tag byte: the element's bytes are input[start, end). */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  end: number;
}

/** Thrown by the reader on malformed DER; callers turn it into their own error. */
export class DerError extends Error {
  override name = "DerError";
}

/**
 * Reads the element at `offset`, checking that it fits inside `limit`. Accepts only
 * single-byte tags and definite lengths in their shortest form, as DER requires.
 */
export function readElement(input: Uint8Array, offset: number, limit = input.length): DerElement {
  if (offset + 2 > limit) throw new DerError(`truncated element at byte ${offset}`);
  const tag = input[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at byte ${offset}`);
  const first = input[offset + 1]!;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError(`indefinite length at byte ${offset}`);
    if (count > 4) throw new DerError(`length of ${count} bytes at byte ${offset}`);
    if (offset + 2 + count > limit) throw new DerError(`truncated length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[offset + 2 + i]!;
    if (length < 0x80 || input[offset + 2] === 0) {
      throw new DerError(`length not in its shortest form at byte ${offset}`);
    }
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`element at byte ${offset} runs past its container`);
  return { tag, start: offset, contentStart, end };
}

/** Reads the element at `offset` and checks its tag. */
export function expectElement(
  input: Uint8Array,
  offset: number,
  tag: number,
  what: string,
  limit = input.length,
): DerElement {
  const element = readElement(input, offset, limit);
  if (element.tag !== tag) {
    throw new DerError(
      `expected ${what} (tag 0x${tag.toString(16)}) at byte ${offset}, found tag 0x${element.tag.toString(16)}`,
    );
  }
  return element;
}
