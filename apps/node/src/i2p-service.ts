import { resolve } from "node:path";
import type { TahoeConfig } from "@lafs/config";
import { type Logger, type Startable, silentLogger } from "@lafs/interface";
import { type PublishedI2pDestination, publishI2pDestination } from "@lafs/transport";

export interface I2pServiceOptions {
  logger?: Logger | undefined;
  /**
   * I2CP options for the destination's session, over @lafs/transport's defaults; tests use
   * zero-hop tunnels (inbound.length = 0 ...) on an offline router.
   */
  sessionOptions?: Readonly<Record<string, string>> | undefined;
  /** How long the router may take to build the session's tunnels; default @lafs/transport's. */
  timeoutMs?: number | undefined;
}

/** The node's I2P destination while it runs; `address` is set once published. */
export interface I2pServiceHandle extends Startable {
  readonly address: string | undefined;
}

/**
 * [i2p]dest = true: publishes the destination create-node made (private/i2p_dest.privkey) at
 * start, forwarding its inbound streams to dest.port on 127.0.0.1 (the tub port), and takes it
 * down at stop. Returns undefined when the node has no I2P destination.
 */
export function createI2pService(
  basedir: string,
  config: TahoeConfig,
  options: I2pServiceOptions = {},
): I2pServiceHandle | undefined {
  const i2p = config.i2p;
  if (!i2p.dest) return undefined;
  // CROSS_FIELD_RULES (i2p-dest-keys) guarantee these when the config loaded without errors.
  const localPort = i2p.destPort as number;
  const privateKeyFile = resolve(basedir, i2p.destPrivateKeyFile as string);
  const log = (options.logger ?? silentLogger).child({ component: "i2p-service" });
  let published: PublishedI2pDestination | undefined;
  return {
    get address() {
      return published?.address;
    },
    async start() {
      // [i2p]launch (a router of our own) is not implemented: sam.port, or the router's default.
      const p = await publishI2pDestination({
        samPort: i2p.samPort,
        privateKeyFile,
        localPort,
        sessionOptions: options.sessionOptions,
        timeoutMs: options.timeoutMs,
      });
      published = p;
      log.info({ i2p: p.address, localPort, session: p.sessionId }, "I2P destination published");
      void p.ended.then(() => {
        // Not after stop(): then published was cleared first.
        if (published === p) log.warn({ i2p: p.address }, "the I2P router closed the destination's session");
      });
    },
    async stop() {
      const p = published;
      published = undefined;
      if (p === undefined) return;
      await p.unpublish();
      log.info({ i2p: p.address }, "I2P destination removed");
    },
  };
}
