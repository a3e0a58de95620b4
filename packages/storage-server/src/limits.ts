/**
 * Request body limits. Allocate, corruption-advisory and default sizes are Tahoe-LAFS's;
 * read-test-write and PATCH are lower than Tahoe's (2^48 and unlimited) because this
 * server holds a read-test-write body, and a PATCH that overlaps bytes already written,
 * in memory (other PATCHes go to disk as they arrive): a Tahoe client's PATCH is about
 * 1 MB, and its read-test-write carries one mutable share, which the same cap bounds.
 */
export const LIMITS = {
  allocateBody: 8192,
  corruptBody: 32768,
  readTestWriteBody: 64 * 1024 * 1024,
  patchBody: 64 * 1024 * 1024,
} as const;
