import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type FileHandle, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { ImmutableError } from "./errors.js";

/**
 * Plaintext the encoder can read more than once (convergent encryption hashes the whole file
 * before encrypting it). `read` returns exactly `length` bytes unless the source is shorter.
 */
export interface ByteSource {
  readonly size: number;
  /** Names the source in error messages (a path, "stdin", "buffer"). */
  readonly name: string;
  read(offset: number, length: number): Promise<Uint8Array>;
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

async function readFully(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
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
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Copies a one-pass stream (stdin, an HTTP body) to a private temporary file so the encoder
 * can read it twice; memory stays bounded. `close` deletes the file.
 */
export async function spoolToTempFile(
  stream: AsyncIterable<Uint8Array>,
  options: {
    directory?: string;
    name?: string;
    /** Sees every chunk as it is written (a hash computed on the way saves reading the file again). */
    onChunk?: (chunk: Uint8Array) => void;
  } = {},
): Promise<ClosableByteSource> {
  const path = join(options.directory ?? tmpdir(), `lafs-spool-${randomBytes(8).toString("hex")}`);
  const out = createWriteStream(path, { mode: 0o600, flags: "wx" });
  try {
    for await (const chunk of stream) {
      options.onChunk?.(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", resolve));
    }
    out.end();
    await finished(out);
    const file = await fileSource(path);
    return {
      size: file.size,
      name: options.name ?? "stream",
      read: file.read,
      close: async () => {
        await file.close();
        await rm(path, { force: true });
      },
    };
  } catch (error) {
    out.destroy();
    await rm(path, { force: true });
    throw error;
  }
}

/** Reads exactly `length` bytes or throws TAHOE_ERR_IMMUTABLE_SOURCE (the source shrank). */
export async function readExactly(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new ImmutableError(
      "TAHOE_ERR_IMMUTABLE_SOURCE",
      `${source.name}: expected ${length} bytes at offset ${offset} of ${source.size}, read ${bytes.length}`,
      {
        hint: "The file changed size while it was being encoded; upload it again when nothing is writing to it.",
      },
    );
  }
  return bytes;
}
