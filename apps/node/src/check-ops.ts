import type { Logger } from "@lafs/interface";
import {
  checkAndRepairImmutable,
  checkAndRepairMutable,
  checkImmutable,
  checkMutable,
  type UploadServer,
} from "@lafs/storage-client";
import type { WebNode } from "@lafs/web";

interface Encoding {
  k: number;
  happy: number;
  n: number;
}

export interface CheckOpsOptions {
  readonly leaseSecret: Uint8Array;
  readonly encoding: { last(): Encoding; read(): Promise<Encoding> };
  /** Every server, for reading: who holds what is asked of all of them. */
  readonly readServers: () => UploadServer[];
  /** The servers new shares may go to: the allowed/required flags applied. */
  readonly writeServers: (encoding: Encoding) => Promise<UploadServer[]>;
  readonly logger: Logger;
}

function isMutableCap(cap: string): boolean {
  return /^URI:(SSK|MDMF)(-RO|-Verifier)?:/.test(cap.trim());
}

/** The web API's t=check for files: check/verify/add-lease and repair, immutable or mutable. */
export function createCheckOps(
  o: CheckOpsOptions,
): Required<Pick<WebNode, "checkFile" | "checkAndRepairFile">> {
  const log = o.logger.child({ component: "checker" });
  return {
    async checkFile(cap, { verify, addLease, signal }) {
      const common = { verify, addLease, signal, leaseSecret: o.leaseSecret, logger: log };
      const results = isMutableCap(cap)
        ? await checkMutable(cap, { servers: o.readServers() }, common)
        : await checkImmutable(cap, o.readServers(), common);
      log.info({ si: results.storageIndex, summary: results.summary, verify, addLease }, "checked");
      return results;
    },
    async checkAndRepairFile(cap, { verify, addLease, signal }) {
      const encoding = await o.encoding.read();
      const common = { verify, addLease, signal, leaseSecret: o.leaseSecret, logger: log };
      const results = isMutableCap(cap)
        ? await checkAndRepairMutable(
            cap,
            {
              ...encoding,
              servers: await o.writeServers(encoding),
              leaseSecret: o.leaseSecret,
              signal,
              logger: log,
            },
            common,
          )
        : await checkAndRepairImmutable(cap, o.readServers(), {
            ...common,
            placementServers: await o.writeServers(encoding),
            happy: encoding.happy,
          });
      log.info(
        {
          si: results.storageIndex,
          attempted: results.repairAttempted,
          successful: results.repairSuccessful,
          problem: results.repairProblem,
        },
        "checked and repaired",
      );
      return results;
    },
  };
}
