import type { Nurl } from "@lafs/config";
import type { Logger } from "@lafs/interface";
import type {
  AllocateResult,
  ReadTestWriteRequest,
  ReadTestWriteResult,
  StorageVersion,
  WriteResult,
} from "./messages.js";
import type { ConnectFunction } from "./pinned-connect.js";
import type { StorageIndex } from "./storage-index.js";

export interface StorageClientOptions {
  /** The server's NURL (`pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1`): where to go, which key to trust. */
  nurl: string | Nurl;
  /** Opens the raw stream for a hint; default: plain TCP for tcp hints only. */
  connect?: ConnectFunction;
  /** Per-request limit, connection set-up included; default 60 s like Tahoe-LAFS. */
  timeoutMs?: number;
  /** Persistent HTTP/1.1 connections to the server; default 10 like Tahoe-LAFS. */
  maxConnections?: number;
  /** Largest CBOR reply accepted; default 30 MiB like Tahoe-LAFS. */
  maxReplyBytes?: number;
  /**
   * How errors and logs name the server to a person, e.g. `s1 (v0-abc…)`; default the NURL with
   * its swissnum hidden.
   */
  label?: string;
  logger?: Logger;
  /**
   * Called once for every request the server answered, as the reply's status line arrives: an
   * error status is an answer too; a request that got no reply (no connection, a timeout before
   * the reply, a cancelled call) is not. The node reports these to its server list, which skips
   * liveness probes of a server that answers. Runs inside the call, so it must be quick and must
   * not throw.
   */
  onAnswer?: (answer: StorageAnswer) => void;
}

/** One reply head from the server, as `onAnswer` is told of it. */
export interface StorageAnswer {
  /** The call's name, as errors name it (`version`, `write`, …). */
  operation: string;
  /** The reply's HTTP status. */
  status: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
  /**
   * Fails the call (TAHOE_ERR_STORAGE_CLIENT_TIMEOUT) when the server sends nothing for this
   * long: no reply head after the request went out, or a pause inside the reply body. A slow
   * but moving reply is not cut; a hung server is, long before timeoutMs.
   */
  idleTimeoutMs?: number;
  /**
   * Aborted when the node's liveness probe finds the server not answering: the call is cancelled
   * at once and fails with TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE (the caller's `signal` stays for
   * cancellation on purpose).
   */
  serverLost?: AbortSignal;
}

export interface LeaseSecrets {
  /** 32 bytes (wire-formats §2.13 bucket renew secret). */
  renewSecret: Uint8Array;
  /** 32 bytes. */
  cancelSecret: Uint8Array;
}

export interface AllocateRequest extends LeaseSecrets {
  shareNumbers: readonly number[];
  /** Bytes each share will hold. */
  allocatedSize: number;
  /** Fresh random bytes per upload (Tahoe-LAFS uses 20); every write and abort must repeat it. */
  uploadSecret: Uint8Array;
}

export interface MutableSecrets extends LeaseSecrets {
  writeEnabler: Uint8Array;
}

export type ShareKind = "immutable" | "mutable";

/** A GBS client for one storage server. Every call takes an optional AbortSignal and timeout. */
export interface StorageClient {
  /** The NURL with its swissnum hidden, as error messages and logs show it. */
  readonly server: string;
  version(options?: CallOptions): Promise<StorageVersion>;
  listImmutableShares(si: StorageIndex, options?: CallOptions): Promise<number[]>;
  /**
   * Reserves space for new immutable shares and adds or renews leases on existing ones. Throws
   * TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL when it gained none of the requested shares and the server
   * reports less space than `allocatedSize`.
   */
  allocate(si: StorageIndex, request: AllocateRequest, options?: CallOptions): Promise<AllocateResult>;
  /** `data` may be several pieces, sent back to back as one body without joining them. */
  write(
    si: StorageIndex,
    shnum: number,
    offset: number,
    data: Uint8Array | readonly Uint8Array[],
    uploadSecret: Uint8Array,
    options?: CallOptions,
  ): Promise<WriteResult>;
  abort(si: StorageIndex, shnum: number, uploadSecret: Uint8Array, options?: CallOptions): Promise<void>;
  /**
   * Up to `length` bytes from `offset`; shorter (or empty) where the share ends. The bytes are
   * the reply's own buffer: nothing else holds it, so the caller may free it (freeNow).
   */
  read(
    si: StorageIndex,
    shnum: number,
    offset: number,
    length: number,
    options?: CallOptions,
  ): Promise<Uint8Array>;
  adviseCorrupt(
    kind: ShareKind,
    si: StorageIndex,
    shnum: number,
    reason: string,
    options?: CallOptions,
  ): Promise<void>;
  addOrRenewLease(si: StorageIndex, secrets: LeaseSecrets, options?: CallOptions): Promise<void>;
  readTestWrite(
    si: StorageIndex,
    secrets: MutableSecrets,
    request: ReadTestWriteRequest,
    options?: CallOptions,
  ): Promise<ReadTestWriteResult>;
  listMutableShares(si: StorageIndex, options?: CallOptions): Promise<number[]>;
  readMutable(
    si: StorageIndex,
    shnum: number,
    offset: number,
    length: number,
    options?: CallOptions,
  ): Promise<Uint8Array>;
  /** Waits for calls in flight, then closes every connection; later calls fail with _CLOSED. */
  close(): Promise<void>;
}
