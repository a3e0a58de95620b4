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
