import { taggedHash } from "@lafs/crypto";
import type { ChkReadCap, ChkVerifyCap } from "./caps.js";
import { CorruptShareError } from "./errors.js";
import { checkCrypttextTree, openShare, type ShareReader } from "./share-reader.js";

const BLOCK_TAG = "allmydata_encoded_subshare_v1";
/** Blocks fetched per request while verifying. */
const BLOCKS_PER_READ = 64;

/** What a full check of one share found: its number and length. */
export interface VerifiedShare {
  readonly shareNumber: number;
  readonly shareSize: number;
}

/**
 * Checks every byte of one share without decrypting: header, UEB (against the cap), hash chain,
 * block and crypttext hash trees, every block, and the zero-filled plaintext-hash-tree area.
 * Works with a read cap or a verify cap. Throws CorruptShareError naming the share.
 */
export async function verifyChkShare(
  cap: ChkReadCap | ChkVerifyCap,
  reader: ShareReader,
): Promise<VerifiedShare> {
  const share = await openShare(reader, cap);
  checkCrypttextTree(share);
  const { plan, header, blockTree } = share;
  const sn = reader.shareNumber;
  const firstLeaf = (blockTree.length - 1) / 2;
  for (let s = 0; s < plan.numSegments; s += BLOCKS_PER_READ) {
    const count = Math.min(BLOCKS_PER_READ, plan.numSegments - s);
    const offset = header.data + s * plan.blockSize;
    const length = Math.min(count * plan.blockSize, header.data + plan.shareDataSize - offset);
    const bytes = await reader.read(offset, length);
    if (bytes.length !== length) {
      throw new CorruptShareError(
        "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED",
        sn,
        `the share ends inside its data, at offset ${offset + bytes.length}`,
      );
    }
    for (let j = 0; j < count; j++) {
      const block = bytes.subarray(j * plan.blockSize, Math.min(length, (j + 1) * plan.blockSize));
      if (!taggedHash(BLOCK_TAG, block).equals(blockTree[firstLeaf + s + j]!)) {
        throw new CorruptShareError(
          "TAHOE_ERR_IMMUTABLE_BLOCK_HASH",
          sn,
          `block ${s + j} does not match its block hash`,
        );
      }
    }
  }
  const areaLength = header.crypttextHashTree - header.plaintextHashTree;
  const area = await reader.read(header.plaintextHashTree, areaLength);
  if (area.length !== areaLength || area.some((b) => b !== 0)) {
    throw new CorruptShareError(
      "TAHOE_ERR_IMMUTABLE_SHARE_HEADER",
      sn,
      "the unused plaintext hash tree area is not all zero bytes, as Tahoe writes it",
    );
  }
  return {
    shareNumber: sn,
    shareSize: header.uebLength + (header.version === 1 ? 4 : 8) + share.uebBytes.length,
  };
}
