import type { StorageClient } from "./client.js";

/** A storage server as the downloader sees it: who it is, where it sorts, how to reach it. */
export interface GridServer {
  /** The server id, `v0-…`. */
  readonly id: string;
  readonly nickname?: string | undefined;
  /** What SHA1(storage index ‖ seed) orders servers by (@lafs/placement `permutationSeedFor`). */
  readonly permutationSeed: Uint8Array;
  readonly client: StorageClient;
  /** False when the node has no connection to it now: it is neither asked nor used. */
  readonly connected: boolean;
  /**
   * Aborted once the node's liveness probe finds the server not answering (GET /version failed
   * or timed out). Transfers cancel their calls to it at once and go on with other servers.
   */
  readonly lost?: AbortSignal | undefined;
}

/** A storage server as the uploader sees it; the node builds these from its server list. */
export interface UploadServer extends GridServer {
  /** The server's 20-byte Foolscap tub id, the seed of its lease secrets (wire-formats §2.13). */
  readonly leaseSeed: Uint8Array;
  /** The user's allowed tick (servers-allowed); default true. */
  readonly allowed?: boolean | undefined;
  /** The user's required tick (servers-required); default false. */
  readonly required?: boolean | undefined;
  /** From the server's version reply; a server that cannot hold a share this large is read-only for it. */
  readonly maximumImmutableShareSize?: number | undefined;
}
