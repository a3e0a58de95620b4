import type { ADVISORY_LIMITS, AdvisoryRecord, AdvisoryTally } from "./advisories.js";
import type { CorruptShareRecord } from "./corruption-log.js";
import type { LeaseCrawlerStatus } from "./lease-crawler.js";

/** What a running storage server reports to its operator (the welcome page, `/?t=json`). */
export interface StorageServerStatus {
  /** Share files found damaged since start; they stay on disk untouched. At most 1000 records are listed. */
  corruptShares: { count: number; records: CorruptShareRecord[] };
  /** Advisories clients sent about this server's shares, as kept in storage/corruption-advisories. */
  corruptionAdvisories: AdvisoryTally & {
    limits: { [K in keyof typeof ADVISORY_LIMITS]: number };
    /** The newest advisories (at most 20), newest first; absent before `start`. */
    recent?: AdvisoryRecord[];
  };
  /** The lease crawler (expiry); absent before `start`. */
  leaseCrawler?: LeaseCrawlerStatus;
}
