import { resolve } from "node:path";
import type { TahoeConfig } from "@lafs/config";
import { type Logger, type Startable, silentLogger } from "@lafs/interface";
import {
  createTorProvider,
  type PublishedOnion,
  publishOnionService,
  type TorMonitor,
  type TorProgressListener,
  type TorProvider,
} from "@lafs/transport";

export interface OnionServiceOptions {
  logger?: Logger | undefined;
  /** Bootstrap progress of a launched tor, for `tahoe run` to show. */
  onTorProgress?: TorProgressListener | undefined;
  /** Shared with the node's transport when one exists, so one tor serves both; default: a new provider. */
  torProvider?: TorProvider | undefined;
  /** Told the service id, so the node's Tor status shows whether the descriptor is uploaded. */
  torMonitor?: TorMonitor | undefined;
}

/** The node's onion service while it runs; `serviceId` is set once started. */
export interface OnionServiceHandle extends Startable {
  readonly serviceId: string | undefined;
}

/**
 * [tor]onion = true: publishes the onion service create-node made (private/tor_onion.privkey)
 * at start, forwarding to onion.local_port, and takes it down at stop. Returns undefined when
 * the node has no onion service.
 */
export function createOnionService(
  basedir: string,
  config: TahoeConfig,
  options: OnionServiceOptions = {},
): OnionServiceHandle | undefined {
  const tor = config.tor;
  if (!tor.onion) return undefined;
  // CROSS_FIELD_RULES (tor-onion-keys) guarantee these when the config loaded without errors.
  const localPort = tor.onionLocalPort as number;
  const externalPort = tor.onionExternalPort as number;
  const privateKeyFile = resolve(basedir, tor.onionPrivateKeyFile as string);
  const log = (options.logger ?? silentLogger).child({ component: "onion-service" });
  const ownProvider = options.torProvider === undefined;
  const provider =
    options.torProvider ??
    createTorProvider({ basedir, tor, logger: options.logger, onProgress: options.onTorProgress });
  let published: PublishedOnion | undefined;
  return {
    get serviceId() {
      return published?.serviceId;
    },
    async start() {
      published = await publishOnionService(provider, { privateKeyFile, localPort, externalPort });
      // ADD_ONION only hands the service to Tor: peers reach it once Tor uploads its descriptor,
      // which a tor that is not bootstrapped (or has DisableNetwork 1) never does.
      log.info(
        { onion: `${published.serviceId}.onion`, externalPort, localPort },
        "onion service added to tor; reachable once its descriptor is uploaded",
      );
      options.torMonitor?.watchOnion(published.serviceId);
    },
    async stop() {
      const p = published;
      published = undefined;
      try {
        await p?.unpublish();
        if (p) log.info({ onion: `${p.serviceId}.onion` }, "onion service removed");
      } finally {
        if (ownProvider) await provider.stop();
      }
    },
  };
}
