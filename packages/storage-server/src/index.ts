export type { AdvisoryRecord } from "./advisories.js";
export { authorizationValue, type SecretKind } from "./auth.js";
export { blake2b } from "./blake2b.js";
export type {
  CrawlerCorruptShare,
  CycleTally,
  FinishedCycle,
  ShareTally,
  SpaceCategory,
  SpaceCounts,
  SpaceRecovered,
} from "./crawler-state.js";
export { isStorageServerError, StorageServerError, type StorageServerErrorCode } from "./errors.js";
export {
  IMMUTABLE_CONTAINER_VERSION,
  IMMUTABLE_HEADER_SIZE,
  IMMUTABLE_LEASE_SIZE,
} from "./immutable-container.js";
export { UPLOAD_IDLE_TIMEOUT_MS } from "./immutable-store.js";
export { CRAWLER_STATE_FILE, type LeaseCrawlerPacing, type LeaseCrawlerStatus } from "./lease-crawler.js";
export type { LeaseExpiryPolicy } from "./lease-expiry.js";
export { LEASE_DURATION_SECONDS } from "./leases.js";
export { LIMITS } from "./limits.js";
export { MUTABLE_DATA_OFFSET, MUTABLE_MAGIC_V1, MUTABLE_MAGIC_V2 } from "./mutable-container.js";
export type { StorageServerOptions } from "./options.js";
export { storageServerPlugin } from "./plugin.js";
export { type CreateStorageServerOptions, createStorageServer, type StorageServer } from "./server.js";
export type { StorageServerStatus } from "./status.js";
