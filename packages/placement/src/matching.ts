export interface Matching {
  readonly size: number;
  /** For each left vertex, the right vertex it is matched with, or -1. */
  readonly leftMatch: Int32Array;
  /** For each right vertex, the left vertex it is matched with, or -1. */
  readonly rightMatch: Int32Array;
}

const UNREACHED = 0x7fffffff;

/**
 * A maximum matching of a bipartite graph by Hopcroft–Karp: O(E·√V), a few milliseconds
 * for 1000 servers × 256 shares even when every server holds every share. Tahoe uses
 * Edmonds–Karp; any maximum matching has the same size, which is all happiness needs.
 * `adjacency[left]` lists the right vertices (0..rightCount-1) of each left vertex.
 */
export function maximumMatching(adjacency: readonly (readonly number[])[], rightCount: number): Matching {
  const leftCount = adjacency.length;
  const leftMatch = new Int32Array(leftCount).fill(-1);
  const rightMatch = new Int32Array(rightCount).fill(-1);
  const dist = new Int32Array(leftCount);
  const queue = new Int32Array(leftCount);
  const cursor = new Int32Array(leftCount);
  let size = 0;

  // A greedy first pass matches most vertices cheaply, leaving few augmenting phases.
  for (let u = 0; u < leftCount; u++) {
    for (const v of adjacency[u]!) {
      if (rightMatch[v] === -1) {
        leftMatch[u] = v;
        rightMatch[v] = u;
        size++;
        break;
      }
    }
  }

  const layer = (): boolean => {
    let tail = 0;
    for (let u = 0; u < leftCount; u++) {
      if (leftMatch[u] === -1) {
        dist[u] = 0;
        queue[tail++] = u;
      } else {
        dist[u] = UNREACHED;
      }
    }
    let found = false;
    for (let head = 0; head < tail; head++) {
      const u = queue[head]!;
      for (const v of adjacency[u]!) {
        const w = rightMatch[v]!;
        if (w === -1) found = true;
        else if (dist[w] === UNREACHED) {
          dist[w] = dist[u]! + 1;
          queue[tail++] = w;
        }
      }
    }
    return found;
  };

  const augment = (u: number): boolean => {
    const edges = adjacency[u]!;
    // cursor[] remembers dead edges across calls within a phase, keeping a phase O(E).
    while (cursor[u]! < edges.length) {
      const v = edges[cursor[u]!]!;
      const w = rightMatch[v]!;
      if (w === -1 || (dist[w] === dist[u]! + 1 && augment(w))) {
        leftMatch[u] = v;
        rightMatch[v] = u;
        return true;
      }
      cursor[u] = cursor[u]! + 1;
    }
    dist[u] = UNREACHED;
    return false;
  };

  while (size < Math.min(leftCount, rightCount) && layer()) {
    cursor.fill(0);
    for (let u = 0; u < leftCount; u++) {
      if (leftMatch[u] === -1 && augment(u)) size++;
    }
  }
  return { size, leftMatch, rightMatch };
}

/**
 * Servers-of-happiness of a share map: the size of a maximum matching between servers
 * and the share numbers each holds or will hold (wire-formats §6.1).
 */
export function happinessOf(sharesByServer: ReadonlyMap<string, Iterable<number>>): number {
  const shareIndex = new Map<number, number>();
  const adjacency: number[][] = [];
  for (const shares of sharesByServer.values()) {
    const edges = new Set<number>();
    for (const share of shares) {
      let index = shareIndex.get(share);
      if (index === undefined) {
        index = shareIndex.size;
        shareIndex.set(share, index);
      }
      edges.add(index);
    }
    adjacency.push([...edges]);
  }
  return maximumMatching(adjacency, shareIndex.size).size;
}
