import { type DecodeOptions, decode, encode } from "cbor2";
import { badBody } from "./errors.js";

const TAG_SET = 258;

// Strict: one definite-length item, no duplicate keys, no trailing bytes, shallow nesting,
// maps kept as Map so text, byte and integer keys stay distinct, and no tag but 258 (sets)
// is given meaning: any other tag comes back as a Tag object that no schema accepts.
const DECODE_OPTIONS: DecodeOptions = {
  preferMap: true,
  rejectDuplicateKeys: true,
  rejectStreaming: true,
  maxDepth: 8,
  ignoreGlobalTags: true,
  tags: new Map([
    [
      TAG_SET,
      (tag: { contents: unknown }) => {
        if (!Array.isArray(tag.contents)) throw new Error("tag 258 (set) must wrap an array");
        return new Set(tag.contents);
      },
    ],
  ]),
};

/** Decodes a request body; any malformed CBOR is a 400 naming the endpoint. */
export function decodeCbor(body: Uint8Array, what: string): unknown {
  if (body.length === 0) throw badBody(`${what}: the request body is empty, expected CBOR`);
  try {
    return decode(body, DECODE_OPTIONS);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw badBody(`${what}: the request body is not valid CBOR (${reason})`);
  }
}

/** A Uint8Array view that cbor2 encodes as a byte string (it encodes a Node Buffer as an object). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Encodes a response as Tahoe's cbor2 does: JS Sets become tag 258, Maps keep their key
 * types, integers take their shortest form. Byte strings must be plain Uint8Arrays.
 */
export function encodeCbor(value: unknown): Buffer {
  const bytes = encode(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The CBOR head of a major type with an unsigned argument, in its shortest form. */
function head(major: number, n: number, out: number[]): void {
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n <= 0xff) out.push(m | 24, n);
  else if (n <= 0xffff) out.push(m | 25, n >>> 8, n & 0xff);
  else if (n <= 0xffffffff) out.push(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  else {
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out.push(m | 27, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    out.push(lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
  }
}

function asciiKey(key: string, out: number[]): void {
  head(3, key.length, out);
  for (let i = 0; i < key.length; i++) out.push(key.charCodeAt(i));
}

/**
 * The reply to every PATCH, `{"required": [{"begin": B, "end": E}, ...]}`, byte for byte
 * what `encodeCbor` gives. Written by hand because it is sent once per megabyte uploaded
 * and cbor2's `encode` costs tens of microseconds per call whatever the value.
 */
export function encodeRequired(required: readonly { begin: number; end: number }[]): Buffer {
  const plain = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!required.every((r) => plain(r.begin) && plain(r.end))) {
    // cbor2 writes such numbers as floats; leave them to it.
    const maps = required.map(
      (r) =>
        new Map([
          ["begin", r.begin],
          ["end", r.end],
        ]),
    );
    return encodeCbor(new Map([["required", maps]]));
  }
  const out: number[] = [0xa1];
  asciiKey("required", out);
  head(4, required.length, out);
  for (const r of required) {
    out.push(0xa2);
    asciiKey("begin", out);
    head(0, r.begin, out);
    asciiKey("end", out);
    head(0, r.end, out);
  }
  return Buffer.from(out);
}
