import { join } from "node:path";
import { isBase32 } from "@lafs/crypto";
import { badPath } from "./errors.js";

/**
 * The storage directory's layout, as Tahoe-LAFS has it:
 * shares/<first 2 chars of SI>/<SI>/<shnum>, uploads in shares/incoming/<same>,
 * corruption reports in corruption-advisories/.
 */
export interface StorageLayout {
  root: string;
  shares: string;
  incoming: string;
  advisories: string;
}

export function storageLayout(storageDir: string): StorageLayout {
  const shares = join(storageDir, "shares");
  return {
    root: storageDir,
    shares,
    incoming: join(shares, "incoming"),
    advisories: join(storageDir, "corruption-advisories"),
  };
}

/**
 * A storage index from a URL: exactly 26 lower-case base32 characters that decode to 16
 * bytes. Only such strings ever become path segments, so no URL reaches outside storage/.
 */
export function parseStorageIndex(text: string): string {
  if (!/^[a-z2-7]{26}$/.test(text) || !isBase32(text, 16)) {
    throw badPath(`storage index '${text.slice(0, 64)}' is not 26 base32 characters`);
  }
  return text;
}

export function parseShareNumber(text: string): number {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text) || Number(text) > 255) {
    throw badPath(`share number '${text.slice(0, 64)}' is not a decimal integer 0..255`);
  }
  return Number(text);
}

export function bucketDir(base: string, si: string): string {
  return join(base, si.slice(0, 2), si);
}

export function sharePath(base: string, si: string, shnum: number): string {
  return join(bucketDir(base, si), String(shnum));
}
