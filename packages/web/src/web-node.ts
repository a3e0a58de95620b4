import type { WebAdvisory, WebLeaseCrawler } from "./storage-upkeep-view.js";
import type { WebTransfer } from "./transfer-log.js";

/** How a storage server shows on the welcome page; apps/node fills it from its server list. */
export interface WebServerInfo {
  id: string;
  nickname: string;
  connection: {
    state: "connected" | "connecting" | "disconnected";
    hint?: string;
    handler?: string;
    /** When the state began, in ms since the epoch. */
    since?: number;
    errors?: { hint: string; message: string }[];
  };
  /** When data last came from the server, in ms since the epoch. */
  lastReceived?: number;
  version?: string;
  availableSpace?: number;
  /** Where the node learned of the server: introducer petnames, or servers.yaml. */
  learnedFrom: string[];
}

/** A share file the node's storage server found damaged; it stays on disk for the operator. */
export interface WebCorruptShare {
  path: string;
  storageIndex: string;
  shareNumber: number;
  kind: "immutable" | "mutable" | "unknown";
  problem: string;
  /** ms since the epoch. */
  firstSeen: number;
}

/** The storage server's damage report: damaged share files, and corruption advisories clients sent. */
export interface WebStorageReport {
  corruptShares: { count: number; records: WebCorruptShare[] };
  corruptionAdvisories: { count: number; bytes: number; refused: number; recent?: WebAdvisory[] };
  /** Lease expiry: the policy, this cycle's progress and tally, finished cycles. */
  leaseCrawler?: WebLeaseCrawler;
}

export interface WebNodeStatus {
  nickname: string;
  nodeId: string;
  version: string;
  startedAt: number;
  introducers: { petname: string; state: string; since?: number }[];
  servers: WebServerInfo[];
  storage: {
    enabled: boolean;
    availableSpace?: number;
    /** What the node's own storage server reports; absent when it runs none. */
    report?: WebStorageReport;
  };
  /** Whether an upload could start now; Tahoe-LAFS leaves callers to guess when the grid is "connected enough". */
  uploads: { ready: boolean /** placement's words when not ready */; reason?: string };
  encoding: { k: number; happy: number; n: number };
  /** The node's Tor, when it uses one (transport's TorStatus); absent otherwise. */
  tor?: WebTorStatus;
}

/** What the node knows of its Tor: read through Tor's control port, or by a SOCKS greeting without one. */
export interface WebTorStatus {
  ready: boolean;
  via: "control-port" | "socks-probe";
  controlPort?: string | undefined;
  /** Unknown (absent) without a control port. */
  bootstrap?: { progress: number; summary: string; warning?: string | undefined } | undefined;
  networkDisabled?: boolean | undefined;
  socks: { endpoint?: string | undefined; reachable: boolean; error?: string | undefined };
  onion?: { address: string; descriptorUploaded: boolean; lastFailure?: string | undefined } | undefined;
  problem?: string | undefined;
  hint?: string | undefined;
  checkedAt: number;
}

export interface WebDownloadOptions {
  readonly signal: AbortSignal;
  /**
   * The request asks for part of the file (a Range other than bytes=0-): the node fetches only
   * the segments it touches, where for a whole small file it reads each share whole at once.
   */
  readonly partial?: boolean | undefined;
}

export interface WebDownload {
  size: number;
  read(
    range?: { start: number /** exclusive */; end: number },
    signal?: AbortSignal,
  ): AsyncIterable<Uint8Array>;
  /**
   * Every chunk read yields is a buffer of its own that nothing else holds, so the web front
   * frees it (freeNow) once the response has written it. Leave unset for shared chunks.
   */
  freshChunks?: boolean;
}

export interface WebUploadOptions {
  size?: number;
  signal: AbortSignal;
  /**
   * Every body chunk is a buffer of its own that nothing else holds (Node's HTTP parser copies
   * each), so the node may free it (freeNow) once it has stored it. Unset for chunks cut out of
   * something larger (a multipart part).
   */
  freshChunks?: boolean;
  /** The file's name when the form gave one, for the transfers page. */
  name?: string;
}

/** SDMF (one segment, `URI:SSK:`) or MDMF (segmented, updatable in place, `URI:MDMF:`). */
export type WebMutableFormat = "SDMF" | "MDMF";

/** The newest recoverable version of a mutable file, opened for reading. */
export interface WebMutableFile extends WebDownload {
  format: WebMutableFormat;
  /** Present when the file was opened with its write cap. */
  writeCap?: string | undefined;
  readCap: string;
  verifyCap: string;
}

/** One check's findings (storage-client's CheckResults), as t=check shows them. */
export interface WebCheckResults {
  readonly storageIndex: string;
  readonly summary: string;
  readonly healthy: boolean;
  readonly recoverable: boolean;
  readonly sharesGood: number;
  readonly sharesNeeded: number;
  readonly sharesExpected: number;
  readonly happiness: number;
  readonly goodShareHosts: number;
  readonly wrongShares: number;
  readonly corruptShares: readonly {
    readonly serverId: string;
    readonly storageIndex: string;
    readonly shareNumber: number;
  }[];
  readonly serversResponding: readonly string[];
  readonly sharemap: ReadonlyMap<number, readonly string[]>;
  /** Mutable: Tahoe's share ids are `${shareIdPrefix}sh${shnum}` (seq1-abcd-sh0). */
  readonly shareIdPrefix?: string | undefined;
  readonly recoverableVersions: number;
  readonly unrecoverableVersions: number;
}

/** t=check&repair=true: the check before, what repair did, the check after. */
export interface WebCheckAndRepairResults {
  readonly storageIndex: string;
  readonly repairAttempted: boolean;
  readonly repairSuccessful: boolean;
  readonly preRepair: WebCheckResults;
  readonly postRepair: WebCheckResults;
  readonly repairProblem?: string | undefined;
}

