import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NODE_FILES, parseFurl, parseIntroducersYaml } from "@lafs/config";
import type { Logger } from "@lafs/interface";
import {
  announcementFields,
  type ConnectFunction,
  cacheFilePath,
  createFileSequencer,
  createFoolscapIntroducerClient,
  createIntroducerClient,
  type IntroducerClient,
  SEQNUM_FILE,
  signAnnouncement,
  storageFields,
  type TubIdentity,
} from "@lafs/introducer-client";
import type { StorageAnnouncement } from "./announcement.js";
import { errnoCode } from "./errors.js";
import { IntroducerNodeError } from "./introducer-errors.js";

export interface IntroducerClientsOptions {
  basedir: string;
  nickname: string;
  applicationVersion: string;
  connect: ConnectFunction;
  /** This node's Foolscap Tub (private/node.pem), for introducers given as fURLs. */
  tub: TubIdentity;
  logger: Logger;
}

/** A Foolscap fURL (a Tahoe-LAFS grid's introducer) rather than a NURL. */
function isFurl(url: string): boolean {
  try {
    parseFurl(url);
    return true;
  } catch {
    return false;
  }
}

/** One client per entry of private/introducers.yaml, each with its cache file under private/. */
export async function createIntroducerClients(
  options: IntroducerClientsOptions,
): Promise<IntroducerClient[]> {
  const path = join(options.basedir, NODE_FILES.introducersYaml);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return [];
    throw error;
  }
  const { introducers, errors } = parseIntroducersYaml(text, path);
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new IntroducerNodeError(
      "TAHOE_ERR_INTRODUCER_CLIENT_INTRODUCERS_YAML",
      `${path}${first.line === undefined ? "" : `:${first.line}`}: ${first.message}`,
      { hint: first.allowed ?? "introducers.yaml is 'introducers:' with 'PETNAME: {furl: NURL}' entries" },
    );
  }
  return introducers.map((entry) => {
    const common = {
      petname: entry.petname,
      url: entry.url,
      connect: options.connect,
      nickname: options.nickname,
      myVersion: options.applicationVersion,
      cacheFile: cacheFilePath(options.basedir, entry.petname),
      logger: options.logger,
    };
    return isFurl(entry.url)
      ? createFoolscapIntroducerClient({ ...common, identity: options.tub })
      : createIntroducerClient(common);
  });
}

/** Signs this server's storage announcement with a new seqnum and hands it to every introducer. */
export async function publishStorageAnnouncement(
  basedir: string,
  privateKey: string,
  announcement: StorageAnnouncement,
  clients: readonly IntroducerClient[],
): Promise<void> {
  if (clients.length === 0) return;
  const sequence = await createFileSequencer(join(basedir, SEQNUM_FILE))();
  const signed = signAnnouncement(
    announcementFields({
      service: "storage",
      nickname: announcement.nickname,
      myVersion: announcement.myVersion,
      sequence,
      fields: storageFields({
        nurls: announcement.nurls,
        furl: announcement.furl,
        permutationSeedBase32: announcement.permutationSeedBase32,
      }),
    }),
    privateKey,
  );
  for (const client of clients) client.publish(signed);
}
