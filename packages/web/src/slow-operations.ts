import { CHECKS_AT_ONCE, checkNode, type DeepCheckArgs, DeepCheckTally } from "./deep-check-results.js";
import { DeepStats } from "./deep-stats.js";
import { inWalkOrder, type WalkedNode } from "./deep-walk.js";
import { WebError } from "./errors.js";
import type { TrackedOperation } from "./operation-table.js";
import type { WebDirectory } from "./web-node.js";

/** The four slow operations of Tahoe's web API (`POST DIR?t=start-...&ophandle=`). */
export type OperationKind = "deep-check" | "manifest" | "deep-size" | "deep-stats";

/** Results one operation keeps before it gives up (manifest entries, unhealthy objects). */
export const DEFAULT_MAX_OPERATION_ITEMS = 100_000;

interface ManifestResults {
  readonly entries: [readonly string[], string][];
  readonly verifycaps: Set<string>;
  readonly storageIndexes: Set<string>;
}

/** A running or finished operation: what it found so far, and how it ended. */
export interface SlowOperation extends TrackedOperation {
  readonly kind: OperationKind;
  /** The root directory's storage index ("" for a DIR2-LIT root). */
  readonly origin: string;
  readonly stats: DeepStats;
  readonly tally?: DeepCheckTally | undefined;
  readonly manifest?: ManifestResults | undefined;
  /** Set when the operation failed (not when it was cancelled). */
  readonly failure: unknown;
  readonly cancelled: boolean;
}

export interface StartArgs {
  readonly kind: OperationKind;
  readonly root: WebDirectory;
  /** Opens a child directory under the operation's own signal. */
  readonly open: (cap: string, signal: AbortSignal) => Promise<WebDirectory>;
  /** For deep-check: the node, and repair/verify/add-lease (the signal is the operation's). */
  readonly check?: Omit<DeepCheckArgs, "options"> & { verify: boolean; addLease: boolean };
  readonly maxItems?: number | undefined;
}

function tooLarge(kind: OperationKind, max: number): WebError {
  return new WebError(
    "TAHOE_ERR_WEB_OPERATION_TOO_LARGE",
    507,
    `t=start-${kind} stopped: the tree holds more than ${max} objects to keep for the results`,
    {
      hint:
        kind === "manifest"
          ? "Use POST DIR?t=stream-manifest (tahoe manifest), which keeps nothing."
          : "Use POST DIR?t=stream-deep-check (tahoe deep-check), which keeps nothing.",
    },
  );
}

/**
 * Starts `kind` over the tree under `root` in the background and answers at once; the walk is
 * Tahoe's deep_traverse (deep-walk.ts), checks run CHECKS_AT_ONCE at a time. What it keeps is
 * bounded by `maxItems`: past it the operation fails with TAHOE_ERR_WEB_OPERATION_TOO_LARGE.
 */
export function startOperation(args: StartArgs): SlowOperation {
  const controller = new AbortController();
  const signal = controller.signal;
  const max = args.maxItems ?? DEFAULT_MAX_OPERATION_ITEMS;
  const origin = (args.root.verifyCap ?? "").split(":")[2] ?? "";
  const stats = new DeepStats();
  const check = args.check;
  const tally =
    args.kind === "deep-check" ? new DeepCheckTally(check?.repair === true, origin, max) : undefined;
  const manifest: ManifestResults | undefined =
    args.kind === "manifest" ? { entries: [], verifycaps: new Set(), storageIndexes: new Set() } : undefined;
  const open = (cap: string) => args.open(cap, signal);

  const op = {
    kind: args.kind,
    origin,
    stats,
    tally,
    manifest,
    finished: false,
    failure: undefined as unknown,
    cancelled: false,
    cancel() {
      if (op.finished) return;
      op.cancelled = true;
      controller.abort();
    },
    done: Promise.resolve(),
  };

  let work: (n: WalkedNode) => Promise<void> = async () => {};
  let atOnce = 1;
  if (tally !== undefined && check !== undefined) {
    const checkArgs: DeepCheckArgs = {
      node: check.node,
      repair: check.repair,
      options: { verify: check.verify, addLease: check.addLease, signal },
    };
    atOnce = CHECKS_AT_ONCE;
    work = async (n) => {
      tally.add(n.path, await checkNode(n, checkArgs));
      if (tally.truncated) throw tooLarge(args.kind, max);
    };
  } else if (manifest !== undefined) {
    work = async (n) => {
      if (manifest.entries.length >= max) throw tooLarge(args.kind, max);
      manifest.entries.push([n.path, n.cap]);
      if (n.verifycap !== "") manifest.verifycaps.add(n.verifycap);
      if (n.storageIndex !== "") manifest.storageIndexes.add(n.storageIndex);
    };
  }

  async function run(): Promise<void> {
    for await (const _ of inWalkOrder(args.root, open, stats, work, atOnce, signal)) {
      // The answers are kept by `work`; the walk order only paces it.
    }
    if (tally !== undefined) tally.stats = stats.results();
  }
  op.done = run().then(
    () => {
      op.finished = true;
    },
    (error: unknown) => {
      op.finished = true;
      if (!op.cancelled) op.failure = error;
    },
  );
  return op;
}
