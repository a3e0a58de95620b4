import { base32Encode, isBase32 } from "@lafs/crypto";
import type { StorageClientError } from "./errors.js";

/** A storage index: its 16 bytes, or the 26-character base32 form used in GBS paths. */
export type StorageIndex = Uint8Array | string;

/** The base32 path segment for a storage index; `fail` builds the caller's argument error. */
export function storageIndexSegment(si: StorageIndex, fail: (why: string) => StorageClientError): string {
  if (typeof si === "string") {
    if (!isBase32(si, 16)) {
      throw fail(`storage index '${si}' is not 26 lower-case base32 characters encoding 16 bytes`);
    }
    return si;
  }
  if (!(si instanceof Uint8Array) || si.length !== 16) {
    throw fail(`storage index has ${si instanceof Uint8Array ? si.length : typeof si} bytes instead of 16`);
  }
  return base32Encode(si);
}
