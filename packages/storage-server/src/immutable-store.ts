import type { FileHandle } from "node:fs/promises";
import { mkdir, open, rename, rm, rmdir } from "node:fs/promises";
import { dirname } from "node:path";
import { constantTimeEqual } from "@lafs/crypto";
import { freeNow } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import type { BodySink } from "./body.js";
import { badBody, badRange, notFound, StorageServerError } from "./errors.js";
import { readFully, writeFully, writevFully } from "./file-io.js";
import { createHandlePool, type Pooled } from "./handle-pool.js";
import {
  createImmutableContainer,
  IMMUTABLE_HEADER_SIZE,
  immutableLayout,
  looksImmutable,
} from "./immutable-container.js";
import type { createKeyedLock } from "./keyed-lock.js";
import { renewShareLease } from "./lease-ops.js";
import { addOrRenewLease, type LeaseSecrets, leaseExpiration } from "./leases.js";
import { type StorageLayout, sharePath } from "./paths.js";
import { type ByteRange, IntervalSet } from "./ranges.js";
import { listShares, shareKind } from "./share-files.js";

/**
 * After this many bytes of an upload reach the page cache, a background fdatasync starts
 * writing them out, so the one fsync that must finish before the 201 finds little left to
 * do instead of a whole share.
 */
export const BACKGROUND_FLUSH_BYTES = 8 * 1024 * 1024;

/** Tahoe aborts an upload nobody has written to for 30 minutes. */
export const UPLOAD_IDLE_TIMEOUT_MS = 30 * 60 * 1000;

interface Upload {
  si: string;
  shnum: number;
  secret: Uint8Array;
  allocatedSize: number;
  written: IntervalSet;
  lastActivity: number;
  path: string;
  /** Bytes written since the last background flush started. */
  unflushed: number;
  /** The background flush in progress, if any; it never rejects. */
  flushing: Promise<void> | undefined;
}

/** A complete share open for reading: what a GET needs, learnt once per open. */
interface ReadableShare extends Pooled {
  dataLength: number;
}

/** A share opened for a GET; `release` hands the handle back (it may stay open for the next read). */
export interface OpenedShare {
  fh: FileHandle;
  path: string;
  dataOffset: number;
  dataLength: number;
  release(): void | Promise<void>;
}

export interface ImmutableStoreOptions {
  layout: StorageLayout;
  now: () => number;
  /** Free bytes for new shares (already net of reserved space and read-only mode). */
  space: () => Promise<number>;
  lock: ReturnType<typeof createKeyedLock>;
  logger: Logger;
}

/** A PATCH body, read one of two ways; either fails if it grows past `length`. */
export interface PatchBody {
  /** The whole body in one buffer. */
  read(length: number): Promise<Buffer>;
  /** The body handed to `sink` in pieces as it arrives; resolves to its length once all are written. */
  stream(length: number, sink: BodySink): Promise<number>;
  /**
   * Each piece `stream` hands over is a buffer of its own (Node's HTTP parser copies every
   * body chunk), so it is freed (freeNow) once written. Unset for bodies that may share memory.
   */
  readonly freshPieces?: boolean;
}

export interface WriteResult {
  complete: boolean;
  required: { begin: number; end: number }[];
}

export type ImmutableStore = ReturnType<typeof createImmutableStore>;