export interface WebCheckOptions {
  readonly verify: boolean;
  readonly addLease: boolean;
  readonly signal: AbortSignal;
}

/** What the web front needs from the node; apps/node implements it, tests use an in-memory one. */
export interface WebNode {
  status(): WebNodeStatus;
  /**
   * Uploads an immutable file; size when known (Content-Length), else the node spools. Throws TahoeErrors
   * (e.g. placement refusal) whose code/message/hint the web API shows.
   */
  upload(body: AsyncIterable<Uint8Array>, options: WebUploadOptions): Promise<{ cap: string }>;
  openDownload(cap: string, options: WebDownloadOptions): Promise<WebDownload>;
  /**
   * Creates a mutable file (seqnum 1) holding the body; answers its write cap. The RSA key is new,
   * or the caller's (`privateKey`, PKCS#8 DER: Tahoe's `private-key=`).
   */
  createMutable(
    body: AsyncIterable<Uint8Array>,
    options: WebUploadOptions & { format: WebMutableFormat; privateKey?: Uint8Array | undefined },
  ): Promise<{ cap: string }>;
  /** Opens a mutable file by its write or read cap (TahoeErrors for a verify cap or too few shares). */
  openMutable(cap: string, options: { signal: AbortSignal }): Promise<WebMutableFile>;
  /** Replaces a mutable file's contents (test-and-set: a collision is a TahoeError, nothing lost). */
  overwriteMutable(
    writeCap: string,
    body: AsyncIterable<Uint8Array>,
    options: WebUploadOptions,
  ): Promise<{ cap: string }>;
  /** t=check on a file (LIT answers without servers); absent on nodes that cannot check (501). */
  checkFile?(cap: string, options: WebCheckOptions): Promise<WebCheckResults>;
  /** t=check&repair=true on a file. */
  checkAndRepairFile?(cap: string, options: WebCheckOptions): Promise<WebCheckAndRepairResults>;
  /** Writes the body at `offset` (at most the file's size; MDMF rewrites only the touched segments). */
  updateMutable(
    writeCap: string,
    offset: number,
    body: AsyncIterable<Uint8Array>,
    options: WebUploadOptions,
  ): Promise<{ cap: string }>;
  /** Running and recent uploads and downloads for /status (a TransferLog's list); none when absent. */
  transfers?(): WebTransfer[];
  /** The node's aliases (private/aliases, and `tahoe` from private/root_dir.cap) for the welcome page. */
  aliases?(): Promise<readonly WebAlias[]>;
  /** Directories (@lafs/directory); absent on a node without them. */
  directories?: WebDirectories | undefined;
}

/** One line of private/aliases: a name and its directory cap. */
export interface WebAlias {
  name: string;
  cap: string;
}

/** A directory entry as the node's directory layer gives it (@lafs/directory's DirectoryEntry). */
export interface WebDirectoryEntry {
  readonly name: string;
  readonly writeCap?: string | undefined;
  readonly readCap?: string | undefined;
  readonly metadata: Record<string, unknown>;
  readonly kind: "dirnode" | "filenode" | "unknown";
  readonly mutable?: boolean | undefined;
}

/** What a caller links: a cap or two, and metadata (Tahoe's set_uri / set_children). */
export interface WebDirectoryChild {
  readonly writeCap?: string | undefined;
  readonly readCap?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/** Tahoe-LAFS's `replace=`: true (the default), false (409 when the name exists), or only-files. */
export type WebReplace = boolean | "only-files";

/**
 * An opened directory (@lafs/directory's DirectoryHandle): every edit is a read-modify-publish
 * loop in the node, so two writers never lose an entry. TahoeErrors TAHOE_ERR_DIRECTORY_* for a
 * missing child, an existing name, a read-only directory.
 */
export interface WebDirectory {
  readonly cap: string;
  readonly readCap: string;
  /** Undefined for DIR2-LIT, which has none. */
  readonly verifyCap: string | undefined;
  readonly writable: boolean;
  readonly format: "SDMF" | "MDMF" | "CHK" | "LIT";
  list(): Promise<readonly WebDirectoryEntry[]>;
  /** list() with the packed directory's length (Tahoe's dirnode.get_size), for deep-stats. */
  listWithSize?(): Promise<{ entries: readonly WebDirectoryEntry[]; size: number }>;
  get(name: string): Promise<WebDirectoryEntry | undefined>;
  set(name: string, child: WebDirectoryChild, opts?: { replace?: WebReplace }): Promise<void>;
  /** Several children in one edit (Tahoe's set_children): all of them are linked, or none. */
  setMany(
    children: readonly (WebDirectoryChild & { name: string })[],
    opts?: { replace?: WebReplace },
  ): Promise<void>;
  delete(name: string): Promise<WebDirectoryEntry>;
  rename(
    from: string,
    to: string,
    opts?: { replace?: WebReplace; toDirectory?: WebDirectory },
  ): Promise<void>;
}

/** The node's directories; a WebNode without them answers the directory calls with 501. */
export interface WebDirectories {
  create(options: {
    format: WebMutableFormat;
    children?: readonly (WebDirectoryChild & { name: string })[];
    signal: AbortSignal;
  }): Promise<{ writeCap: string; readCap: string }>;
  /** Every child must be immutable (CHK, LIT, DIR2-CHK, DIR2-LIT). */
  createImmutable(options: {
    children: readonly (WebDirectoryChild & { name: string })[];
    signal: AbortSignal;
  }): Promise<{ cap: string }>;
  open(cap: string, options: { signal: AbortSignal }): Promise<WebDirectory>;
}
