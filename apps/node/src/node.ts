import { resolve } from "node:path";
import {
  ConfigInvalidError,
  type ConfigIssue,
  loadNodeConfig,
  redactUrlSecret,
  type TahoeConfig,
} from "@lafs/config";
import {
  type ActivityTracker,
  createActivityTracker,
  createLogHub,
  type LogHub,
  teeLogger,
} from "@lafs/control-tub";
import type { Logger, Startable } from "@lafs/interface";
import type { StorageServerStatus } from "@lafs/storage-server";
import { loadOverrideRules, overrideRulesPrivacyErrors, type TorMonitor } from "@lafs/transport";
import {
  ANNOUNCEMENT_FILE,
  type StorageAnnouncement,
  storageFurl,
  storageNurls,
  writeAnnouncement,
} from "./announcement.js";
import { createControlTubService } from "./control-tub-service.js";
import { createI2pService, type I2pServiceOptions } from "./i2p-service.js";
import { type GridStatus, isIntroducerDirectory, startGridServices } from "./introducer-node.js";
import {
  loadNodeIdentity,
  loadOrCreatePermutationSeed,
  loadOrCreateStorageSwissnum,
  type NodeIdentity,
  writeStorageFurl,
} from "./node-identity.js";
import { createNodeTorMonitor, createNodeTorProvider } from "./node-transport.js";
import { createOnionService, type OnionServiceOptions } from "./onion-service.js";
import { acquireNodeLock, type NodeLock } from "./pid-file.js";
import { expiryPolicy } from "./storage-expiry.js";
import { resolveTubEndpoints, type TubEndpointOptions } from "./tub-endpoints.js";
import { applicationVersion } from "./version.js";
import { startWebServices } from "./web-services.js";

export interface NodeOptions extends TubEndpointOptions, Pick<OnionServiceOptions, "onTorProgress"> {
  /** Gets every log event too; the node always logs into its own log hub (served by the control tub). */
  logger?: Logger;
  /** The node's log hub (ring buffer + followers); default a new one. */
  logHub?: LogHub;
  /** Uploads and downloads in progress, shown by `tahoe status`; default a new tracker. */
  activity?: ActivityTracker;
  /** What `tahoe stop` (the control tub's stop) calls; runNode passes its abort. Default: node.stop(). */
  requestStop?: () => void;
  /** What the storage server and the announcement call this software; default lafs-ts/VERSION. */
  applicationVersion?: string;
  /** Clock for the storage server (leases, idle uploads), in milliseconds since the epoch. */
  now?: () => number;
  /** Session settings of the published I2P destination ([i2p]dest = true); tests use zero-hop tunnels. */
  i2pService?: Pick<I2pServiceOptions, "sessionOptions" | "timeoutMs">;
}

/** The running storage service: what a client needs to reach it. */
export interface StorageStatus {
  /** NURLs with the swissnum: secrets. Show them with redactUrlSecret. */
  nurls: readonly string[];
  furl: string;
  /** Where the server actually listens. */
  addresses: readonly { host: string; port: number }[];
  /** Absolute path of private/storage-announcement.yaml. */
  announcementFile: string;
}

export interface NodeStatus {
  basedir: string;
  nodeId: string;
  tubId: string;
  /** Undefined when [storage]enabled is false or tub.port is disabled. */
  storage: StorageStatus | undefined;
  /** The introducer service (introducer nodes) or the introducer clients and server list. */
  grid: GridStatus;
  /** What BASEDIR/node.url holds (`http://127.0.0.1:PORT/`); undefined without [node]web.port. */
  nodeUrl: string | undefined;
  /** The node's Tor (bootstrap, SOCKS, onion descriptor), when it uses Tor. */
  tor: TorMonitor | undefined;
}

/** A node made from BASEDIR: start() checks the configuration, takes the directory and starts the services. */
export interface TahoeNode extends Startable {
  readonly basedir: string;
  /** The node's structured log: what `tahoe logs` reads. */
  readonly logs: LogHub;
  /** The uploader and downloader report progress here (`track(kind, name, totalBytes)`). */
  readonly activity: ActivityTracker;
  /** The configuration warnings found by the last start(). */
  readonly warnings: readonly ConfigIssue[];
  /** What runs; throws when the node is not running. */
  status(): NodeStatus;
}

