import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NODE_FILES, parseNurl, type TahoeConfig, writePrivateFile } from "@lafs/config";
import { base32Encode, randomSecret } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import {
  createIntroducer,
  INTRODUCER_SWISSNUM_BYTES,
  type Introducer,
  introducerNurls,
} from "@lafs/introducer";
import { errnoCode } from "./errors.js";
import { IntroducerNodeError } from "./introducer-errors.js";
import type { NodeIdentity } from "./node-identity.js";
import type { TubEndpoints } from "./tub-endpoints.js";

/**
 * The swissnum from private/introducer.furl (one NURL per line, written by create-introducer).
 * A directory without the file gets a new swissnum and the file, as Tahoe-LAFS makes its fURL
 * on first start.
 */
async function loadIntroducerSwissnum(
  basedir: string,
  identity: NodeIdentity,
  endpoints: TubEndpoints,
): Promise<{ swissnum: string; nurls: string[] }> {
  const path = join(basedir, NODE_FILES.introducerFurl);
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
  if (text === undefined || text.trim() === "") {
    const swissnum = base32Encode(randomSecret(INTRODUCER_SWISSNUM_BYTES));
    const nurls = introducerNurls(identity.tls.spkiHash, swissnum, endpoints.hints);
    await writePrivateFile(basedir, NODE_FILES.introducerFurl, nurls.map((n) => `${n}\n`).join(""));
    return { swissnum, nurls };
  }
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  let swissnum: string | undefined;
  for (const line of lines) {
    let nurl: ReturnType<typeof parseNurl>;
    try {
      nurl = parseNurl(line);
    } catch (error) {
      throw new IntroducerNodeError(
        "TAHOE_ERR_INTRODUCER_FURL_FILE",
        `${path}: ${(error as Error).message}`,
        {
          hint: "The file holds the introducer's NURL, one per line (pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1). Restore it from a backup, or delete it to make a new one (clients then need the new NURL).",
          cause: error,
        },
      );
    }
    if (nurl.spkiHash !== identity.tls.spkiHash) {
      throw new IntroducerNodeError(
        "TAHOE_ERR_INTRODUCER_FURL_FILE",
        `${path}: the NURL pins ${nurl.spkiHash}, but private/node.pem has ${identity.tls.spkiHash}`,
        {
          hint: "private/node.pem was replaced; restore it, or delete private/introducer.furl to make a new NURL for the new key",
        },
      );
    }
    swissnum ??= nurl.swissnum;
  }
  return { swissnum: swissnum!, nurls: lines };
}

export interface IntroducerServiceOptions {
  basedir: string;
  config: TahoeConfig;
  identity: NodeIdentity;
  endpoints: TubEndpoints;
  applicationVersion: string;
  logger: Logger;
}

/** `tahoe run` on an introducer directory: the introducer service on tub.port. */
export async function startIntroducerService(
  options: IntroducerServiceOptions,
): Promise<{ introducer: Introducer; nurls: string[] } | undefined> {
  if (options.endpoints.listen.length === 0) {
    options.logger.warn("introducer not started: tub.port = disabled");
    return undefined;
  }
  const { swissnum, nurls } = await loadIntroducerSwissnum(
    options.basedir,
    options.identity,
    options.endpoints,
  );
  const introducer = createIntroducer({
    swissnum,
    tls: { keyPem: options.identity.tls.keyPem, certPem: options.identity.tls.certPem },
    listen: options.endpoints.listen,
    applicationVersion: options.applicationVersion,
    logger: options.logger,
  });
  await introducer.start();
  return { introducer, nurls };
}
