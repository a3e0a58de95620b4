import type { TahoeConfig } from "@lafs/config";
import type { Logger } from "@lafs/interface";
import { createTorProvider, type TorProgressListener, type TorProvider } from "@lafs/transport";

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
