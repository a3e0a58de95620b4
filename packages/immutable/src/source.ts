import { randomBytes } from "node:crypto";
import { type FileHandle, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImmutableError } from "./errors.js";
import { freeNow } from "./free-buffer.js";

/**
 * Plaintext the encoder can read more than once (convergent encryption hashes the whole file
 * before encrypting it). `read` returns exactly `length` bytes unless the source is shorter.
 */
export interface ByteSource {
  readonly size: number;
  /** Names the source in error messages (a path, "stdin", "buffer"). */
  readonly name: string;
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: fills `target` from `offset` and resolves with the bytes read (fewer only at the
   * end of the source). Lets the encoder reuse its segment buffers instead of allocating one per
   * read, which for a large file is most of what the garbage collector has to chase.
   */
  readInto?(offset: number, target: Uint8Array): Promise<number>;
}

export interface ClosableByteSource extends ByteSource {
  close(): Promise<void>;
}

export function bytesSource(bytes: Uint8Array, name = "buffer"): ByteSource {
  return {
    size: bytes.length,
    name,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

async function readFullyInto(handle: FileHandle, offset: number, target: Uint8Array): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function readFully(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  const done = await readFullyInto(handle, offset, buffer);
  return done === length ? buffer : buffer.subarray(0, done);
}

/** A regular file as a source; its size is taken now. Close it when done. */
export async function fileSource(path: string): Promise<ClosableByteSource> {
  const handle = await open(path, "r");
  try {
    const size = (await handle.stat()).size;
    return {
      size,
      name: path,
      read: (offset, length) => readFully(handle, offset, length),
      readInto: (offset, target) => readFullyInto(handle, offset, target),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** How many bytes the spool gathers into one write: a request body comes in 64 KiB pieces. */
const SPOOL_BATCH = 1 << 20;

function freeAll(pieces: readonly Uint8Array[]): void {
  for (const piece of pieces) freeNow(piece);
}

/** Where and how spoolToTempFile (and spoolStream) keep a stream. */
export interface SpoolOptions {
  directory?: string;
  /**
   * How the file's name starts (default `lafs-spool-`); a random part follows. A node puts its
   * process in it, so it can tell at start which spools a dead process left.
   */
  prefix?: string;
  name?: string;
  /** Sees every chunk as it is written (a hash computed on the way saves reading the file again). */
  onChunk?: (chunk: Uint8Array) => void;
  /**
   * The stream's chunks are buffers of their own that nothing else holds: each is freed
   * (freeNow) once it is in the file, instead of waiting for a garbage collection.
   */
  freeChunks?: boolean;
}

/**
 * Copies a one-pass stream (stdin, an HTTP body) to a private temporary file so the encoder
 * can read it twice; memory stays bounded. `close` deletes the file.
 */
export async function spoolToTempFile(
  stream: AsyncIterable<Uint8Array>,
  options: SpoolOptions & {
    /**
     * Bytes gathered before the stream (a spool that outgrew memory): written first, each freed
     * (freeNow) once in the file, then `written` is called. They are not shown to `onChunk`.
     */
    initial?: { pieces: readonly Uint8Array[]; written: () => void } | undefined;
  } = {},
): Promise<ClosableByteSource> {
  const path = join(
    options.directory ?? tmpdir(),
    `${options.prefix ?? "lafs-spool-"}${randomBytes(8).toString("hex")}`,
  );
  const out = await open(path, "wx+", 0o600);
  let closed = false;
  try {
    // Pieces go out in batches of about a megabyte, one batch writing while the next gathers:
    // a write per 64 KiB piece cost more in thread-pool round trips than in copying.
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    let size = 0;
    if (options.initial !== undefined) {
      const { pieces, written } = options.initial;
      await writeAll(out, [...pieces]);
      for (const piece of pieces) size += piece.length;
      freeAll(pieces);
      written();
    }
    let writing: Promise<unknown> = Promise.resolve();
    const writeBatch = async () => {
      const pieces = batch;
      batch = [];
      batchBytes = 0;
      await writing;
      writing = writeAll(out, pieces);
      if (options.freeChunks) writing = writing.then(() => freeAll(pieces));
      // Awaited at the next batch or the end; until then a failure must not count as unhandled.
      writing.catch(() => undefined);
    };
    for await (const chunk of stream) {
      options.onChunk?.(chunk);
      if (chunk.length === 0) continue;
      batch.push(chunk);
      batchBytes += chunk.length;
      size += chunk.length;
      if (batchBytes >= SPOOL_BATCH) await writeBatch();
    }
    if (batchBytes > 0) await writeBatch();
    await writing;
    return {
      size,
      name: options.name ?? "stream",
      read: (offset, length) => readFully(out, offset, length),
      readInto: (offset, target) => readFullyInto(out, offset, target),
      close: async () => {
        if (closed) return;
        closed = true;
        await out.close();
        await rm(path, { force: true });
      },
    };
  } catch (error) {
    closed = true;
    await out.close().catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
}

/** writev until every byte is down: a short write leaves the rest for another call. */
async function writeAll(handle: FileHandle, pieces: Uint8Array[]): Promise<void> {
  let rest = pieces;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest);
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const piece of rest) {
      if (skip >= piece.length) {
        skip -= piece.length;
        continue;
      }
      next.push(skip > 0 ? piece.subarray(skip) : piece);
      skip = 0;
    }
    rest = next;
  }
}

function sourceShrank(source: ByteSource, offset: number, length: number, read: number): ImmutableError {
  return new ImmutableError(
    "TAHOE_ERR_IMMUTABLE_SOURCE",
    `${source.name}: expected ${length} bytes at offset ${offset} of ${source.size}, read ${read}`,
    {
      hint: "The file changed size while it was being encoded; upload it again when nothing is writing to it.",
    },
  );
}

/** Reads exactly `length` bytes or throws TAHOE_ERR_IMMUTABLE_SOURCE (the source shrank). */
export async function readExactly(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) throw sourceShrank(source, offset, length, bytes.length);
  return bytes;
}

/**
 * Reads exactly `length` bytes into `buffer` when the source can fill a buffer (the bytes are
 * then valid only until the next read into it), else as readExactly does.
 */
export async function readExactlyReusing(
  source: ByteSource,
  offset: number,
  length: number,
  buffer: Uint8Array | undefined,
): Promise<Uint8Array> {
  if (source.readInto === undefined || buffer === undefined) return readExactly(source, offset, length);
  const target = buffer.subarray(0, length);
  const read = await source.readInto(offset, target);
  if (read !== length) throw sourceShrank(source, offset, length, read);
  return target;
}
