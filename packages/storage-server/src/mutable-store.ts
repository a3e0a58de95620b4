import { type FileHandle, mkdir, open, rm, rmdir } from "node:fs/promises";
import { dirname } from "node:path";
import { constantTimeEqual } from "@lafs/crypto";
import { storageFull } from "./error-answers.js";
import { notFound, StorageServerError, shareKindConflict, tooLarge } from "./errors.js";
import type { createKeyedLock } from "./keyed-lock.js";
import { addOrRenewLease, type LeaseSecrets, leaseExpiration } from "./leases.js";
import { LIMITS } from "./limits.js";
import {
  createMutableContainer,
  MUTABLE_DATA_OFFSET,
  type MutableContainer,
  readMutableContainer,
  readMutableData,
  writeMutableData,
  writeMutableLeases,
} from "./mutable-container.js";
import { bucketDir, type StorageLayout, sharePath } from "./paths.js";
import type { ReadTestWriteRequest } from "./schemas.js";
import type { ShareFiles, ShareKind } from "./share-files.js";

export interface MutableStoreOptions {
  layout: StorageLayout;
  /** Reads what the share files under `layout.shares` hold. */
  shareFiles: ShareFiles;
  now: () => number;
  /** Free bytes for new data: net of reserved space, read-only mode and uploads' reservations. */
  space: () => Promise<number>;
  readonly: boolean;
  nodeId: Uint8Array;
  lock: ReturnType<typeof createKeyedLock>;
  /** Whether an immutable upload of this share is in progress. */
  uploading: (si: string, shnum: number) => boolean;
}

export interface ReadTestWriteResult {
  success: boolean;
  data: Map<number, Uint8Array[]>;
}

interface OpenShare {
  fh: FileHandle;
  container: MutableContainer;
}

export type MutableStore = ReturnType<typeof createMutableStore>;

