import { mutableError, throwIfAborted } from "./errors.js";

/** What a mutable file's new contents may be given as. */
export type MutableContents = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * The largest file (or update) accepted by default. Publishing holds the whole plaintext and
 * every share in memory, as Tahoe-LAFS's publisher does: about size × (1 + N/k) bytes.
 */
export const MAX_MUTABLE_FILE_SIZE = 128 * 1024 * 1024;

function tooLarge(what: string, size: number | string, max: number) {
  return mutableError(
    "TAHOE_ERR_MUTABLE_TOO_LARGE",
    `${what} is ${size} bytes; mutable files are limited to ${max} bytes here`,
    `Mutable files are encoded in memory (size × (1 + N/k) bytes); store larger files as immutable files, or raise maxSize if the node has the memory.`,
  );
}

/**
 * Gathers `contents` into one buffer, refusing more than `max` bytes as soon as they arrive,
 * and checking a declared `size` against what came.
 */
export async function collectContents(
  contents: MutableContents,
  what: string,
  max: number,
  size?: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_ARGUMENT",
      `${what}: declared size ${size} is not a whole number >= 0`,
      "Pass the number of bytes the contents hold, or no size.",
    );
  }
  if (size !== undefined && size > max) throw tooLarge(what, size, max);
  if (contents instanceof Uint8Array) {
    if (contents.length > max) throw tooLarge(what, contents.length, max);
    checkSize(what, contents.length, size);
    return contents;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of contents) {
    throwIfAborted(what, signal);
    total += part.length;
    if (total > max) throw tooLarge(what, `more than ${max}`, max);
    parts.push(part);
  }
  checkSize(what, total, size);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

function checkSize(what: string, got: number, size: number | undefined): void {
  if (size !== undefined && got !== size) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_ARGUMENT",
      `${what}: the contents were ${got} bytes, but their size was given as ${size}`,
      "The source changed or the size is wrong; nothing was written.",
    );
  }
}
