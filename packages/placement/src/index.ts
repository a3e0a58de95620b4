export { assertPlacementOk } from "./assert.js";
export { base32Decode, base32Encode } from "./base32.js";
export { PlacementInputError, PlacementRefusedError } from "./errors.js";
export { happinessOf, type Matching, maximumMatching } from "./matching.js";
export { permutationKey, permutationSeedFor, permutedOrder } from "./permutation.js";
export { placeShares } from "./placement.js";
export { serverLabel, shortServerId } from "./server-label.js";
export type {
  Placement,
  PlacementRefusal,
  PlacementRefusalCode,
  PlacementRequest,
  PlacementServer,
  ServerPlan,
  ServerState,
} from "./types.js";
export { MAX_SHARES, STORAGE_INDEX_BYTES, validatePlacementRequest } from "./validate.js";
