/** One storage server as the uploader (or the simulator) sees it at upload time. */
export interface PlacementServer {
  /** The server id, `v0-` + 52 base32 characters for a lafs-ts or Tahoe 1.20 server. */
  readonly id: string;
  readonly nickname?: string | undefined;
  /** The bytes hashed with the storage index to order servers; see `permutationSeedFor`. */
  readonly permutationSeed: Uint8Array;
  readonly connected: boolean;
  /** False when the server is read-only or full: it may keep shares but takes no new ones. */
  readonly writable: boolean;
  /** Share numbers of this storage index the server already holds. */
  readonly existingShares?: readonly number[] | undefined;
  /** The user's "allowed" tick; default true. A server that is not allowed is never used. */
  readonly allowed?: boolean | undefined;
  /** The user's "required" tick; default false. Uploads stop unless it gets a share. */
  readonly required?: boolean | undefined;
}

export interface PlacementRequest {
  /** The 16-byte storage index of the file. */
  readonly storageIndex: Uint8Array;
  readonly servers: readonly PlacementServer[];
  /** shares.needed: any k shares rebuild the file. */
  readonly k: number;
  /** shares.happy: the servers-of-happiness an upload must reach. */
  readonly happy: number;
  /** shares.total: shares numbered 0..n-1. */
  readonly n: number;
}

/** Why a server can or cannot be used, in the order of precedence. */
export type ServerState = "not-allowed" | "not-connected" | "read-only" | "writable";

/** What placement decided for one server; `Placement.servers` lists them in permuted order. */
export interface ServerPlan {
  readonly id: string;
  readonly nickname: string | undefined;
  /** `'nickname' (v0-abcdefgh…)`, the form every message uses. */
  readonly label: string;
  /** 0-based position in the permuted order of every server given. */
  readonly rank: number;
  readonly state: ServerState;
  readonly allowed: boolean;
  readonly required: boolean;
  /** The uploader talks to this server (allocates, or renews what it holds). */
  readonly candidate: boolean;
  /** Shares to upload to this server. */
  readonly newShares: readonly number[];
  /** Shares the server already holds that count and get their leases renewed. */
  readonly keptShares: readonly number[];
  /** Shares the server holds that do not count: the server is not allowed or not connected. */
  readonly ignoredShares: readonly number[];
  /** The share this server is counted for in the maximum matching, if any. */
  readonly matchedShare: number | undefined;
}

export type PlacementRefusalCode =
  | "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_ALLOWED"
  | "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED"
  | "TAHOE_ERR_PLACEMENT_REQUIRED_READ_ONLY"
  | "TAHOE_ERR_PLACEMENT_NO_SERVERS"
  | "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_ALLOWED"
  | "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_CONNECTED"
  | "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_WRITABLE"
  | "TAHOE_ERR_PLACEMENT_TOO_FEW_SERVERS"
  | "TAHOE_ERR_PLACEMENT_NOT_SPREAD"
  | "TAHOE_ERR_PLACEMENT_UNHAPPY";

/** One reason an upload may not go ahead, as data: the same words in web, CLI and simulator. */
export interface PlacementRefusal {
  readonly code: PlacementRefusalCode;
  readonly message: string;
  readonly hint: string;
  /** Ids of the servers the message names (empty when it is about counts only). */
  readonly servers: readonly string[];
}

export interface Placement {
  /** True when the upload may go ahead: happiness >= happy and every required server has a share. */
  readonly ok: boolean;
  /** The size of a maximum matching between servers and shares, over kept and new shares. */
  readonly happiness: number;
  readonly k: number;
  readonly happy: number;
  readonly n: number;
  /** Every server given, in permuted order for this storage index. */
  readonly servers: readonly ServerPlan[];
  /** How many servers hold or will hold at least one share (Tahoe's peer count). */
  readonly serversWithShares: number;
  /** Shares that no server holds or will hold (only when no server can take new shares). */
  readonly homelessShares: readonly number[];
  /** Every reason the upload is refused, headline first; empty when `ok`. */
  readonly refusals: readonly PlacementRefusal[];
}