export function createMutableStore(o: MutableStoreOptions) {
  async function openAll(
    si: string,
    kinds: Map<number, ShareKind | undefined>,
  ): Promise<Map<number, OpenShare>> {
    const shares = new Map<number, OpenShare>();
    try {
      for (const [shnum, kind] of kinds) {
        if (kind !== "mutable") continue;
        const path = sharePath(o.layout.shares, si, shnum);
        const fh = await open(path, "r+");
        shares.set(shnum, { fh, container: await readMutableContainer(path, fh).catch(closeAnd(fh)) });
      }
    } catch (error) {
      await closeAll(shares);
      throw error;
    }
    return shares;
  }

  return {
    list(si: string): Promise<number[]> {
      return o.shareFiles.list(si, "mutable");
    },

    /** Wire-formats §5.7, steps 1-6, under the bucket lock so requests for one slot never interleave. */
    readTestWrite(
      si: string,
      writeEnabler: Uint8Array,
      lease: LeaseSecrets,
      request: ReadTestWriteRequest,
    ): Promise<ReadTestWriteResult> {
      return o.lock(`bucket/${si}`, async () => {
        const kinds = await o.shareFiles.kinds(si);
        // A share number an immutable share holds (or is being uploaded to) is never tested,
        // read as empty or written: refuse before anything is read or changed.
        for (const shnum of request.testWriteVectors.keys()) {
          if (kinds.get(shnum) === "immutable") throw shareKindConflict(si, shnum, "an immutable share");
          if (o.uploading(si, shnum)) throw shareKindConflict(si, shnum, "an immutable share being uploaded");
        }
        const shares = await openAll(si, kinds);
        try {
          for (const [shnum, share] of shares) {
            if (!constantTimeEqual(share.container.writeEnabler, writeEnabler)) {
              throw new StorageServerError(
                "TAHOE_ERR_STORAGE_SERVER_WRONG_SECRET",
                401,
                `write-enabler does not match the one stored in mutable share ${shnum} of ${si}`,
                { hint: "the write enabler derives from the file's write key and this server's tub id" },
              );
            }
          }
          checkReadTotal(si, request, shares);
          let success = true;
          for (const [shnum, tw] of request.testWriteVectors) {
            const share = shares.get(shnum);
            for (const t of tw.test) {
              // Bytes are read only when their length matches the specimen's, so a test's
              // `size` (up to 2^53) never decides how much is read.
              const length = clippedLength(share?.container.dataLength ?? 0, t.offset, t.size);
              if (length !== t.specimen.length) success = false;
              else if (share && length > 0) {
                const actual = await readMutableData(share.fh, share.container.dataLength, t.offset, length);
                if (!actual.equals(t.specimen)) success = false;
              }
            }
          }
          const data = new Map<number, Uint8Array[]>();
          for (const [shnum, share] of shares) {
            const reads: Uint8Array[] = [];
            for (const r of request.readVector) {
              reads.push(await readMutableData(share.fh, share.container.dataLength, r.offset, r.size));
            }
            data.set(shnum, reads);
          }
          if (!success) return { success, data };
          await checkWritable(si, request, shares);
          await applyWrites(si, writeEnabler, lease, request, shares);
          return { success, data };
        } finally {
          await closeAll(shares);
        }
      });
    },

    async openShare(si: string, shnum: number) {
      const path = sharePath(o.layout.shares, si, shnum);
      if ((await o.shareFiles.kindOf(path)) !== "mutable")
        throw notFound(`no mutable share ${shnum} of ${si}`);
      const fh = await open(path, "r");
      try {
        const container = await readMutableContainer(path, fh);
        return {
          fh,
          path,
          dataOffset: MUTABLE_DATA_OFFSET,
          dataLength: container.dataLength,
          // A mutable share may change between reads, so its handle is not kept.
          release: () => fh.close(),
        };
      } catch (error) {
        await fh.close();
        throw error;
      }
    },
  };

  /** Refuses (413) a request whose read vectors would return more than LIMITS.readTestWriteReads bytes. */
  function checkReadTotal(si: string, request: ReadTestWriteRequest, shares: Map<number, OpenShare>) {
    let total = 0;
    for (const share of shares.values()) {
      for (const r of request.readVector)
        total += clippedLength(share.container.dataLength, r.offset, r.size);
    }
    if (total > LIMITS.readTestWriteReads) {
      throw tooLarge(
        `the read vectors of this read-test-write on ${si} ask for ${total} bytes of its ${shares.size} shares; at most ${LIMITS.readTestWriteReads} bytes are read back per request`,
        "read large parts of a mutable share with GET /storage/v1/mutable/:storage_index/:share_number and a Range",
      );
    }
  }

  async function checkWritable(si: string, request: ReadTestWriteRequest, shares: Map<number, OpenShare>) {
    const changes = [...request.testWriteVectors.values()].some(
      (tw) => tw.write.length > 0 || tw.newLength !== null,
    );
    const creates = [...request.testWriteVectors.entries()].some(
      ([n, tw]) => !shares.has(n) && tw.newLength !== 0,
    );
    if (o.readonly && (changes || creates)) {
      throw new StorageServerError(
        "TAHOE_ERR_STORAGE_SERVER_READONLY",
        403,
        `this storage server is read-only ([storage]readonly); mutable slot ${si} was not changed`,
      );
    }
    let growth = 0;
    for (const [shnum, tw] of request.testWriteVectors) {
      if (tw.newLength === 0) continue;
      const current = shares.get(shnum)?.container.dataLength ?? 0;
      const end = tw.write.reduce((e, w) => Math.max(e, w.offset + w.data.length), current);
      growth += end - current;
    }
    if (growth > 0) {
      const free = await o.space();
      if (growth > free) {
        // The same "server is full" answer as a write the disk refuses, so clients re-place alike.
        throw storageFull(`${growth} more bytes of mutable slot ${si} (${free} bytes are free)`);
      }
    }
  }

  async function applyWrites(
    si: string,
    writeEnabler: Uint8Array,
    lease: LeaseSecrets,
    request: ReadTestWriteRequest,
    shares: Map<number, OpenShare>,
  ) {
    const expiration = leaseExpiration(o.now());
    for (const [shnum, tw] of request.testWriteVectors) {
      const path = sharePath(o.layout.shares, si, shnum);
      let share = shares.get(shnum);
      if (tw.newLength === 0) {
        if (share) {
          await share.fh.close();
          shares.delete(shnum);
          await rm(path, { force: true });
        }
        continue;
      }
      if (!share) {
        await mkdir(dirname(path), { recursive: true });
        await createMutableContainer(path, o.nodeId, writeEnabler);
        const fh = await open(path, "r+");
        share = { fh, container: await readMutableContainer(path, fh).catch(closeAnd(fh)) };
        shares.set(shnum, share);
      }
      await writeMutableData(share.fh, share.container, tw.write, tw.newLength);
      const c = share.container;
      if (
        addOrRenewLease(c.leases, lease, {
          hashed: c.version === 2,
          ownerNum: 1,
          expiration,
          nodeId: o.nodeId,
        })
      ) {
        await writeMutableLeases(share.fh, c);
      }
      await share.fh.sync();
    }
    // Deleting the last share removes the bucket directory, as Tahoe does.
    if (shares.size === 0) {
      const dir = bucketDir(o.layout.shares, si);
      await rmdir(dir).catch(() => undefined);
      await rmdir(dirname(dir)).catch(() => undefined);
    }
  }
}

/** How many bytes of `size` from `offset` lie inside data of `dataLength` bytes. */
function clippedLength(dataLength: number, offset: number, size: number): number {
  return Math.max(0, Math.min(size, dataLength - offset));
}

function closeAnd(fh: FileHandle) {
  return async (error: unknown): Promise<never> => {
    await fh.close();
    throw error;
  };
}

async function closeAll(shares: Map<number, OpenShare>): Promise<void> {
  for (const share of shares.values()) await share.fh.close().catch(() => undefined);
  shares.clear();
}
