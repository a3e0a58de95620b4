import { open } from "node:fs/promises";
import { readImmutableContainer, writeImmutableLeases } from "./immutable-container.js";
import { addOrRenewLease, type LeaseSecrets } from "./leases.js";
import { readMutableContainer, writeMutableLeases } from "./mutable-container.js";
import { sharePath } from "./paths.js";
import type { ShareFiles } from "./share-files.js";

/**
 * Renews the matching lease on one complete share, or adds one. Callers hold the
 * bucket lock of `si`. Returns false when there is no such share.
 */
export async function renewShareLease(
  shares: ShareFiles,
  si: string,
  shnum: number,
  secrets: LeaseSecrets,
  ownerNum: number,
  expiration: number,
  nodeId?: Uint8Array,
): Promise<boolean> {
  const path = sharePath(shares.dir, si, shnum);
  const kind = await shares.kindOf(path);
  if (kind === undefined) return false;
  const fh = await open(path, "r+");
  try {
    if (kind === "immutable") {
      const c = await readImmutableContainer(path, fh);
      if (addOrRenewLease(c.leases, secrets, { hashed: c.version === 2, ownerNum, expiration })) {
        await writeImmutableLeases(fh, c.dataLength, c.leases);
      }
    } else {
      const c = await readMutableContainer(path, fh);
      const options = { hashed: c.version === 2, ownerNum, expiration, ...(nodeId ? { nodeId } : {}) };
      if (addOrRenewLease(c.leases, secrets, options)) await writeMutableLeases(fh, c);
    }
  } finally {
    await fh.close();
  }
  return true;
}

/** `PUT /lease/:si`: every complete share, immutable and mutable; the number touched. */
export async function renewAllLeases(
  shares: ShareFiles,
  si: string,
  secrets: LeaseSecrets,
  expiration: number,
  nodeId: Uint8Array,
): Promise<number> {
  const complete = [...(await shares.list(si, "immutable")), ...(await shares.list(si, "mutable"))];
  let count = 0;
  for (const shnum of complete) {
    if (await renewShareLease(shares, si, shnum, secrets, 1, expiration, nodeId)) count++;
  }
  return count;
}