type State = "new" | "starting" | "running" | "stopping" | "stopped";

/**
 * The composition root: builds the node's services from BASEDIR and starts and stops them in
 * order: storage server, grid services (introducer clients, server list), then the web server
 * with the uploader and downloader behind it, and node.url; the grid dials out last, so the
 * web port answers without waiting for the network.
 */
export function createNode(basedir: string, options: NodeOptions = {}): TahoeNode {
  const root = resolve(basedir);
  const logs = options.logHub ?? createLogHub();
  const activity = options.activity ?? createActivityTracker();
  const logger = options.logger === undefined ? logs.logger : teeLogger(logs.logger, options.logger);
  const log = logger.child({ component: "node" });
  let state: State = "new";
  let warnings: readonly ConfigIssue[] = [];
  let lock: NodeLock | undefined;
  let services: Startable[] = [];
  let current: NodeStatus | undefined;
  let announced: StorageAnnouncement | undefined;
  /** The running storage server's report (damaged shares, advisories), for the welcome page. */
  let storageReport: (() => StorageServerStatus) | undefined;

  async function startStorage(
    config: TahoeConfig,
    identity: NodeIdentity,
    version: string,
  ): Promise<StorageStatus | undefined> {
    const endpoints = await resolveTubEndpoints(root, config, options);
    if (!config.storage.enabled) {
      log.info("storage server not started: [storage]enabled = false");
      return undefined;
    }
    if (endpoints.listen.length === 0) {
      log.info("storage server not started: tub.port = disabled");
      return undefined;
    }
    const swissnum = await loadOrCreateStorageSwissnum(root);
    const furl = storageFurl(identity.tubId, swissnum, endpoints.hints);
    const nurls = storageNurls(identity.tls.spkiHash, swissnum, endpoints.hints);
    await writeStorageFurl(root, furl);
    // Loaded only by nodes that store shares: clients and introducers never need it.
    const { createStorageServer } = await import("@lafs/storage-server");
    const server = createStorageServer({
      storageDir: resolve(root, config.storage.storageDir),
      swissnum,
      writeEnablerNodeId: identity.tubIdBytes,
      reservedSpace: config.storage.reservedSpace,
      readonly: config.storage.readonly,
      expiry: expiryPolicy(config),
      applicationVersion: version,
      logger: log.child({ component: "storage-server" }),
      ...(options.now ? { now: options.now } : {}),
      tls: { keyPem: identity.tls.keyPem, certPem: identity.tls.certPem },
      listen: endpoints.listen,
    });
    // A port in use comes back as the storage server's TAHOE_ERR_STORAGE_SERVER_LISTEN, naming it.
    await server.start();
    services.push(server);
    storageReport = () => server.status();
    const announcement: StorageAnnouncement = {
      serverId: identity.nodeKey.nodeId,
      nickname: config.node.nickname,
      furl,
      nurls,
      permutationSeedBase32: await loadOrCreatePermutationSeed(root, identity.nodeKey),
      myVersion: version,
    };
    await writeAnnouncement(root, announcement);
    announced = announcement;
    if (nurls.length === 0)
      log.warn("tub.location has no tcp:, tor: or i2p:ADDR:PORT hint, so the storage server has no NURL");
    log.info({ nurls: nurls.map(redactUrlSecret), addresses: server.addresses() }, "storage server running");
    return {
      nurls,
      furl,
      addresses: server.addresses(),
      announcementFile: resolve(root, ANNOUNCEMENT_FILE),
    };
  }

  async function stopServices(): Promise<void> {
    const started = services;
    services = [];
    let failure: unknown;
    for (const service of started.reverse()) {
      try {
        await service.stop();
      } catch (error) {
        failure ??= error;
        log.error({ err: error }, "a service failed to stop");
      }
    }
    try {
      await lock?.release();
    } finally {
      lock = undefined;
    }
    if (failure !== undefined) throw failure;
  }

  const node: TahoeNode = {
    basedir: root,
    logs,
    activity,
    get warnings() {
      return warnings;
    },

    async start() {
      if (state !== "new" && state !== "stopped")
        throw new Error(`node is ${state}; start() needs a stopped node`);
      state = "starting";
      try {
        // Every problem of tahoe.cfg and servers.yaml is reported before anything is opened.
        const loaded = await loadNodeConfig(root);
        const rules = await loadOverrideRules(root);
        warnings = [...loaded.warnings, ...rules.warnings];
        const errors = [
          ...loaded.errors,
          ...rules.errors,
          ...(loaded.config === undefined
            ? []
            : overrideRulesPrivacyErrors(rules.rules, loaded.config.node.revealIpAddress)),
        ];
        if (errors.length > 0 || loaded.config === undefined) {
          throw new ConfigInvalidError(errors, {
            hint: "Fix each line above, then start the node again. Nothing was started.",
          });
        }
        const config = loaded.config;
        for (const w of warnings) log.warn({ file: w.file, line: w.line }, w.message);
        lock = await acquireNodeLock(root);
        const identity = await loadNodeIdentity(root);
        const version = options.applicationVersion ?? applicationVersion();
        const torProvider = createNodeTorProvider(root, config, options);
        if (torProvider !== undefined) {
          // Pushed first so it stops last, after everything that talks through it.
          services.push({ start: async () => {}, stop: () => torProvider.stop() });
        }
        const torMonitor = torProvider && createNodeTorMonitor(torProvider, config, { logger: log });
        if (torMonitor !== undefined) {
          services.push(torMonitor);
          await torMonitor.start();
        }
        const onion = createOnionService(root, config, { logger, torProvider, torMonitor });
        if (onion !== undefined) {
          // Pushed first so it is stopped after the storage server it forwards to.
          services.push(onion);
          await onion.start();
        }
        const i2pService = createI2pService(root, config, { logger, ...options.i2pService });
        if (i2pService !== undefined) {
          // Like the onion service: stopped after the storage server it forwards to.
          services.push(i2pService);
          await i2pService.start();
        }
        // An introducer directory runs the introducer on tub.port instead of a storage server.
        announced = undefined;
        storageReport = undefined;
        const storage = (await isIntroducerDirectory(root))
          ? undefined
          : await startStorage(config, identity, version);
        const { status: grid, connect: connectGrid } = await startGridServices({
          basedir: root,
          config,
          identity,
          applicationVersion: version,
          storage: announced,
          services,
          torProvider,
          overrideRules: rules.rules,
          logger: log,
          tub: options,
        });
        // Introducer nodes have no server list, so no uploader, downloader or web API.
        const nodeUrl =
          grid.serverList !== undefined && grid.connectorFor !== undefined
            ? await startWebServices({
                basedir: root,
                config,
                nodeId: identity.nodeKey.nodeId,
                applicationVersion: version,
                serverList: grid.serverList,
                introducers: grid.introducers,
                connectorFor: grid.connectorFor,
                services,
                logger: log,
                activity,
                storageReport: () => storageReport?.(),
                torStatus: torMonitor && (() => torMonitor.status()),
              })
            : undefined;
        const control = createControlTubService({
          basedir: root,
          config,
          logs,
          activity,
          logger: log,
          version,
          nodeId: identity.nodeKey.nodeId,
          grid: () => grid,
          torStatus: torMonitor && (() => torMonitor.status()),
          requestStop: options.requestStop ?? (() => void node.stop()),
        });
        services.push(control);
        await control.start();
        // Only now dial introducers and servers: the web port and control tub answer first.
        await connectGrid();
        current = {
          basedir: root,
          nodeId: identity.nodeKey.nodeId,
          tubId: identity.tubId,
          storage,
          grid,
          nodeUrl,
          tor: torMonitor,
        };
        state = "running";
      } catch (error) {
        await stopServices().catch((e: unknown) =>
          log.error({ err: e }, "cleanup after a failed start failed"),
        );
        state = "stopped";
        throw error;
      }
    },

    async stop() {
      if (state !== "running") return;
      state = "stopping";
      current = undefined;
      try {
        await stopServices();
      } finally {
        state = "stopped";
      }
    },

    status() {
      if (state !== "running" || current === undefined) throw new Error(`node is ${state}, not running`);
      return current;
    },
  };
  return node;
}
