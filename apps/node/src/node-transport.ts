import type { TahoeConfig } from "@lafs/config";
import type { Logger } from "@lafs/interface";
import {
  createTorMonitor,
  createTorProvider,
  type TorMonitor,
  type TorProgressListener,
  type TorProvider,
} from "@lafs/transport";

/**
 * Whether this node uses Tor at all. Only then does it get a Tor provider, which may probe the
 * usual local SOCKS/control ports; a node that never asked for Tor reports onion-only servers
 * as unreachable and names the setting that would enable Tor, instead of probing silently.
 */
export function wantsTor(config: TahoeConfig): boolean {
  const tor = config.tor;
  if (!tor.enabled) return false;
  return (
    tor.launch ||
    tor.controlPort !== undefined ||
    tor.socksPort !== undefined ||
    tor.onion ||
    config.connections.tcp === "tor"
  );
}

/** One Tor provider per node, shared by its onion service and its outbound connections. */
export function createNodeTorProvider(
  basedir: string,
  config: TahoeConfig,
  options: { logger?: Logger | undefined; onTorProgress?: TorProgressListener | undefined },
): TorProvider | undefined {
  if (!wantsTor(config)) return undefined;
  return createTorProvider({
    basedir,
    tor: config.tor,
    logger: options.logger,
    onProgress: options.onTorProgress,
  });
}

/**
 * Watches the node's tor for `tahoe run`, `tahoe status` and the welcome page. Its service is
 * pushed after the provider's, so it stops first.
 */
export function createNodeTorMonitor(
  provider: TorProvider,
  config: TahoeConfig,
  options: { logger?: Logger | undefined },
): TorMonitor {
  return createTorMonitor({
    provider,
    settings: config.tor,
    onion: config.tor.onion,
    logger: options.logger,
  });
}
