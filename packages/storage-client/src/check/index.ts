export { checkImmutable, type ImmutableCheckOptions } from "./immutable-check.js";
export { checkAndRepairImmutable, type ImmutableRepairOptions } from "./immutable-repair.js";
export { checkAndRepairMutable, checkMutable, type MutableCheckOptions } from "./mutable-check.js";
export type { CheckAndRepairResults, CheckOptions, CheckResults, CorruptShare } from "./results.js";
