import { parseNurl, type TahoeConfig } from "@lafs/config";
import type { Logger, Startable } from "@lafs/interface";
import { type IntroducerClient, type ServerList, tubIdentityOf } from "@lafs/introducer-client";
import type { ConnectFunction } from "@lafs/storage-client";
import { createTransport, type OverrideRule, type TorProvider } from "@lafs/transport";
import type { StorageAnnouncement } from "./announcement.js";
import { createIntroducerClients, publishStorageAnnouncement } from "./introducer-clients.js";
import { isIntroducerDirectory } from "./introducer-directory.js";
import type { NodeIdentity } from "./node-identity.js";
import { createServerListService, readStaticServers } from "./server-list-service.js";
import { resolveTubEndpoints, type TubEndpointOptions } from "./tub-endpoints.js";

export interface GridServicesOptions {
  basedir: string;
  config: TahoeConfig;
  identity: NodeIdentity;
  applicationVersion: string;
  /** This node's storage announcement, when it runs a storage server. */
  storage: StorageAnnouncement | undefined;
  /** Started services are pushed here as soon as they run, so a failed start stops them. */
  services: Startable[];
  logger: Logger;
  tub?: TubEndpointOptions;
  /** The node's Tor, when it uses one: outbound tor: hints (and tcp: ones with tcp = tor) go through it. */
  torProvider?: TorProvider | undefined;
  /** private/connections.rules. */
  overrideRules?: readonly OverrideRule[];
}

export interface GridStatus {
  /** Set on an introducer node: its NURLs (secrets: they hold the swissnum). */
  introducerNurls?: readonly string[];
  introducers: readonly IntroducerClient[];
  serverList?: ServerList;
  /** The transport's connector for one storage server (client nodes only). */
  connectorFor?: (serverId: string) => ConnectFunction;
}

export { isIntroducerDirectory };

/** The grid side of a node, built and listening but not yet dialing out. */
export interface GridServices {
  readonly status: GridStatus;
  /**
   * Starts the introducer subscriptions and server probes (and publishes the storage
   * announcement). The node calls it once its web port and control tub answer, so start-up
   * never waits for the network; connections continue in the background.
   */
  connect(): Promise<void>;
}

/**
 * The grid side of a node. An introducer directory runs the introducer service on tub.port;
 * any other node subscribes to the introducers of private/introducers.yaml (publishing its
 * storage announcement when it has one) and keeps the server list, merged with servers.yaml.
 * Every connection goes through the transport, so [connections] and per-server overrides apply.
 */
export async function startGridServices(options: GridServicesOptions): Promise<GridServices> {
  const { basedir, config, services } = options;
  if (await isIntroducerDirectory(basedir)) {
    const endpoints = await resolveTubEndpoints(basedir, config, options.tub);
    // Only introducer directories load the introducer service.
    const { startIntroducerService } = await import("./introducer-service.js");
    const started = await startIntroducerService({
      basedir,
      config,
      identity: options.identity,
      endpoints,
      applicationVersion: options.applicationVersion,
      logger: options.logger,
    });
    const connect = async () => {};
    if (started === undefined) return { status: { introducers: [] }, connect };
    services.push(started.introducer);
    return { status: { introducerNurls: started.nurls, introducers: [] }, connect };
  }
  const staticServers = await readStaticServers(basedir);
  const transport = createTransport({
    config,
    staticServers,
    rules: options.overrideRules,
    tor: options.torProvider,
    logger: options.logger,
  });
  // Stopped last (services stop in reverse): clients and probes close their connections first.
  services.push({ start: async () => {}, stop: () => transport.close() });
  const introducers = await createIntroducerClients({
    basedir,
    nickname: config.node.nickname,
    applicationVersion: options.applicationVersion,
    connect: transport.connectorFor(),
    tub: tubIdentityOf(options.identity.tls.keyPem, options.identity.tls.certPem),
    logger: options.logger,
  });
  const serverList = createServerListService({
    basedir,
    staticServers,
    introducers,
    connectorFor: (server) => transport.connectorFor(server.serverId),
    tcpHandlerFor: (server) => {
      const first = server.nurls[0];
      if (first === undefined) return "tcp";
      try {
        const hint = parseNurl(first).hints[0];
        return hint === undefined ? "tcp" : transport.handlerFor(hint, server.serverId);
      } catch {
        return "tcp";
      }
    },
    logger: options.logger,
  });
  // Pushed now, started by connect(): the stop order stays clients, server list, transport, and
  // stopping one that never started is harmless.
  services.push(serverList, ...introducers);
  const connect = async () => {
    await serverList.start();
    for (const client of introducers) await client.start();
    if (options.storage !== undefined) {
      await publishStorageAnnouncement(
        basedir,
        options.identity.nodeKey.privateKey,
        options.storage,
        introducers,
      );
    }
  };
  if (introducers.length === 0 && staticServers.length === 0) {
    options.logger.info(
      "no introducers (private/introducers.yaml) and no static servers (private/servers.yaml)",
    );
  }
  options.logger.info(
    { introducers: introducers.map((c) => c.petname), static: staticServers.length },
    "grid services running",
  );
  return {
    status: {
      introducers,
      serverList: serverList.list,
      connectorFor: (serverId) => transport.connectorFor(serverId),
    },
    connect,
  };
}
