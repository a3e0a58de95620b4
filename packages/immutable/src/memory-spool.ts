import { freeNow } from "./free-buffer.js";
import { type ClosableByteSource, type SpoolOptions, spoolToTempFile } from "./source.js";

/**
 * What every in-memory spool of a process may hold at once, so a burst of small uploads cannot
 * grow memory past a known bound: a spool that finds the budget spent moves to a temporary file.
 */
export interface SpoolBudget {
  /** Takes `bytes` from the budget; false (and nothing taken) when too few are left. */
  take(bytes: number): boolean;
  give(bytes: number): void;
  /** Bytes taken now. */
  readonly used: number;
}

export function createSpoolBudget(limitBytes: number): SpoolBudget {
  let used = 0;
  return {
    take(bytes) {
      if (used + bytes > limitBytes) return false;
      used += bytes;
      return true;
    },
    give(bytes) {
      used = Math.max(0, used - bytes);
    },
    get used() {
      return used;
    },
  };
}

/**
 * Lets the event loop run before a read is answered, as a file read does: an encoder reading
 * from memory would otherwise go from segment to segment without the replies and socket
 * writes of the transfer it feeds getting a turn.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The piece holding byte `offset`: the last whose start is at or before it. */
function pieceAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Reads [offset, offset + target.length) of the pieces into `target`; returns the bytes read. */
function copyOut(
  pieces: readonly Uint8Array[],
  starts: readonly number[],
  size: number,
  offset: number,
  target: Uint8Array,
): number {
  const end = Math.min(size, offset + target.length);
  if (end <= offset) return 0;
  let at = offset;
  for (let i = pieceAt(starts, offset); at < end; i++) {
    const piece = pieces[i]!;
    const within = at - starts[i]!;
    const n = Math.min(piece.length - within, end - at);
    target.set(piece.subarray(within, within + n), at - offset);
    at += n;
  }
  return end - offset;
}

/**
 * Like spoolToTempFile, but a stream of at most `memory.maxBytes` bytes stays in memory, counted
 * against `memory.budget`: no file is written and read back, which for a small upload cost about
 * as much as the encoding. The stream's chunks are kept as they are when `freeChunks` says they
 * are its own, else copied. A stream that grows past the limit, or finds the budget spent,
 * continues in a temporary file with what was gathered so far; one whose announced
 * `expectedSize` is over the limit goes to the file from the start. `close` gives the memory
 * back (or deletes the file).
 */
export async function spoolStream(
  stream: AsyncIterable<Uint8Array>,
  options: SpoolOptions & {
    memory: { maxBytes: number; budget: SpoolBudget };
    expectedSize?: number | undefined;
  },
): Promise<ClosableByteSource> {
  const { maxBytes, budget } = options.memory;
  if (options.expectedSize !== undefined && options.expectedSize > maxBytes) {
    return spoolToTempFile(stream, options);
  }
  const iterator = stream[Symbol.asyncIterator]();
  const pieces: Uint8Array[] = [];
  const starts: number[] = [];
  let size = 0;
  let taken = 0;
  const giveBack = () => {
    for (const piece of pieces) freeNow(piece);
    pieces.length = 0;
    budget.give(taken);
    taken = 0;
  };
  let spilled = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      const chunk = next.value;
      options.onChunk?.(chunk);
      if (chunk.length === 0) continue;
      if (size + chunk.length > maxBytes || !budget.take(chunk.length)) {
        spilled = true;
        // What was gathered goes to the file first and is freed there; the budget is free again then.
        return await spoolToTempFile(theRest(chunk, iterator, options.onChunk), {
          ...options,
          onChunk: undefined,
          initial: { pieces: [...pieces], written: giveBack },
        }).finally(giveBack);
      }
      taken += chunk.length;
      starts.push(size);
      // A chunk that is a view of something larger would keep all of it alive: copied.
      pieces.push(options.freeChunks ? chunk : Uint8Array.prototype.slice.call(chunk));
      size += chunk.length;
    }
  } catch (error) {
    giveBack();
    if (!spilled) await Promise.resolve(iterator.return?.()).catch(() => undefined);
    throw error;
  }
  let closed = false;
  return {
    size,
    name: options.name ?? "stream",
    read: async (offset, length) => {
      await turn();
      const out = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
      copyOut(pieces, starts, size, offset, out);
      return out;
    },
    readInto: async (offset, target) => {
      await turn();
      return copyOut(pieces, starts, size, offset, target);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      giveBack();
    },
  };
}

/** The chunk that did not fit in memory, then the rest of the stream, each new chunk shown to `onChunk`. */
async function* theRest(
  pending: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
  onChunk: ((chunk: Uint8Array) => void) | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    yield pending;
    for (let next = await rest.next(); !next.done; next = await rest.next()) {
      onChunk?.(next.value);
      yield next.value;
    }
  } finally {
    await Promise.resolve(rest.return?.()).catch(() => undefined);
  }
}
