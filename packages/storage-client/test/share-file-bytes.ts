import { readFile, writeFile } from "node:fs/promises";

/** Immutable container header: version, data length, lease count (Tahoe's share file); leases follow the share data. */
export const IMMUTABLE_CONTAINER = 12;
/** Mutable container header, up to the share data (Tahoe's MutableShareFile). */
export const MUTABLE_CONTAINER = 468;
export const LEASE_BYTES = 72;

/** Flips bits of one byte of a share file in place; returns the file as it was. */
export async function flipByte(path: string, at: number): Promise<Buffer> {
  const original = await readFile(path);
  const changed = Buffer.from(original);
  changed[at]! ^= 0x20;
  await writeFile(path, changed);
  return original;
}
