import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "@lafs/config";
import { base32Encode, randomSecret } from "@lafs/crypto";
import { IntroducerClientError } from "./errors.js";

/** Where Tahoe-LAFS keeps the last seqnum it announced, in BASEDIR. */
export const SEQNUM_FILE = "announcement-seqnum";

export interface Sequence {
  seqnum: number;
  /** Fresh per announcement, as Tahoe-LAFS makes it: base32 of 32 random bytes. */
  nonce: string;
}

export type Sequencer = () => Promise<Sequence>;

/**
 * Tahoe-LAFS's announcement sequencer: the seqnum in `path` plus one, saved before use so a
 * restart never repeats one. Unlike Tahoe-LAFS it never goes below the current Unix time in
 * seconds, so a node whose file was lost still outranks the announcements it made before.
 */
export function createFileSequencer(path: string, now: () => number = Date.now): Sequencer {
  let last: number | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const next = async (): Promise<Sequence> => {
    if (last === undefined) {
      let text = "";
      try {
        text = (await readFile(path, "utf8")).trim();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      if (text !== "" && !/^\d{1,15}$/.test(text)) {
        throw new IntroducerClientError(
          "TAHOE_ERR_INTRODUCER_CLIENT_SEQNUM",
          `${path} holds '${text.slice(0, 40)}', not a seqnum`,
          {
            hint: "the file holds one non-negative integer; delete it and the node starts from the current time",
          },
        );
      }
      last = text === "" ? 0 : Number(text);
    }
    const seqnum = Math.max(last + 1, Math.floor(now() / 1000));
    await writeFileAtomic(path, `${seqnum}\n`);
    last = seqnum;
    return { seqnum, nonce: base32Encode(randomSecret(32)) };
  };
  return () => {
    const result = chain.then(next);
    chain = result.catch(() => {});
    return result;
  };
}
