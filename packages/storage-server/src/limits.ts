/**
 * Request body limits. Allocate, corruption-advisory and default sizes are Tahoe-LAFS's;
 * read-test-write and PATCH are lower than Tahoe's (2^48 and unlimited) because this
 * server holds a read-test-write body in memory (PATCH bodies go to disk, or are compared
 * with the disk, as they arrive): a Tahoe client's PATCH is about 1 MB, and its
 * read-test-write carries one mutable share, which the same cap bounds.
 */
export const LIMITS = {
  allocateBody: 8192,
  corruptBody: 32768,
  readTestWriteBody: 64 * 1024 * 1024,
  patchBody: 64 * 1024 * 1024,
  /**
   * The bytes one read-test-write may read back, summed over its read vectors and shares
   * after each is cut at the share's end. Tahoe's publisher reads a share's header and
   * prefix this way (well under 1 KiB); whole shares are read with GET.
   */
  readTestWriteReads: 1024 * 1024,
  /**
   * Read-test-write bodies held in memory at once, over all requests: a request waits for
   * its Content-Length (or the body limit, without one) to fit before its body is read.
   */
  bufferedBodies: 64 * 1024 * 1024,
} as const;

/** Time limits, in ms; the server's options can shorten the first (tests do). */
export const TIMEOUTS = {
  /** A request body that sends nothing for this long fails with 408 and frees what it held. */
  bodyIdle: 30_000,
  /** A read-test-write body waits at most this long for room in `LIMITS.bufferedBodies` (then 503). */
  bufferedBodyWait: 30_000,
} as const;

/**
 * The share of space one upload secret may reserve with allocate: half of what is free
 * for new shares (net of `reserved_space` and other uploads' reservations) plus what that
 * secret already holds. Shares that do not fit are left out of `allocated`, as Tahoe
 * leaves out shares that do not fit in the free space.
 */
export const RESERVATION_FRACTION = 0.5;
