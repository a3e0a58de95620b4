import { createHash } from "node:crypto";
import { netstring, taggedHash, taggedPairHash } from "@lafs/crypto";
import { nextPowerOfTwo } from "./plan.js";

const EMPTY_LEAF_TAG = "Merkle tree empty leaf";
const INTERNAL_NODE_TAG = "Merkle tree internal node";

/** The hash that fills leaf position `j` (counted in the leaf row) beyond the real leaves. */
export function emptyLeafHash(j: number): Buffer {
  return taggedHash(EMPTY_LEAF_TAG, String(j));
}

const INTERNAL_PREFIX = netstring(INTERNAL_NODE_TAG);
const PAIR_32 = Buffer.concat([
  INTERNAL_PREFIX,
  Buffer.from("32:"),
  Buffer.alloc(32),
  Buffer.from(",32:"),
  Buffer.alloc(32),
  Buffer.from(","),
]);
const LEFT_AT = INTERNAL_PREFIX.length + 3;
const RIGHT_AT = LEFT_AT + 36;

/** tagged_pair_hash("Merkle tree internal node", left, right); trees hash thousands of these. */
export function internalNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32) return taggedPairHash(INTERNAL_NODE_TAG, left, right);
  PAIR_32.set(left, LEFT_AT);
  PAIR_32.set(right, RIGHT_AT);
  return createHash("sha256").update(createHash("sha256").update(PAIR_32).digest()).digest();
}

/**
 * Tahoe's HashTree: pads the leaves to a power of two with empty-leaf hashes, and returns all
 * 2P-1 nodes breadth-first, root first (children of x at 2x+1, 2x+2). One leaf is its own root.
 */
export function buildHashTree(leaves: readonly Uint8Array[]): Uint8Array[] {
  if (leaves.length === 0) throw new RangeError("a hash tree needs at least one leaf");
  const p = nextPowerOfTwo(leaves.length);
  const nodes: Uint8Array[] = new Array(2 * p - 1);
  for (let j = 0; j < p; j++) nodes[p - 1 + j] = j < leaves.length ? leaves[j]! : emptyLeafHash(j);
  for (let i = p - 2; i >= 0; i--) nodes[i] = internalNodeHash(nodes[2 * i + 1]!, nodes[2 * i + 2]!);
  return nodes;
}

export function siblingOf(index: number): number {
  return index % 2 === 1 ? index + 1 : index - 1;
}

export function parentOf(index: number): number {
  return (index - 1) >> 1;
}

/** Tree indices of the siblings on the path from leaf `leafNumber` to the root, bottom-up. */
export function siblingPath(leafCount: number, leafNumber: number): number[] {
  const out: number[] = [];
  let here = nextPowerOfTwo(leafCount) - 1 + leafNumber;
  while (here !== 0) {
    out.push(siblingOf(here));
    here = parentOf(here);
  }
  return out;
}

/**
 * The root that `leafHash` at `leafNumber` implies, given its siblings' hashes by tree index.
 * Undefined when a sibling is missing.
 */
export function rootFromPath(
  leafCount: number,
  leafNumber: number,
  leafHash: Uint8Array,
  siblings: ReadonlyMap<number, Uint8Array>,
): Uint8Array | undefined {
  let here = nextPowerOfTwo(leafCount) - 1 + leafNumber;
  let hash = leafHash;
  while (here !== 0) {
    const sibling = siblings.get(siblingOf(here));
    if (sibling === undefined) return undefined;
    hash = here % 2 === 1 ? internalNodeHash(hash, sibling) : internalNodeHash(sibling, hash);
    here = parentOf(here);
  }
  return hash;
}

/**
 * The index of the first node of a flattened tree that disagrees with its children or (for
 * node 0) with `root`; undefined when the whole tree is consistent with `root`.
 */
export function findInconsistentNode(nodes: readonly Uint8Array[], root: Uint8Array): number | undefined {
  if (!Buffer.from(nodes[0]!).equals(root)) return 0;
  const internal = (nodes.length - 1) / 2;
  for (let i = 0; i < internal; i++) {
    if (!Buffer.from(nodes[i]!).equals(internalNodeHash(nodes[2 * i + 1]!, nodes[2 * i + 2]!))) return i;
  }
  return undefined;
}
