import { mkdir, open, rename, rm, rmdir } from "node:fs/promises";
import { dirname } from "node:path";
import { constantTimeEqual } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import { badBody, badRange, notFound, StorageServerError } from "./errors.js";
import {
  createImmutableContainer,
  IMMUTABLE_HEADER_SIZE,
  readImmutableContainer,
} from "./immutable-container.js";
import type { createKeyedLock } from "./keyed-lock.js";
import { renewShareLease } from "./lease-ops.js";
import { addOrRenewLease, type LeaseSecrets, leaseExpiration } from "./leases.js";
import { type StorageLayout, sharePath } from "./paths.js";
import { type ByteRange, IntervalSet } from "./ranges.js";
import { listShares, shareKind } from "./share-files.js";

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
}

export interface ImmutableStoreOptions {
  layout: StorageLayout;
  now: () => number;
  /** Free bytes for new shares (already net of reserved space and read-only mode). */
  space: () => Promise<number>;
  lock: ReturnType<typeof createKeyedLock>;
  logger: Logger;
}

export interface WriteResult {
  complete: boolean;
  required: { begin: number; end: number }[];
}

export type ImmutableStore = ReturnType<typeof createImmutableStore>;

export function createImmutableStore(o: ImmutableStoreOptions) {
  const uploads = new Map<string, Upload>();
  const key = (si: string, shnum: number) => `immutable/${si}/${shnum}`;

  async function removeIncoming(path: string): Promise<void> {
    await rm(path, { force: true });
    // Tahoe leaves no empty incoming/<prefix>/<si> directories behind.
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
    await removeIncoming(upload.path);
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

  async function finalise(upload: Upload): Promise<void> {
    const fh = await open(upload.path, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
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
    await removeIncoming(upload.path);
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
        try {
          await createImmutableContainer(path, allocatedSize, leases[0]!);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
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
      readBody: (length: number) => Promise<Buffer>,
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
        const data = await readBody(length);
        if (data.length !== length) {
          throw badBody(`the body is ${data.length} bytes but Content-Range names ${length}`);
        }
        const fh = await open(upload.path, "r+");
        try {
          for (const [b, e] of upload.written.overlaps(range.first, range.last + 1)) {
            const existing = Buffer.alloc(e - b);
            await fh.read(existing, 0, e - b, IMMUTABLE_HEADER_SIZE + b);
            if (!existing.equals(data.subarray(b - range.first, e - range.first))) {
              throw new StorageServerError(
                "TAHOE_ERR_STORAGE_SERVER_CONFLICT",
                409,
                `bytes ${b}-${e - 1} of share ${shnum} of ${si} were already written with different data`,
                { hint: "abort the upload and start again" },
              );
            }
          }
          await fh.write(data, 0, data.length, IMMUTABLE_HEADER_SIZE + range.first);
        } finally {
          await fh.close();
        }
        upload.written.add(range.first, range.last + 1);
        upload.lastActivity = o.now();
        const required = upload.written.missing(upload.allocatedSize);
        if (required.length > 0) return { complete: false, required };
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

    /** The complete share's data length and an open handle, or a 404. */
    async openShare(si: string, shnum: number) {
      const path = sharePath(o.layout.shares, si, shnum);
      if ((await shareKind(path)) !== "immutable") throw notFound(`no immutable share ${shnum} of ${si}`);
      const fh = await open(path, "r");
      try {
        const container = await readImmutableContainer(path, fh);
        return { fh, path, dataOffset: IMMUTABLE_HEADER_SIZE, dataLength: container.dataLength };
      } catch (error) {
        await fh.close();
        throw error;
      }
    },
  };
}
