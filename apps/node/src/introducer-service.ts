import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NODE_FILES, parseFurl, parseNurl, type TahoeConfig, writePrivateFile } from "@lafs/config";
import { base32Encode, randomSecret } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import {
  createIntroducer,
  INTRODUCER_SWISSNUM_BYTES,
  type Introducer,
  introducerFurl,
  introducerNurls,
} from "@lafs/introducer";
import { errnoCode } from "./errors.js";
import { IntroducerNodeError } from "./introducer-errors.js";
import type { NodeIdentity } from "./node-identity.js";
import type { TubEndpoints } from "./tub-endpoints.js";

/** What private/introducer.furl holds: Tahoe's fURL, or (lafs-ts before fURLs) our NURLs. */
function swissnumOf(text: string, path: string, identity: NodeIdentity): string | undefined {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  let swissnum: string | undefined;
  for (const line of lines) {
    const isNurl = line.includes("#v=");
    let parsed: { swissnum: string; pin: string; expected: string; what: string };
    try {
      if (isNurl) {
        const nurl = parseNurl(line);
        parsed = {
          swissnum: nurl.swissnum,
          pin: nurl.spkiHash,
          expected: identity.tls.spkiHash,
          what: "NURL pins",
        };
      } else {
        const furl = parseFurl(line);
        parsed = {
          swissnum: furl.swissnum,
          pin: furl.tubId,
          expected: identity.tubId,
          what: "fURL names tub",
        };
      }
    } catch (error) {
      throw new IntroducerNodeError(
        "TAHOE_ERR_INTRODUCER_FURL_FILE",
        `${path}: ${(error as Error).message}`,
        {
          hint: "The file holds the introducer's fURL (pb://TUBID@HINTS/SWISSNUM), as Tahoe-LAFS writes it. Restore it from a backup, or delete it to make a new one (every node then needs the new fURL or NURL).",
          cause: error,
        },
      );
    }
    if (parsed.pin !== parsed.expected) {
      throw new IntroducerNodeError(
        "TAHOE_ERR_INTRODUCER_FURL_FILE",
        `${path}: the ${parsed.what} ${parsed.pin}, but private/node.pem has ${parsed.expected}`,
        {
          hint: "private/node.pem was replaced; restore it, or delete private/introducer.furl to make a new fURL for the new key",
        },
      );
    }
    swissnum ??= parsed.swissnum;
  }
  return swissnum;
}

/**
 * The introducer's swissnum and addresses. private/introducer.furl holds the Foolscap fURL, as
 * Tahoe-LAFS keeps it (a Tahoe introducer directory keeps its fURL, so its nodes still reach
 * it); private/introducer.nurl holds the NURLs lafs-ts nodes use, with the same swissnum. Like
 * Foolscap, a missing file gets a new swissnum, and both files follow the current tub.location.
 */
async function loadIntroducerAddresses(
  basedir: string,
  identity: NodeIdentity,
  endpoints: TubEndpoints,
): Promise<{ swissnum: string; furl: string; nurls: string[] }> {
  const path = join(basedir, NODE_FILES.introducerFurl);
  const text = await readOptional(path);
  const swissnum =
    (text && swissnumOf(text, path, identity)) ?? base32Encode(randomSecret(INTRODUCER_SWISSNUM_BYTES));
  const furl = introducerFurl(identity.tubId, swissnum, endpoints.hints);
  const nurls = introducerNurls(identity.tls.spkiHash, swissnum, endpoints.hints);
  // Written only when they change: a Tahoe-LAFS directory's fURL stays as Tahoe wrote it.
  if (text?.trim() !== furl) await writePrivateFile(basedir, NODE_FILES.introducerFurl, `${furl}\n`);
  const nurlText = nurls.map((n) => `${n}\n`).join("");
  if ((await readOptional(join(basedir, NODE_FILES.introducerNurl))) !== nurlText) {
    await writePrivateFile(basedir, NODE_FILES.introducerNurl, nurlText);
  }
  return { swissnum, furl, nurls };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

export interface IntroducerServiceOptions {
  basedir: string;
  config: TahoeConfig;
  identity: NodeIdentity;
  endpoints: TubEndpoints;
  applicationVersion: string;
  logger: Logger;
}

/**
 * `tahoe run` on an introducer directory: the introducer service on tub.port, HTTPS for
 * lafs-ts nodes and Foolscap for Tahoe-LAFS nodes on the same port.
 */
export async function startIntroducerService(
  options: IntroducerServiceOptions,
): Promise<{ introducer: Introducer; furl: string; nurls: string[] } | undefined> {
  if (options.endpoints.listen.length === 0) {
    options.logger.warn("introducer not started: tub.port = disabled");
    return undefined;
  }
  const { swissnum, furl, nurls } = await loadIntroducerAddresses(
    options.basedir,
    options.identity,
    options.endpoints,
  );
  const introducer = createIntroducer({
    swissnum,
    tls: { keyPem: options.identity.tls.keyPem, certPem: options.identity.tls.certPem },
    listen: options.endpoints.listen,
    foolscap: { hints: options.endpoints.hints },
    applicationVersion: options.applicationVersion,
    logger: options.logger,
  });
  await introducer.start();
  return { introducer, furl, nurls };
}
