import type { Logger } from "@lafs/interface";
import type { UploadServer } from "./grid-server.js";

export interface UploadOptions {
  /** Every known server, with its connection state and the user's allowed/required flags. */
  readonly servers: readonly UploadServer[];
  /** The node's 32-byte `private/secret`, from which every lease secret is derived. */
  readonly leaseSecret: Uint8Array;
  /** shares.needed, shares.happy, shares.total. */
  readonly k: number;
  readonly happy: number;
  readonly n: number;
  /** Default 1 MiB (@lafs/immutable's DEFAULT_MAX_SEGMENT_SIZE, Tahoe 1.20's). */
  readonly maxSegmentSize?: number | undefined;
  /** The node's convergence secret (private/convergence); or `randomKey: true`. */
  readonly convergenceSecret?: Uint8Array | undefined;
  readonly randomKey?: boolean | undefined;
  /**
   * The file's key when the caller already has it (the convergent key hashed while the file
   * was spooled); takes the place of convergenceSecret and randomKey.
   */
  readonly encryptionKey?: Uint8Array | undefined;
  /**
   * The source is the file's crypttext and this its storage index (a repair from a verify cap):
   * nothing is encrypted, and the result's cap is the verify cap. Takes the place of the key options.
   */
  readonly crypttextOf?: Uint8Array | undefined;
  /**
   * Shares a server holds that a verify found corrupt, by server id. They count for nothing,
   * and their server takes no new share in this upload: GBS cannot replace an immutable share
   * and answers "already have" for its number, so the number goes to another server.
   */
  readonly corruptShares?: ReadonlyMap<string, readonly number[]> | undefined;
  /**
   * The UEB hash the shares must have (a repair knows it from the cap): checked before any
   * share's last bytes go out, so a mismatch completes no share.
   */
  readonly expectedUebHash?: Uint8Array | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
  /** PATCH body size to aim for; default 2,000,000 bytes (DEFAULT_BATCH_SIZE: twice Tahoe's). */
  readonly batchSize?: number | undefined;
  /** PATCHes in flight per share at most; default 2 (how many go out depends on maxBufferedPerShare too). */
  readonly patchesInFlight?: number | undefined;
  /** Bytes queued or in flight per share before the encoder waits; default max(2, patchesInFlight) × batchSize (4 MB). */
  readonly maxBufferedPerShare?: number | undefined;
  /** Timeout of the "which shares do you have" queries; default 15 s like Tahoe. */
  readonly queryTimeoutMs?: number | undefined;
  /** How often to re-place shares of servers that failed mid-upload; default 2. */
  readonly maxReplacementRounds?: number | undefined;
}

export interface UploadResult {
  readonly kind: "chk" | "lit";
  /** `URI:CHK:…` or `URI:LIT:…`. */
  readonly cap: string;
  /** `URI:CHK-Verifier:…`; undefined for LIT. */
  readonly verifyCap: string | undefined;
  /** Undefined for LIT. */
  readonly storageIndex: Uint8Array | undefined;
  readonly size: number;
  readonly k: number;
  readonly happy: number;
  readonly n: number;
  /** Servers-of-happiness over the shares the live servers now hold (0 for LIT). */
  readonly happiness: number;
  /** Every share counted, by server id: reused ones and uploaded ones. */
  readonly sharesByServer: ReadonlyMap<string, readonly number[]>;
  /** The shares this upload wrote, by server id. */
  readonly uploadedShares: ReadonlyMap<string, readonly number[]>;
  /** Shares the servers already held (leases renewed), by server id. */
  readonly reusedShares: ReadonlyMap<string, readonly number[]>;
  /** Servers that failed during the upload, and why. */
  readonly failedServers: readonly { readonly id: string; readonly reason: string }[];
  /** Share bytes acknowledged by servers. */
  readonly bytesSent: number;
  /** PATCH requests acknowledged. */
  readonly writeRequests: number;
}
