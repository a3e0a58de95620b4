import { createHash } from "node:crypto";

/** Bytes or text; text is taken as its UTF-8 bytes. */
export type BytesLike = Uint8Array | string;

export function toBytes(data: BytesLike): Uint8Array {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

/** `len(x) || ":" || x || ","` with the length in ASCII decimal: netstring("abc") = "3:abc,". */
export function netstring(data: BytesLike): Buffer {
  const bytes = toBytes(data);
  return Buffer.concat([Buffer.from(`${bytes.length}:`, "ascii"), bytes, Buffer.from(",", "ascii")]);
}

export function sha256(data: BytesLike): Buffer {
  return createHash("sha256").update(toBytes(data)).digest();
}

/** SHA256(SHA256(x)). */
export function sha256d(data: BytesLike): Buffer {
  return sha256(sha256(data));
}

function truncated(digest: Buffer, truncate: number | undefined): Buffer {
  if (truncate === undefined) return digest;
  if (!Number.isInteger(truncate) || truncate < 1 || truncate > digest.length) {
    throw new RangeError(`truncate must be an integer from 1 to ${digest.length}, got ${truncate}`);
  }
  return digest.subarray(0, truncate);
}

/**
 * Tahoe's tagged hash: SHA256d(netstring(tag) || value), keeping the first `truncate`
 * bytes when given. The tag may be any bytes; the lease code passes a secret as the tag.
 */
export function taggedHash(tag: BytesLike, value: BytesLike, truncate?: number): Buffer {
  const inner = createHash("sha256").update(netstring(tag)).update(toBytes(value)).digest();
  return truncated(sha256(inner), truncate);
}

/** SHA256d(netstring(tag) || netstring(a) || netstring(b)), optionally truncated. */
export function taggedPairHash(tag: BytesLike, a: BytesLike, b: BytesLike, truncate?: number): Buffer {
  const inner = createHash("sha256")
    .update(netstring(tag))
    .update(netstring(a))
    .update(netstring(b))
    .digest();
  return truncated(sha256(inner), truncate);
}
