import { WebError } from "./errors.js";

const SECOND = 1000;
const DAY = 24 * 60 * 60 * SECOND;

/** Tahoe's OphandleTable.UNCOLLECTED_HANDLE_LIFETIME: a finished operation nobody asked about. */
export const UNCOLLECTED_LIFETIME_MS = 4 * DAY;
/** Tahoe's COLLECTED_HANDLE_LIFETIME: kept this long after a GET has seen it finished. */
export const COLLECTED_LIFETIME_MS = 1 * DAY;
/** Handles one node keeps at once (Tahoe has no limit; a CLI uses one at a time). */
export const DEFAULT_MAX_OPERATIONS = 64;
/** An ophandle is a name a client picks (the CLI: 26 base32 characters). */
const MAX_OPHANDLE_LENGTH = 200;

/** What the table needs of a running or finished operation. */
export interface TrackedOperation {
  readonly finished: boolean;
  /** Stops the work; what it found so far stays readable. */
  cancel(): void;
  /** Resolves when the work ends, however it ends. */
  readonly done: Promise<void>;
}

interface Entry<T extends TrackedOperation> {
  readonly operation: T;
  readonly addedAt: number;
  /** When the handle is released; none while it runs without retain-for=. */
  expiresAt: number | undefined;
}

/** An ophandle from the URL or query: short, printable, one path segment. */
export function checkOphandle(handle: string | undefined): string {
  const h = handle?.trim() ?? "";
  if (h === "") {
    throw new WebError("TAHOE_ERR_WEB_NEED_OPHANDLE", 400, "slow operation requires ophandle=", {
      hint: "Pick a handle (tahoe uses 26 random base32 characters): POST DIR?t=start-manifest&ophandle=H, then GET /operations/H.",
    });
  }
  if (h.length > MAX_OPHANDLE_LENGTH || !/^[\x21-\x7e]+$/.test(h) || h.includes("/")) {
    throw new WebError(
      "TAHOE_ERR_WEB_BAD_REQUEST",
      400,
      `ophandle=${JSON.stringify(h.slice(0, 40))} is not a usable handle`,
      { hint: `An ophandle is 1-${MAX_OPHANDLE_LENGTH} printable ASCII characters without '/'.` },
    );
  }
  return h;
}

/** Tahoe's `retain-for=SECONDS`, in ms; undefined when absent. */
export function retainForOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value.trim())) {
    throw new WebError(
      "TAHOE_ERR_WEB_BAD_REQUEST",
      400,
      `retain-for=${JSON.stringify(value.slice(0, 40))} is not a number of seconds`,
      { hint: "retain-for= takes a whole number of seconds (at most 999999999)." },
    );
  }
  return Number(value.trim()) * SECOND;
}

export function unknownHandle(handle: string): WebError {
  return new WebError("TAHOE_ERR_WEB_UNKNOWN_OPHANDLE", 404, `unknown/expired handle '${handle}'`, {
    hint: "A handle lasts 4 days after its operation ends, 1 day once a status request has seen it finished, or as retain-for= says; t=cancel and release-after-complete=true end it at once.",
  });
}

/**
 * Tahoe's OphandleTable (web/operations.py), one per node: slow operations by the handle the
 * client chose, released as Tahoe releases them. Expiry is kept as a time and applied whenever the
 * table is used, so no timer outlives the node; a handle released while its operation still runs
 * (retain-for= ran out) cancels it, since nobody could read its results any more. At most
 * `maxOperations` handles exist at once.
 */
export class OperationTable<T extends TrackedOperation> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly now: () => number,
    readonly maxOperations: number = DEFAULT_MAX_OPERATIONS,
  ) {}

  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  /** Refuses, before any work starts, when the table is full (a reused handle frees its place). */
  assertRoom(handle: string): void {
    this.sweep();
    if (this.entries.has(handle) || this.entries.size < this.maxOperations) return;
    throw new WebError(
      "TAHOE_ERR_WEB_TOO_MANY_OPERATIONS",
      503,
      `this node already keeps ${this.maxOperations} slow operations; refusing ophandle=${handle}`,
      {
        hint: "Collect finished ones with GET /operations/H?release-after-complete=true, or cancel them with POST /operations/H?t=cancel.",
      },
    );
  }

  /** Tahoe's add_monitor. A handle already in use is replaced; its operation is cancelled. */
  add(handle: string, operation: T, retainForMs?: number): void {
    this.assertRoom(handle);
    this.release(handle);
    const now = this.now();
    const entry: Entry<T> = {
      operation,
      addedAt: now,
      expiresAt: retainForMs === undefined ? undefined : now + retainForMs,
    };
    this.entries.set(handle, entry);
    void operation.done.then(() => {
      // Tahoe's _operation_complete: a client that gave no retain-for= gets the default lifetime.
      if (this.entries.get(handle) === entry && entry.expiresAt === undefined) {
        const t = this.now();
        entry.expiresAt = t + Math.max(UNCOLLECTED_LIFETIME_MS, t - entry.addedAt);
      }
    });
  }

  /**
   * Tahoe's getChild for a status request: retain-for= restarts the handle's clock; a finished
   * operation is released by release-after-complete=true, and otherwise kept one more day.
   * Returns the operation (still readable this once even when released).
   */
  collect(handle: string, options: { retainForMs?: number | undefined; releaseAfterComplete: boolean }): T {
    const entry = this.lookup(handle);
    if (options.retainForMs !== undefined) entry.expiresAt = this.now() + options.retainForMs;
    if (entry.operation.finished) {
      if (options.releaseAfterComplete) this.entries.delete(handle);
      else if (options.retainForMs === undefined) entry.expiresAt = this.now() + COLLECTED_LIFETIME_MS;
    }
    return entry.operation;
  }

  /** `POST /operations/H?t=cancel`: stops the work and releases the handle; answers the operation. */
  cancel(handle: string): T {
    const entry = this.lookup(handle);
    entry.operation.cancel();
    this.entries.delete(handle);
    return entry.operation;
  }

  /** Stops every operation (the node is stopping). */
  close(): void {
    for (const handle of [...this.entries.keys()]) this.release(handle);
  }

  private lookup(handle: string): Entry<T> {
    this.sweep();
    const entry = this.entries.get(handle);
    if (entry === undefined) throw unknownHandle(handle);
    return entry;
  }

  private release(handle: string): void {
    const entry = this.entries.get(handle);
    if (entry === undefined) return;
    this.entries.delete(handle);
    if (!entry.operation.finished) entry.operation.cancel();
  }

  private sweep(): void {
    const now = this.now();
    for (const [handle, entry] of this.entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.release(handle);
    }
  }
}
