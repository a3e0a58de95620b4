import type { FileHandle } from "node:fs/promises";
import { link, lstat, mkdir, open, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { constantTimeEqual } from "@lafs/crypto";
import { freeNow } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import type { BodySink } from "./body.js";
import {
  badBody,
  badRange,
  isStorageServerError,
  notFound,
  StorageServerError,
  shareKindConflict,
  uploadLost,
} from "./errors.js";
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
import { RESERVATION_FRACTION } from "./limits.js";
import { type StorageLayout, sharePath } from "./paths.js";
import { type ByteRange, IntervalSet } from "./ranges.js";
import type { ShareFiles } from "./share-files.js";

/**
 * After this many bytes of an upload reach the page cache, a background fdatasync starts
 * writing them out, so the one fsync that must finish before the 201 finds little left to
 * do instead of a whole share. About one PATCH (a client's batch is 1 MB): a share of a 10 MiB
 * file (5 MiB at 2-of-N) is then mostly on disk before its last PATCH arrives, where at 8 MiB
 * all of it waited for that PATCH's fsync.
 */
export const BACKGROUND_FLUSH_BYTES = 1024 * 1024;

/** Tahoe aborts an upload nobody has written to for 30 minutes. */
export const UPLOAD_IDLE_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * An allocation that has received no PATCH for this long is given up, so space reserved
 * and never used comes back long before the 30-minute idle expiry. A Tahoe client sends
 * its first PATCH within seconds of the allocate.
 */
export const UNUSED_UPLOAD_TIMEOUT_MS = 3 * 60 * 1000;

interface Upload {
  si: string;
  shnum: number;
  secret: Uint8Array;
  allocatedSize: number;
  written: IntervalSet;
  /** Allocated bytes not written yet: what this upload still reserves of the free space. */
  outstanding: number;
  /** Set by the first PATCH that completes; until then the upload expires after UNUSED_UPLOAD_TIMEOUT_MS. */
  used: boolean;
  lastActivity: number;
  /** Byte ranges [begin, end) of PATCHes receiving their body now; they never overlap. */
  inFlight: [number, number][];
  path: string;
  /** Bytes written since the last background flush started. */
  unflushed: number;
  /** The background flush in progress, if any; it never rejects. */
  flushing: Promise<void> | undefined;
}

/** A complete share open for reading: what a GET needs, learnt once per open. */
interface ReadableShare extends Pooled {
  dataLength: number;
  /** The file's size and identity when opened: a read checks the path still names it. */
  size: number;
  ino: number;
  dev: number;
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
  /** Reads what the share files under `layout.shares` hold. */
  shareFiles: ShareFiles;
  now: () => number;
  /**
   * Free bytes on disk for new shares (net of reserved space and read-only mode), before
   * subtracting the reservations of uploads in progress.
   */
  space: () => Promise<number>;
  lock: ReturnType<typeof createKeyedLock>;
  logger: Logger;
}

/** A PATCH body; fails if it grows past `length`. */
export interface PatchBody {
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
  // Complete shares stay open between reads; each read first checks (one stat) that the
  // path still names the same file, so a share replaced or removed by hand is never served
  // from the old handle. The age limit closes handles a busy share would otherwise keep.
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
    if (uploads.get(key(upload.si, upload.shnum)) === upload) uploads.delete(key(upload.si, upload.shnum));
    await uploadHandles.drop(upload.path);
    await rm(upload.path, { force: true });
    await removeEmptyIncomingDirs(upload.path);
  }

  /**
   * The upload's partial file is gone from the disk (an operator removed it, or the whole
   * shares directory): drops the upload, so its reservation comes back, and gives the error.
   */
  async function lose(upload: Upload): Promise<StorageServerError> {
    await discard(upload);
    o.logger.warn(
      { si: upload.si, shnum: upload.shnum, path: upload.path },
      "an upload's partial file was removed from the disk during the upload; the upload was dropped",
    );
    return uploadLost(upload.si, upload.shnum);
  }

  /** The upload's file handle; a file removed while no handle was open is a lost upload. */
  async function borrowExisting(upload: Upload): ReturnType<typeof borrowUpload> {
    try {
      return await borrowUpload(upload);
    } catch (error) {
      if (isMissing(error)) throw await lose(upload);
      throw error;
    }
  }

  /** Idle for 30 minutes, or never written to for UNUSED_UPLOAD_TIMEOUT_MS; never while a PATCH is receiving. */
  function expired(upload: Upload, now: number): boolean {
    if (upload.inFlight.length > 0) return false;
    if (now - upload.lastActivity >= UPLOAD_IDLE_TIMEOUT_MS) return true;
    return !upload.used && now - upload.lastActivity >= UNUSED_UPLOAD_TIMEOUT_MS;
  }

  function liveUpload(si: string, shnum: number): Upload | undefined {
    const upload = uploads.get(key(si, shnum));
    if (upload && expired(upload, o.now())) return undefined;
    return upload;
  }

  function reserved(secret?: Uint8Array): number {
    let total = 0;
    for (const u of uploads.values()) {
      if (secret === undefined || constantTimeEqual(u.secret, secret)) total += u.outstanding;
    }
    return total;
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

  /**
   * Moves a complete upload to shares/, under the bucket lock that mutable writes take, and
   * never over a file already there: a mutable share created by hand or by a race is kept,
   * and the upload is dropped with a 409.
   */
  async function finalise(upload: Upload): Promise<void> {
    await upload.flushing;
    const handle = await borrowExisting(upload);
    try {
      await handle.value.fh.sync();
    } finally {
      handle.release();
    }
    await uploadHandles.drop(upload.path);
    const finalPath = sharePath(o.layout.shares, upload.si, upload.shnum);
    await o.lock(`bucket/${upload.si}`, async () => {
      await mkdir(dirname(finalPath), { recursive: true });
      const placed = await placeWithoutReplacing(upload.path, finalPath).catch(async (error) => {
        // The handle wrote and synced a file that no longer has a name: nothing to place.
        if (isMissing(error) && !(await exists(upload.path))) throw await lose(upload);
        throw error;
      });
      if (!placed) {
        const held = await o.shareFiles.kindOf(finalPath);
        await discard(upload);
        o.logger.warn(
          { si: upload.si, shnum: upload.shnum, held: held ?? "unknown" },
          "a complete immutable upload found its share number taken; the upload was dropped",
        );
        throw shareKindConflict(upload.si, upload.shnum, describeKind(held));
      }
      const dir = await open(dirname(finalPath), "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    });
    uploads.delete(key(upload.si, upload.shnum));
    await removeEmptyIncomingDirs(upload.path);
  }

  /** Compares the overlapping parts of one batch of a PATCH with the file, and writes the rest. */
  async function writeBatch(
    fh: FileHandle,
    upload: Upload,
    data: Buffer,
    at: number,
    overlaps: [number, number][],
  ): Promise<void> {
    const end = at + data.length;
    let cursor = at;
    const fresh = async (b: number, e: number) => {
      if (e > b) await writeFully(fh, data.subarray(b - at, e - at), IMMUTABLE_HEADER_SIZE + b);
    };
    for (const [ob, oe] of overlaps) {
      const b = Math.max(ob, at);
      const e = Math.min(oe, end);
      if (b >= e) continue;
      await fresh(cursor, b);
      const existing = await readFully(fh, e - b, IMMUTABLE_HEADER_SIZE + b);
      const sent = data.subarray(b - at, e - at);
      const same = existing.equals(sent);
      if (same) freeNow(existing);
      else {
        let differs = 0;
        while (differs < sent.length && existing[differs] === sent[differs]) differs++;
        throw new StorageServerError(
          "TAHOE_ERR_STORAGE_SERVER_CONFLICT",
          409,
          `byte ${b + differs} of share ${upload.shnum} of ${upload.si} was already written with different data`,
          { hint: "abort the upload and start again" },
        );
      }
      cursor = e;
    }
    await fresh(cursor, end);
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
      const { size, ino, dev } = await fh.stat();
      return { fh, dataLength: immutableLayout(path, header, size).dataLength, size, ino, dev };
    } catch (error) {
      await fh.close();
      throw error;
    }
  }

  /** True while `path` still names the file the handle was opened on, at the same size. */
  async function sameFile(path: string, share: ReadableShare): Promise<boolean> {
    const now = await stat(path).catch(() => undefined);
    return now !== undefined && now.ino === share.ino && now.dev === share.dev && now.size === share.size;
  }

  /**
   * Settles an upload after a PATCH ends, well or badly: complete once every byte is written
   * and no other PATCH is still receiving. Callers hold the upload's lock.
   */
  async function settle(upload: Upload): Promise<WriteResult> {
    const required = upload.written.missing(upload.allocatedSize);
    if (required.length > 0 || upload.inFlight.length > 0) {
      maybeFlushInBackground(upload);
      return { complete: false, required };
    }
    await finalise(upload);
    o.logger.debug({ si: upload.si, shnum: upload.shnum }, "immutable share complete");
    return { complete: true, required };
  }

  return {
    /** Free bytes for new shares: the disk's, less what uploads in progress still reserve. */
    async available(): Promise<number> {
      await this.expireIdle();
      return Math.max(0, (await o.space()) - reserved());
    },

    /** Whether an upload of this share is in progress (mutable writes must not take its number). */
    uploading(si: string, shnum: number): boolean {
      return liveUpload(si, shnum) !== undefined;
    },

    list(si: string): Promise<number[]> {
      return o.shareFiles.list(si, "immutable");
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

    /**
     * Under the bucket lock, so no mutable share appears between the kind check and the
     * reservation. A share number held by a mutable share refuses the whole request (409).
     * Each upload secret may reserve at most RESERVATION_FRACTION of the space free to it.
     */
    async allocateNow(
      si: string,
      shareNumbers: number[],
      allocatedSize: number,
      uploadSecret: Uint8Array,
      lease: LeaseSecrets,
    ): Promise<{ alreadyHave: number[]; allocated: number[] }> {
      await this.expireIdle();
      const wanted = [...new Set(shareNumbers)].sort((a, b) => a - b);
      return o.lock(`bucket/${si}`, async () => {
        const kinds = await o.shareFiles.kinds(si);
        for (const shnum of wanted) {
          if (kinds.get(shnum) === "mutable") throw shareKindConflict(si, shnum, "a mutable share");
        }
        const alreadyHave = [...kinds].filter(([, k]) => k === "immutable").map(([n]) => n);
        const expiration = leaseExpiration(o.now());
        for (const shnum of alreadyHave) {
          await renewShareLease(o.shareFiles, si, shnum, lease, 0, expiration);
        }
        let remaining = Math.max(0, (await o.space()) - reserved());
        const mine = reserved(uploadSecret);
        let allowance = Math.floor((remaining + mine) * RESERVATION_FRACTION) - mine;
        const allocated: number[] = [];
        for (const shnum of wanted) {
          if (kinds.has(shnum) || uploads.has(key(si, shnum))) continue;
          if (remaining < allocatedSize || allowance < allocatedSize) continue;
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
            outstanding: allocatedSize,
            used: false,
            lastActivity: o.now(),
            inFlight: [],
            path,
            unflushed: 0,
            flushing: undefined,
          });
          remaining -= allocatedSize;
          allowance -= allocatedSize;
          allocated.push(shnum);
        }
        if (allocated.length < wanted.length - alreadyHave.length) {
          o.logger.info(
            { si, wanted: wanted.length, allocated: allocated.length, allocatedSize },
            "allocate: some shares did not fit in the space this upload may reserve",
          );
        }
        return { alreadyHave, allocated };
      });
    },

    /**
     * Checks the upload, secret and range under the share's lock and claims the range; the
     * body is then received without the lock, so a stalled client holds only its own
     * range. Fresh bytes go to disk as they arrive; bytes already written are compared
     * with the disk batch by batch and must be the same.
     */
    async write(
      si: string,
      shnum: number,
      uploadSecret: Uint8Array,
      range: ByteRange,
      body: PatchBody,
    ): Promise<WriteResult> {
      const k = key(si, shnum);
      const begin = range.first;
      const end = range.last + 1;
      const length = end - begin;
      const { upload, claim, overlaps } = await o.lock(k, async () => {
        await this.expireIdle();
        const upload = liveUpload(si, shnum);
        if (!upload) throw notFound(`no upload in progress for share ${shnum} of ${si}`);
        checkSecret(upload, uploadSecret);
        if (range.last >= upload.allocatedSize) {
          throw badRange(
            `Content-Range bytes ${range.first}-${range.last} reaches past the allocated size ${upload.allocatedSize}`,
          );
        }
        const busy = upload.inFlight.find(([b, e]) => b < end && begin < e);
        if (busy) {
          throw new StorageServerError(
            "TAHOE_ERR_STORAGE_SERVER_RANGE_BUSY",
            409,
            `bytes ${range.first}-${range.last} of share ${shnum} of ${si} overlap bytes ${busy[0]}-${busy[1] - 1}, which another PATCH is still sending`,
            { hint: "wait for that PATCH to finish (or time out), then send the range again" },
          );
        }
        const claim: [number, number] = [begin, end];
        upload.inFlight.push(claim);
        // Only this PATCH writes inside its claim, so what was written there stays as it is now.
        return { upload, claim, overlaps: upload.written.overlaps(begin, end) };
      });
      let failure: unknown;
      try {
        const handle = await borrowUpload(upload);
        try {
          const fh = handle.value.fh;
          const received = await body.stream(length, async (pieces, offset) => {
            if (overlaps.length === 0) {
              // The common case: fresh bytes, written as they came, without joining them.
              // A body that fails half-way leaves bytes nobody counts as written, which a
              // later PATCH overwrites.
              await writevFully(fh, pieces, IMMUTABLE_HEADER_SIZE + begin + offset);
            } else {
              const data = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
              await writeBatch(fh, upload, data, begin + offset, overlaps);
              // Only this call holds the joined copy: give its memory back now, not at a GC.
              if (data !== pieces[0]) freeNow(data);
            }
            // The bytes are in the page cache: give the pieces' memory back now, not at a GC.
            if (body.freshPieces) for (const piece of pieces) freeNow(piece);
          });
          if (received !== length) {
            throw badBody(`the body is ${received} bytes but Content-Range names ${length}`);
          }
        } finally {
          handle.release();
        }
      } catch (error) {
        failure = error;
      }
      return o.lock(k, async () => {
        upload.inFlight.splice(upload.inFlight.indexOf(claim), 1);
        const current = uploads.get(k) === upload;
        // The file was removed while no handle was open: settled here, under the lock.
        if (current && isMissing(failure)) failure = await lose(upload);
        if (failure !== undefined) {
          // Another PATCH may have finished the share while this one was receiving.
          if (current && !isLost(failure)) await settle(upload).catch(() => undefined);
          throw failure;
        }
        if (!current) throw notFound(`the upload of share ${shnum} of ${si} was aborted during this PATCH`);
        const before = upload.written.overlaps(begin, end).reduce((n, [b, e]) => n + e - b, 0);
        upload.written.add(begin, end);
        upload.outstanding -= length - before;
        upload.used = true;
        upload.lastActivity = o.now();
        upload.unflushed += length;
        return settle(upload);
      });
    },

    async abort(si: string, shnum: number, uploadSecret: Uint8Array): Promise<void> {
      return o.lock(key(si, shnum), async () => {
        await this.expireIdle();
        const upload = liveUpload(si, shnum);
        if (!upload) {
          if ((await o.shareFiles.kindOf(sharePath(o.layout.shares, si, shnum))) === "immutable") {
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

    /** Drops uploads idle for 30 minutes, or unused for UNUSED_UPLOAD_TIMEOUT_MS, with their partial files. */
    async expireIdle(): Promise<void> {
      const now = o.now();
      for (const upload of [...uploads.values()]) {
        if (expired(upload, now) && uploads.get(key(upload.si, upload.shnum)) === upload) {
          o.logger.info(
            { si: upload.si, shnum: upload.shnum, used: upload.used },
            upload.used ? "idle upload expired" : "unused upload expired",
          );
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
      const handle = await readHandles.acquire(
        path,
        () => openReadable(path, si, shnum),
        (share) => sameFile(path, share),
      );
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

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";

const isLost = (error: unknown) =>
  isStorageServerError(error) && error.code === "TAHOE_ERR_STORAGE_SERVER_UPLOAD_LOST";

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    (error: unknown) => (isMissing(error) ? false : Promise.reject(error)),
  );

function describeKind(kind: string | undefined): string {
  if (kind === "mutable") return "a mutable share";
  if (kind === "immutable") return "an immutable share";
  return "a file that is neither kind of share";
}

/**
 * Gives `from` the name `to` unless `to` exists: link() fails with EEXIST instead of
 * replacing. On a file system without hard links, a check then rename, which the caller's
 * bucket lock makes safe against this server's own writers. False when `to` was taken.
 */
async function placeWithoutReplacing(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw error;
    const taken = await lstat(to).then(
      () => true,
      (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? false : Promise.reject(e)),
    );
    if (taken) return false;
    await rename(from, to);
    return true;
  }
  await unlink(from);
  return true;
}
