import type { Logger } from "@lafs/interface";
import { mutableLeaseSecrets, writeEnablerFor } from "@lafs/mutable";
import type { CallOptions, MutableSecrets } from "../client.js";
import type { UploadServer } from "../grid-server.js";
import { connectedInPermutedOrder, SHARE_QUERY_TIMEOUT_MS } from "../server-selection.js";
import { mutableError } from "./errors.js";

/** Where and how mutable files are read and written; the immutable uploader's server list. */
export interface MutableGridOptions {
  readonly servers: readonly UploadServer[];
  /** The node's private/secret (32 bytes): the root of every lease secret. */
  readonly leaseSecret: Uint8Array;
  /** The encoding in effect for new files (an existing file keeps its own k and N). */
  readonly k: number;
  /** Not used for mutable files (Tahoe ignores it too); kept so callers pass one set of parameters. */
  readonly happy: number;
  readonly n: number;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
  /** Timeout of each servermap query (list and first read of a server's shares); default 15 s. */
  readonly queryTimeoutMs?: number | undefined;
  /** Largest contents a publish accepts; default MAX_MUTABLE_FILE_SIZE (128 MiB). */
  readonly maxSize?: number | undefined;
}

/** The servers a mutable operation may use, in the permuted order of the storage index. */
export function usableServers(storageIndex: Uint8Array, servers: readonly UploadServer[]): UploadServer[] {
  return connectedInPermutedOrder(storageIndex, servers).filter((s) => s.allowed !== false);
}

export function callOptions(
  server: UploadServer,
  signal: AbortSignal | undefined,
  timeoutMs?: number,
): CallOptions {
  const call: CallOptions = {};
  if (signal) call.signal = signal;
  if (server.lost) call.serverLost = server.lost;
  if (timeoutMs !== undefined) call.timeoutMs = timeoutMs;
  return call;
}

export function queryTimeout(options: { readonly queryTimeoutMs?: number | undefined }): number {
  return options.queryTimeoutMs ?? SHARE_QUERY_TIMEOUT_MS;
}

export function checkLeaseSecret(leaseSecret: Uint8Array): void {
  if (!(leaseSecret instanceof Uint8Array) || leaseSecret.length !== 32) {
    throw mutableError(
      "TAHOE_ERR_MUTABLE_ARGUMENT",
      `the lease secret is ${leaseSecret instanceof Uint8Array ? leaseSecret.length : typeof leaseSecret} bytes, not 32`,
      "Pass the decoded contents of BASEDIR/private/secret (32 bytes).",
    );
  }
}

/** The write enabler and lease secrets one server gets for one slot (wire-formats §2.13, spec §1.2). */
export function slotSecrets(
  server: UploadServer,
  storageIndex: Uint8Array,
  writeEnablerMaster: Uint8Array,
  leaseSecret: Uint8Array,
): MutableSecrets {
  const lease = mutableLeaseSecrets(leaseSecret, storageIndex, server.leaseSeed);
  return {
    writeEnabler: writeEnablerFor(writeEnablerMaster, server.leaseSeed),
    renewSecret: lease.renewSecret,
    cancelSecret: lease.cancelSecret,
  };
}
