import type { ADVISORY_LIMITS, AdvisoryTally } from "./advisories.js";
import type { CorruptShareRecord } from "./corruption-log.js";

/** What a running storage server reports to its operator (the welcome page, `/?t=json`). */
export interface StorageServerStatus {
  /** Share files found damaged since start; they stay on disk untouched. At most 1000 records are listed. */
  corruptShares: { count: number; records: CorruptShareRecord[] };
  /** Advisories clients sent about this server's shares, as kept in storage/corruption-advisories. */
  corruptionAdvisories: AdvisoryTally & { limits: { [K in keyof typeof ADVISORY_LIMITS]: number } };
}
