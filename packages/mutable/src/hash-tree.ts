import { createHash } from "node:crypto";
import { netstring, taggedPairHash } from "@lafs/crypto";
import { buildHashTree, emptyLeafHash } from "@lafs/immutable";

const BLOCK_TAG_PREFIX = netstring("allmydata_encoded_subshare_v1");
const INTERNAL_NODE_TAG = "Merkle tree internal node";

/**
 * tagged_hash("allmydata_encoded_subshare_v1", salt ‖ block): MDMF hashes the salt with the
 * block; SDMF passes no salt.
 */
export function mutableBlockHash(block: Uint8Array, salt?: Uint8Array): Uint8Array {
  const inner = createHash("sha256").update(BLOCK_TAG_PREFIX);
  if (salt !== undefined) inner.update(salt);
  inner.update(block);
  return createHash("sha256").update(inner.digest()).digest();
}

/** Tahoe's HashTree as a flat list (root first); an empty list of leaves gives one empty-leaf hash. */
export function hashTreeOf(leaves: readonly Uint8Array[]): Uint8Array[] {
  return leaves.length === 0 ? [emptyLeafHash(0)] : buildHashTree(leaves);
}

function leafRowStart(leafCount: number): number {
  let p = 1;
  while (p < leafCount) p *= 2;
  return p - 1;
}

/** needed_hashes(leaf): the sibling indices on the path to the root, without the leaf, ascending. */
export function neededHashes(leafCount: number, leaf: number): number[] {
  const out: number[] = [];
  let here = leafRowStart(leafCount) + leaf;
  while (here !== 0) {
    out.push(here % 2 === 1 ? here + 1 : here - 1);
    here = (here - 1) >> 1;
  }
  return out.sort((a, b) => a - b);
}

/** The root that `leafHash` at `leaf` implies through `siblings`; undefined when one is missing. */
export function rootThroughChain(
  leafCount: number,
  leaf: number,
  leafHash: Uint8Array,
  siblings: ReadonlyMap<number, Uint8Array>,
): Uint8Array | undefined {
  let here = leafRowStart(leafCount) + leaf;
  let hash = leafHash;
  while (here !== 0) {
    const sibling = siblings.get(here % 2 === 1 ? here + 1 : here - 1);
    if (sibling === undefined) return undefined;
    hash =
      here % 2 === 1
        ? taggedPairHash(INTERNAL_NODE_TAG, hash, sibling)
        : taggedPairHash(INTERNAL_NODE_TAG, sibling, hash);
    here = (here - 1) >> 1;
  }
  return hash;
}

/** The first internal node of a flat tree that is not the hash of its children; undefined if none. */
export function inconsistentNode(nodes: readonly Uint8Array[]): number | undefined {
  const internal = (nodes.length - 1) / 2;
  for (let i = 0; i < internal; i++) {
    const expected = taggedPairHash(INTERNAL_NODE_TAG, nodes[2 * i + 1]!, nodes[2 * i + 2]!);
    if (!expected.equals(nodes[i]!)) return i;
  }
  return undefined;
}

/** The real leaves (first `count`) of a flat tree. */
export function leavesOf(nodes: readonly Uint8Array[], count: number): Uint8Array[] {
  const start = (nodes.length - 1) / 2;
  return nodes.slice(start, start + count);
}

/** A flat tree's bytes as 32-byte nodes. */
export function splitTree(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + 32 <= bytes.length; at += 32) out.push(bytes.subarray(at, at + 32));
  return out;
}
