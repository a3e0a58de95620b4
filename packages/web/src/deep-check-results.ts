import { jsonCheckResults } from "./check-routes.js";
import type { DeepStatsResults } from "./deep-stats.js";
import type { WalkedNode } from "./deep-walk.js";
import { WebError } from "./errors.js";
import type { WebCheckAndRepairResults, WebCheckOptions, WebCheckResults, WebNode } from "./web-node.js";

/** How many checks run at once: each asks every server, so a few keep the grid busy enough. */
export const CHECKS_AT_ONCE = 4;

/** One node's outcome: undefined for LIT and unknown nodes, which Tahoe does not check. */
export type NodeCheck =
  | { readonly kind: "check"; readonly results: WebCheckResults }
  | { readonly kind: "repair"; readonly results: WebCheckAndRepairResults }
  | undefined;

export interface DeepCheckArgs {
  readonly node: WebNode;
  readonly repair: boolean;
  readonly options: WebCheckOptions;
}

/** A 501 before anything starts, when the node has no checker. */
export function assertCanCheck(a: Pick<DeepCheckArgs, "node" | "repair">, what: string): void {
  if ((a.repair ? a.node.checkAndRepairFile : a.node.checkFile) === undefined) {
    throw new WebError("TAHOE_ERR_WEB_NOT_SUPPORTED", 501, `${what} is not supported by this node`, {
      hint: "Run a node built with the checker (apps/node).",
    });
  }
}

/** Checks (or checks and repairs) one walked node; an unknown node is not checked, as in Tahoe. */
export async function checkNode(n: WalkedNode, a: DeepCheckArgs): Promise<NodeCheck> {
  if (n.type === "unknown") return undefined;
  if (a.repair) {
    const check = a.node.checkAndRepairFile as NonNullable<WebNode["checkAndRepairFile"]>;
    const results = await check(n.checkCap, a.options);
    return results.storageIndex === "" ? undefined : { kind: "repair", results };
  }
  const check = a.node.checkFile as NonNullable<WebNode["checkFile"]>;
  const results = await check(n.checkCap, a.options);
  return results.storageIndex === "" ? undefined : { kind: "check", results };
}

type CorruptShare = WebCheckResults["corruptShares"][number];

const shareRow = (c: CorruptShare) => [c.serverId, c.storageIndex, c.shareNumber];

/** One unhealthy object kept for the results page. */
export interface UnhealthyObject {
  readonly path: readonly string[];
  readonly results: WebCheckResults;
  /** After repair, when one ran. */
  readonly post?: WebCheckResults | undefined;
}

/**
 * Tahoe's DeepCheckResults and DeepCheckAndRepairResults (check_results.py): the counters, the
 * corrupt shares before and after repair, and the objects that were unhealthy. Healthy objects
 * are counted, not kept, so a large tree costs memory only for its problems; `maxKept` bounds
 * those too (past it, counting goes on and `truncated` says so).
 */
export class DeepCheckTally {
  checked = 0;
  healthy = 0;
  unhealthy = 0;
  unrecoverable = 0;
  postHealthy = 0;
  postUnhealthy = 0;
  postUnrecoverable = 0;
  repairsAttempted = 0;
  repairsSuccessful = 0;
  corrupt: CorruptShare[] = [];
  corruptPost: CorruptShare[] = [];
  corruptCount = 0;
  corruptPostCount = 0;
  readonly problems: UnhealthyObject[] = [];
  truncated = false;
  stats: DeepStatsResults | undefined;

  constructor(
    readonly repair: boolean,
    readonly rootStorageIndex: string,
    private readonly maxKept: number,
  ) {}

  private keep<T>(list: T[], item: T): void {
    if (list.length < this.maxKept) list.push(item);
    else this.truncated = true;
  }

  add(path: readonly string[], outcome: NodeCheck): void {
    if (outcome === undefined) return;
    const pre = outcome.kind === "repair" ? outcome.results.preRepair : outcome.results;
    this.checked += 1;
    if (pre.healthy) this.healthy += 1;
    else this.unhealthy += 1;
    if (!pre.recoverable) this.unrecoverable += 1;
    this.corruptCount += pre.corruptShares.length;
    for (const c of pre.corruptShares) this.keep(this.corrupt, c);
    if (outcome.kind === "check") {
      if (!pre.healthy) this.keep(this.problems, { path, results: pre });
      return;
    }
    const r = outcome.results;
    if (r.repairAttempted) {
      this.repairsAttempted += 1;
      if (r.repairSuccessful) this.repairsSuccessful += 1;
    }
    if (r.postRepair.healthy) this.postHealthy += 1;
    else this.postUnhealthy += 1;
    if (!r.postRepair.recoverable) this.postUnrecoverable += 1;
    this.corruptPostCount += r.postRepair.corruptShares.length;
    for (const c of r.postRepair.corruptShares) this.keep(this.corruptPost, c);
    if (!pre.healthy) this.keep(this.problems, { path, results: pre, post: r.postRepair });
  }

  /** Tahoe's DeepCheckResultsRenderer.render_JSON (or the check-and-repair one). */
  json(finished: boolean): Record<string, unknown> {
    const data: Record<string, unknown> = {
      finished,
      "root-storage-index": this.rootStorageIndex === "" ? "<none>" : this.rootStorageIndex,
      "count-objects-checked": this.checked,
    };
    if (!this.repair) {
      Object.assign(data, {
        "count-objects-healthy": this.healthy,
        "count-objects-unhealthy": this.unhealthy,
        "count-objects-unrecoverable": this.unrecoverable,
        "count-corrupt-shares": this.corruptCount,
      });
    } else {
      Object.assign(data, {
        "count-objects-healthy-pre-repair": this.healthy,
        "count-objects-unhealthy-pre-repair": this.unhealthy,
        "count-objects-unrecoverable-pre-repair": this.unrecoverable,
        "count-objects-healthy-post-repair": this.postHealthy,
        "count-objects-unhealthy-post-repair": this.postUnhealthy,
        "count-objects-unrecoverable-post-repair": this.postUnrecoverable,
        "count-repairs-attempted": this.repairsAttempted,
        "count-repairs-successful": this.repairsSuccessful,
        "count-repairs-unsuccessful": this.repairsAttempted - this.repairsSuccessful,
        "count-corrupt-shares-pre-repair": this.corruptCount,
        // Tahoe 1.20 repeats the pre-repair count here (a slip in render_JSON); this is the real one.
        "count-corrupt-shares-post-repair": this.corruptPostCount,
      });
    }
    data["list-corrupt-shares"] = this.corrupt.map(shareRow);
    if (this.repair) data["list-remaining-corrupt-shares"] = this.corruptPost.map(shareRow);
    data["list-unhealthy-files"] = this.problems.map((p) => [p.path, jsonCheckResults(p.results)]);
    data.stats = this.stats ?? {};
    return data;
  }
}
