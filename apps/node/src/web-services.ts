import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  ensureApiAuthToken,
  NODE_FILES,
  readApiAuthToken,
  type TahoeConfig,
  writeFileAtomic,
  writePrivateFile,
} from "@lafs/config";
import type { ActivityTracker } from "@lafs/control-tub";
import { formatSecretFile, parseSecretFile, randomSecret } from "@lafs/crypto";
import type { Logger, Startable } from "@lafs/interface";
import type { IntroducerClient, ServerList } from "@lafs/introducer-client";
import type { ConnectFunction } from "@lafs/storage-client";
import { literalListenEndpoint } from "@lafs/transport";
import type { WebStorageReport, WebTorStatus } from "@lafs/web";
import { createWebServer } from "@lafs/web";
import { errnoCode, NodeError } from "./errors.js";
import { createGridClients } from "./grid-clients.js";
import { removeStaleSpools } from "./spool-cleanup.js";
import { createNodeWebControl } from "./web-control.js";
import { createWebNode } from "./web-node.js";

/** Where `tahoe put`, `tahoe get` and other tools find the node's web API. */
export const NODE_URL_FILE = "node.url";

export interface WebServicesOptions {
  basedir: string;
  config: TahoeConfig;
  nodeId: string;
  applicationVersion: string;
  serverList: ServerList;
  introducers: readonly IntroducerClient[];
  connectorFor: (serverId: string) => ConnectFunction;
  /** Started services are pushed here as soon as they run, so a failed start stops them. */
  services: Startable[];
  logger: Logger;
  /** Uploads and downloads in progress, for `tahoe status`. */
  activity?: ActivityTracker | undefined;
  /** The node's storage server's damage report, for the welcome page; unset when it runs none. */
  storageReport?: (() => WebStorageReport | undefined) | undefined;
  /** The node's Tor state, when it uses Tor: shown on the welcome page and in upload readiness. */
  torStatus?: (() => WebTorStatus) | undefined;
}

/** What Tahoe-LAFS writes into a secret file it makes (client.py `_make_secret`): 32 random bytes. */
const NEW_SECRET_BYTES = 32;

/**
 * A client secret, made on first start when missing, as Tahoe-LAFS makes it
 * (get_or_create_private_config): a directory from `tahoe create-client` of Tahoe-LAFS has
 * neither file until it first runs. An existing file is read, never rewritten; `bytes` is the
 * length it must have (the convergence secret may have any: Tahoe-LAFS writes 32 bytes, older
 * lafs-ts 16, and the convergent key hashes whatever is there).
 */
async function readOrCreateSecret(basedir: string, file: string, bytes?: number): Promise<Uint8Array> {
  const path = join(basedir, file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") {
      const secret = randomSecret(bytes ?? NEW_SECRET_BYTES);
      await writePrivateFile(basedir, file, formatSecretFile(secret));
      return secret;
    }
    throw new NodeError("TAHOE_ERR_NODE_FILE", `cannot read ${path}: ${errnoCode(error) ?? String(error)}`, {
      hint: "Check the file's owner and permissions: the node must be able to read its own private/ directory.",
      cause: error,
    });
  }
  return parseSecretFile(text, path, bytes);
}

/**
 * The web server of a client node, with the uploader and downloader behind it, then node.url.
 * Stop order (services stop in reverse): uploads in flight are aborted first so servers get
 * abort and nothing half-written looks complete, then the web server, then the storage clients.
 * Returns the URL written to node.url, or undefined when web.port is unset.
 */
export async function startWebServices(options: WebServicesOptions): Promise<string | undefined> {
  const { config, basedir, services, logger } = options;
  const listen = config.node.webPort;
  const tempdir = resolve(basedir, config.node.tempdir);
  // The node holds running.process by now: no spool in its tempdir is being written. Cleaned even
  // without a web port, so a node restarted without one does not keep a killed upload's spool.
  await removeStaleSpools(tempdir, { basedir, logger });
  if (listen === undefined) {
    logger.info("no web server: [node]web.port is not set, so node.url is not written");
    return undefined;
  }
  const [leaseSecret, convergenceSecret] = await Promise.all([
    readOrCreateSecret(basedir, NODE_FILES.secret, 32),
    readOrCreateSecret(basedir, NODE_FILES.convergence),
  ]);
  const clients = createGridClients({
    serverList: options.serverList,
    connectorFor: options.connectorFor,
    logger,
  });
  services.push({ start: async () => {}, stop: () => clients.close() });
  // Tahoe-LAFS makes it at start too: local tools prove they can read private/ by presenting it.
  await ensureApiAuthToken(basedir);
  const control = await createNodeWebControl({ basedir, config, serverList: options.serverList, logger });
  const node = createWebNode({
    basedir,
    nickname: config.node.nickname,
    nodeId: options.nodeId,
    version: options.applicationVersion,
    tempdir,
    leaseSecret,
    convergenceSecret,
    encoding: control.encodingSource,
    newServers: config.client.newServers,
    maxSegmentSize: config.client.maxSegmentSizeForTesting,
    downloadWorker: config.client.downloadWorker,
    storageEnabled: config.storage.enabled,
    storageReport: options.storageReport,
    torStatus: options.torStatus,
    serverList: options.serverList,
    introducers: options.introducers,
    clients,
    logger,
    activity: options.activity,
  });
  const web = createWebServer({
    node,
    // interface=localhost as 127.0.0.1: no system name lookup (reveal-IP-address = false promises none).
    listen: literalListenEndpoint(listen),
    logger: logger.child({ component: "web" }),
    control,
    uploadAuthority: {
      mode: config.node.webUploadAuthority ?? "anyone",
      token: () => readApiAuthToken(basedir),
    },
  });
  await web.start();
  services.push(web);
  services.push({ start: async () => {}, stop: () => node.abortUploads() });
  const url = web.url().endsWith("/") ? web.url() : `${web.url()}/`;
  await writeFileAtomic(join(basedir, NODE_URL_FILE), `${url}\n`);
  logger.info({ url }, "web server running; node.url written");
  return url;
}
