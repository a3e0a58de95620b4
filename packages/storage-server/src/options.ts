import type { Logger } from "@lafs/interface";
import { StorageServerError } from "./errors.js";
import type { LeaseCrawlerPacing } from "./lease-crawler.js";
import type { LeaseExpiryPolicy } from "./lease-expiry.js";

export interface StorageServerOptions {
  /** BASEDIR/storage (shares/, shares/incoming/ and corruption-advisories/ below it). */
  storageDir: string;
  /** The NURL's secret path segment (ASCII); requests carry Authorization: Tahoe-LAFS base64(swissnum). */
  swissnum: string;
  /** 20 bytes recorded in mutable containers (the server's tub id bytes). */
  writeEnablerNodeId: Uint8Array;
  /** Bytes; [storage]reserved_space. */
  reservedSpace?: number;
  /** [storage]readonly. */
  readonly?: boolean;
  /** e.g. "lafs-ts/0.1.0"; sent as application-version. */
  applicationVersion?: string;
  logger?: Logger;
  /** ms clock, for leases and idle-upload expiry in tests. */
  now?: () => number;
  /** [storage]expire.*; the lease crawler always runs, and removes shares only with `enabled`. */
  expiry?: LeaseExpiryPolicy;
  /** How hard the lease crawler may work (defaults as Tahoe's: 10% of the time, 5 minutes after start). */
  leaseCrawler?: LeaseCrawlerPacing;
  /** A request body that sends nothing for this many ms fails with 408 (default 30 s; tests shorten it). */
  bodyIdleTimeoutMs?: number;
}

function optionError(message: string, hint: string): StorageServerError {
  return new StorageServerError("TAHOE_ERR_STORAGE_SERVER_OPTIONS", 500, message, { hint });
}

/** Refuses options no node directory could produce, before anything touches the disk. */
export function checkOptions(o: StorageServerOptions): void {
  if (typeof o.storageDir !== "string" || o.storageDir === "") {
    throw optionError("storage server: storageDir is empty", "pass BASEDIR/storage");
  }
  if (!/^[\x21-\x7e]+$/.test(o.swissnum) || o.swissnum.includes("/")) {
    throw optionError(
      "storage server: the swissnum is empty or not printable ASCII without '/'",
      "use the secret path segment of the storage NURL (lower-case base32)",
    );
  }
  if (!(o.writeEnablerNodeId instanceof Uint8Array) || o.writeEnablerNodeId.length !== 20) {
    throw optionError(
      `storage server: writeEnablerNodeId is ${o.writeEnablerNodeId?.length ?? "no"} bytes, expected 20`,
      "pass the 20 bytes of the server's tub id (the base32 part of anonymous-storage-FURL)",
    );
  }
  const reserved = o.reservedSpace ?? 0;
  if (!Number.isSafeInteger(reserved) || reserved < 0) {
    throw optionError(
      `storage server: reservedSpace ${reserved} is not a whole number of bytes`,
      "[storage]reserved_space is 0 or more bytes",
    );
  }
  checkExpiry(o.expiry);
}

function checkExpiry(e: LeaseExpiryPolicy | undefined): void {
  if (e === undefined) return;
  if (e.mode !== "age" && e.mode !== "cutoff-date") {
    throw optionError(
      `storage server: expiry mode '${String(e.mode)}' is unknown`,
      "[storage]expire.mode is age or cutoff-date",
    );
  }
  if (e.mode === "cutoff-date" && !Number.isSafeInteger(e.cutoffDateSeconds)) {
    throw optionError(
      "storage server: expiry mode cutoff-date needs a cutoff date",
      "set [storage]expire.cutoff_date = YYYY-MM-DD",
    );
  }
  const override = e.overrideLeaseDurationSeconds;
  if (override !== undefined && (!Number.isSafeInteger(override) || override <= 0)) {
    throw optionError(
      `storage server: expiry override duration ${override} is not a positive number of seconds`,
      "[storage]expire.override_lease_duration is a number and unit such as '60 days'",
    );
  }
}