export function createImmutableStore(o: ImmutableStoreOptions) {
  const uploads = new Map<string, Upload>();
  const key = (si: string, shnum: number) => `immutable/${si}/${shnum}`;
  // Uploads keep their file open across PATCHes; a client stalled between PATCHes gives
  // its handle back after a while and the next PATCH reopens it.
  const uploadHandles = createHandlePool<Pooled>({ max: 256, idleMs: 60_000 });
  // Complete shares stay open between reads. The age limit bounds how long a share file
  // removed by hand keeps being served.
  const readHandles = createHandlePool<ReadableShare>({ max: 64, idleMs: 10_000, maxAgeMs: 60_000 });
  // One background flush at a time: each holds a thread-pool thread until the disk is done.
  let flushesRunning = 0;

  const borrowUpload = (upload: Upload) =>
    uploadHandles.acquire(upload.path, async () => ({ fh: await open(upload.path, "r+") }));

  /** Removes incoming/<prefix>/<si> once empty, as Tahoe leaves none behind. */
  async function removeEmptyIncomingDirs(path: string): Promise<void> {
    for (
      let dir = dirname(path);
      dir.startsWith(o.layout.incoming) && dir !== o.layout.incoming;
      dir = dirname(dir)
    ) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  async function discard(upload: Upload): Promise<void> {
    uploads.delete(key(upload.si, upload.shnum));
    await uploadHandles.drop(upload.path);
    await rm(upload.path, { force: true });
    await removeEmptyIncomingDirs(upload.path);
  }

  function liveUpload(si: string, shnum: number): Upload | undefined {
    const upload = uploads.get(key(si, shnum));
    if (upload && o.now() - upload.lastActivity >= UPLOAD_IDLE_TIMEOUT_MS) return undefined;
    return upload;
  }

  function checkSecret(upload: Upload, secret: Uint8Array): void {
    if (!constantTimeEqual(upload.secret, secret)) {
      throw new StorageServerError(
        "TAHOE_ERR_STORAGE_SERVER_WRONG_SECRET",
        401,
        `upload-secret does not match the one share ${upload.shnum} of ${upload.si} was allocated with`,
        { hint: "send the upload-secret given to the allocate call" },
      );
    }
  }

  /**
   * Starts writing an upload's dirty pages out while the client sends the rest. Only an
   * optimisation: the fsync in `finalise` is what makes a share durable.
   */
  function maybeFlushInBackground(upload: Upload): void {
    if (upload.unflushed < BACKGROUND_FLUSH_BYTES || upload.flushing || flushesRunning > 0) return;
    upload.unflushed = 0;
    flushesRunning++;
    upload.flushing = (async () => {
      const handle = await borrowUpload(upload);
      try {
        await handle.value.fh.datasync();
      } finally {
        handle.release();
      }
    })()
      .catch((error) => o.logger.debug({ err: error, si: upload.si }, "background flush failed"))
      .finally(() => {
        flushesRunning--;
        upload.flushing = undefined;
      });
  }

  async function finalise(upload: Upload): Promise<void> {
    await upload.flushing;
    const handle = await borrowUpload(upload);
    try {
      await handle.value.fh.sync();
    } finally {
      handle.release();
    }
    await uploadHandles.drop(upload.path);
    const finalPath = sharePath(o.layout.shares, upload.si, upload.shnum);
    await mkdir(dirname(finalPath), { recursive: true });
    await rename(upload.path, finalPath);
    const dir = await open(dirname(finalPath), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    uploads.delete(key(upload.si, upload.shnum));
    await removeEmptyIncomingDirs(upload.path);
  }

  /** Opens a complete share for reading, or a 404 when there is no immutable share there. */
  async function openReadable(path: string, si: string, shnum: number): Promise<ReadableShare> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
        throw notFound(`no immutable share ${shnum} of ${si}`);
      }
      throw error;
    }
    try {
      const header = await readFully(fh, IMMUTABLE_HEADER_SIZE, 0).catch(() => Buffer.alloc(0));
      if (!looksImmutable(header)) throw notFound(`no immutable share ${shnum} of ${si}`);
      const { size } = await fh.stat();
      return { fh, dataLength: immutableLayout(path, header, size).dataLength };
    } catch (error) {
      await fh.close();
      throw error;
    }
  }

  return {
    /** Bytes promised to uploads in progress, which allocation subtracts from free space. */
    allocatedBytes(): number {
      let total = 0;
      for (const u of uploads.values()) total += u.allocatedSize;
      return total;
    },

    list(si: string): Promise<number[]> {
      return listShares(o.layout.shares, si, "immutable");
    },

    async allocate(
      si: string,
      shareNumbers: number[],
      allocatedSize: number,
      uploadSecret: Uint8Array,
      lease: LeaseSecrets,
    ): Promise<{ alreadyHave: number[]; allocated: number[] }> {
      // One allocation at a time, so two cannot both count the same free space.
      return o.lock("allocate", () => this.allocateNow(si, shareNumbers, allocatedSize, uploadSecret, lease));
    },

    async allocateNow(
      si: string,
      shareNumbers: number[],
      allocatedSize: number,
      uploadSecret: Uint8Array,
      lease: LeaseSecrets,
    ): Promise<{ alreadyHave: number[]; allocated: number[] }> {
      await this.expireIdle();
      const alreadyHave = await this.list(si);
      const expiration = leaseExpiration(o.now());
      await o.lock(`bucket/${si}`, async () => {
        for (const shnum of alreadyHave) {
          await renewShareLease(o.layout.shares, si, shnum, lease, 0, expiration);
        }
      });
      let remaining = (await o.space()) - this.allocatedBytes();
      const allocated: number[] = [];
      for (const shnum of [...new Set(shareNumbers)].sort((a, b) => a - b)) {
        if (alreadyHave.includes(shnum) || uploads.has(key(si, shnum))) continue;
        if (remaining < allocatedSize) continue;
        const path = sharePath(o.layout.incoming, si, shnum);
        await mkdir(dirname(path), { recursive: true });
        const leases: Parameters<typeof addOrRenewLease>[0] = [];
        addOrRenewLease(leases, lease, { hashed: true, ownerNum: 0, expiration });
        let fh: FileHandle;
        try {
          fh = await createImmutableContainer(path, allocatedSize, leases[0]!);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
          throw error;
        }
        // The handle that wrote the header serves the PATCHes too.
        await uploadHandles.drop(path);
        try {
          (await uploadHandles.acquire(path, async () => ({ fh }))).release();
        } catch (error) {
          await fh.close();
          throw error;
        }
        uploads.set(key(si, shnum), {
          si,
          shnum,
          secret: Uint8Array.from(uploadSecret),
          allocatedSize,
          written: new IntervalSet(),
          lastActivity: o.now(),
          path,
          unflushed: 0,
          flushing: undefined,
        });
        remaining -= allocatedSize;
        allocated.push(shnum);
      }
      return { alreadyHave, allocated };
    },

    /**
     * Checks the upload, secret and range first; only then is the body read, at most
     * the range's length. Overlaps must repeat the bytes already written.
     */
    async write(
      si: string,
      shnum: number,
      uploadSecret: Uint8Array,
      range: ByteRange,
      body: PatchBody,
    ): Promise<WriteResult> {
      return o.lock(key(si, shnum), async () => {
        await this.expireIdle();
        const upload = liveUpload(si, shnum);
        if (!upload) throw notFound(`no upload in progress for share ${shnum} of ${si}`);
        checkSecret(upload, uploadSecret);
        if (range.last >= upload.allocatedSize) {
          throw badRange(
            `Content-Range bytes ${range.first}-${range.last} reaches past the allocated size ${upload.allocatedSize}`,
          );
        }
        const length = range.last - range.first + 1;
        const overlaps = upload.written.overlaps(range.first, range.last + 1);
        const handle = await borrowUpload(upload);
        try {
          const fh = handle.value.fh;
          if (overlaps.length === 0) {
            // The common case: fresh bytes go to disk as they arrive. A body that fails
            // half-way leaves bytes nobody counts as written, which a later PATCH overwrites.
            const received = await body.stream(length, async (pieces, offset) => {
              await writevFully(fh, pieces, IMMUTABLE_HEADER_SIZE + range.first + offset);
              // The bytes are in the page cache: give the pieces' memory back now, not at a GC.
              if (body.freshPieces) for (const piece of pieces) freeNow(piece);
            });
            if (received !== length) {
              throw badBody(`the body is ${received} bytes but Content-Range names ${length}`);
            }
          } else {
            // Overlapping bytes must match what is there, so the whole body is checked first.
            const data = await body.read(length);
            if (data.length !== length) {
              throw badBody(`the body is ${data.length} bytes but Content-Range names ${length}`);
            }
            for (const [b, e] of overlaps) {
              const existing = await readFully(fh, e - b, IMMUTABLE_HEADER_SIZE + b);
              if (!existing.equals(data.subarray(b - range.first, e - range.first))) {
                throw new StorageServerError(
                  "TAHOE_ERR_STORAGE_SERVER_CONFLICT",
                  409,
                  `bytes ${b}-${e - 1} of share ${shnum} of ${si} were already written with different data`,
                  { hint: "abort the upload and start again" },
                );
              }
            }
            await writeFully(fh, data, IMMUTABLE_HEADER_SIZE + range.first);
          }
        } finally {
          handle.release();
        }
        upload.written.add(range.first, range.last + 1);
        upload.lastActivity = o.now();
        upload.unflushed += length;
        const required = upload.written.missing(upload.allocatedSize);
        if (required.length > 0) {
          maybeFlushInBackground(upload);
          return { complete: false, required };
        }
        await finalise(upload);
        o.logger.debug({ si, shnum }, "immutable share complete");
        return { complete: true, required };
      });
    },

    async abort(si: string, shnum: number, uploadSecret: Uint8Array): Promise<void> {
      return o.lock(key(si, shnum), async () => {
        await this.expireIdle();
        const upload = liveUpload(si, shnum);
        if (!upload) {
          if ((await shareKind(sharePath(o.layout.shares, si, shnum))) === "immutable") {
            throw new StorageServerError(
              "TAHOE_ERR_STORAGE_SERVER_ALREADY_COMPLETE",
              405,
              `share ${shnum} of ${si} is already complete and cannot be aborted`,
            );
          }
          throw notFound(`no upload in progress for share ${shnum} of ${si}`);
        }
        checkSecret(upload, uploadSecret);
        await discard(upload);
      });
    },

    /** Drops uploads idle for 30 minutes, with their partial files. */
    async expireIdle(): Promise<void> {
      const now = o.now();
      for (const upload of [...uploads.values()]) {
        if (
          now - upload.lastActivity >= UPLOAD_IDLE_TIMEOUT_MS &&
          uploads.get(key(upload.si, upload.shnum)) === upload
        ) {
          o.logger.info({ si: upload.si, shnum: upload.shnum }, "idle upload expired");
          await discard(upload);
        }
      }
    },

    /**
     * The complete share's data length and a handle, or a 404. The handle is shared with
     * other reads: the caller reads with positional reads and calls `release`, never `close`.
     */
    async openShare(si: string, shnum: number): Promise<OpenedShare> {
      const path = sharePath(o.layout.shares, si, shnum);
      const handle = await readHandles.acquire(path, () => openReadable(path, si, shnum));
      return {
        fh: handle.value.fh,
        path,
        dataOffset: IMMUTABLE_HEADER_SIZE,
        dataLength: handle.value.dataLength,
        release: handle.release,
      };
    },

    /** Closes every open share file; uploads in progress stay listed until the process ends. */
    async close(): Promise<void> {
      await Promise.all([...uploads.values()].map((u) => u.flushing));
      await Promise.all([uploadHandles.close(), readHandles.close()]);
    },
  };
}
