import { bytesSource } from "@lafs/immutable";
import { type MutableGridOptions, type UploadResult, uploadImmutable } from "../src/index.js";
import type { Grid, GridNode } from "./uploader-grid.js";

/** The check and repair tests' files on their six servers: 3-of-6, happy 4. */
const ENCODING = { k: 3, happy: 4, n: 6 } as const;

/** A CHK upload to every server of the grid, in 32 KiB segments so a small file has several. */
export function uploadThreeOfSix(
  grid: Grid,
  data: Uint8Array,
  secrets: { leaseSecret: Uint8Array; convergenceSecret: Uint8Array },
): Promise<UploadResult> {
  return uploadImmutable(bytesSource(data), {
    servers: grid.servers(),
    ...secrets,
    ...ENCODING,
    maxSegmentSize: 32 * 1024,
  });
}

/** Where new mutable files go: every server of the grid, 3-of-6. */
export function mutableThreeOfSix(grid: Grid, leaseSecret: Uint8Array): MutableGridOptions {
  return { servers: grid.servers(), leaseSecret, ...ENCODING };
}

/** The server whose disk holds share `shareNumber` of `si`. */
export async function holderOnDisk(grid: Grid, si: Uint8Array, shareNumber: number): Promise<GridNode> {
  for (const node of grid.nodes) if ((await node.sharesOnDisk(si)).includes(shareNumber)) return node;
  throw new Error(`no server holds share ${shareNumber}`);
}
