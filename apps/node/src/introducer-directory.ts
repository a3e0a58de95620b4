import { access } from "node:fs/promises";
import { join } from "node:path";

/** Tahoe-LAFS tells an introducer directory by this file, which create-introducer writes. */
export const INTRODUCER_TAC = "tahoe-introducer.tac";

export async function isIntroducerDirectory(basedir: string): Promise<boolean> {
  try {
    await access(join(basedir, INTRODUCER_TAC));
    return true;
  } catch {
    return false;
  }
}
