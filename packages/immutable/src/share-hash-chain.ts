import { siblingPath } from "./hash-tree.js";
import { nextPowerOfTwo } from "./plan.js";

/**
 * Iteration order of a CPython (3.x) set of small non-negative ints, built by adding `keys` in
 * order. Tahoe writes each share's hash chain from such a set, so byte-identical shares need
 * this exact order: open addressing with 9 linear probes, then perturbed probing, growing the
 * table when it is 3/5 full.
 */
export function cpythonSetOrder(keys: readonly number[]): number[] {
  let table: (number | undefined)[] = new Array(8).fill(undefined);
  let used = 0;
  const insert = (tab: (number | undefined)[], key: number): void => {
    const mask = tab.length - 1;
    let perturb = key;
    let slot = key & mask;
    for (;;) {
      const probes = slot + 9 <= mask ? 9 : 0;
      for (let j = 0; j <= probes; j++) {
        if (tab[slot + j] === undefined) {
          tab[slot + j] = key;
          return;
        }
      }
      perturb = Math.floor(perturb / 32);
      slot = (slot * 5 + 1 + perturb) & mask;
    }
  };
  for (const key of keys) {
    if (table.includes(key)) continue;
    insert(table, key);
    used++;
    const mask = table.length - 1;
    if (used * 5 >= mask * 3) {
      let size = 8;
      while (size <= used * 4) size *= 2;
      const grown: (number | undefined)[] = new Array(size).fill(undefined);
      for (const old of table) if (old !== undefined) insert(grown, old);
      table = grown;
    }
  }
  return table.filter((v): v is number => v !== undefined);
}

/**
 * The share-hash-tree indices stored in share `shareNumber`'s hash chain, in the order Tahoe
 * writes them: the siblings on the path to the root, then the share's own leaf, as a set.
 */
export function shareHashChainIndices(n: number, shareNumber: number): number[] {
  const leaf = nextPowerOfTwo(n) - 1 + shareNumber;
  return cpythonSetOrder([...siblingPath(n, shareNumber), leaf]);
}
