import { PlacementRefusedError } from "./errors.js";
import type { Placement } from "./types.js";

/** For the uploader: throws PlacementRefusedError (every reason, headline first) unless `ok`. */
export function assertPlacementOk(placement: Placement): void {
  if (!placement.ok) throw new PlacementRefusedError(placement.refusals);
}
