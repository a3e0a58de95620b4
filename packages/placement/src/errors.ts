import { type ErrorCode, TahoeError } from "@lafs/interface";
import type { PlacementRefusal } from "./types.js";

/** A caller handed placement something impossible (bad k/happy/N, share number, server list). */
export class PlacementInputError extends TahoeError {}

/**
 * Thrown by an uploader whose placement was refused; it carries the same words the
 * control panel and simulator show. The headline is the message's first line.
 */
export class PlacementRefusedError extends TahoeError {
  readonly refusals: readonly PlacementRefusal[];

  constructor(refusals: readonly PlacementRefusal[]) {
    const headline = refusals[0];
    if (!headline) throw new TypeError("PlacementRefusedError needs at least one refusal");
    const code: ErrorCode = headline.code;
    super(code, refusals.map((r) => r.message).join("\n"), { hint: headline.hint });
    this.refusals = refusals;
  }
}
