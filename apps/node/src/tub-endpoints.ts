import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import {
  type ConnectionHint,
  type ListenEndpoint,
  parseEndpointList,
  type TahoeConfig,
  writeFileAtomic,
} from "@lafs/config";
import { allocatePort } from "@lafs/transport";
import { errnoCode, NodeError } from "./errors.js";

/**
 * Where Tahoe-LAFS keeps the port it picked for a node whose tahoe.cfg has no tub.port
 * (create-node always writes one; older directories may lack it).
 */
export const PORT_FILE = "client.port";

export interface TubEndpoints {
  /** Empty when tub.port is disabled. */
  listen: ListenEndpoint[];
  /** The hints peers use, AUTO expanded. */
  hints: ConnectionHint[];
}

export interface TubEndpointOptions {
  /** Picks a free port for a directory without tub.port; default @lafs/transport allocatePort. */
  allocatePort?: (options?: { host?: string }) => Promise<number>;
  /** This machine's IPv4 addresses for AUTO; default from os.networkInterfaces(). */
  localAddresses?: () => string[];
}

/** Non-loopback addresses first, then loopback, as Tahoe's get_local_addresses_sync lists them. */
export function localIpv4Addresses(): string[] {
  const external: string[] = [];
  const internal: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) {
      if (address.family !== "IPv4") continue;
      (address.internal ? internal : external).push(address.address);
    }
  }
  return [...new Set([...external, ...internal])];
}

async function portFromFile(basedir: string, options: TubEndpointOptions): Promise<ListenEndpoint[]> {
  const path = join(basedir, PORT_FILE);
  let text: string | undefined;
  try {
    text = (await readFile(path, "utf8")).trim();
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
  if (text === undefined) {
    const port = await (options.allocatePort ?? allocatePort)({ host: "0.0.0.0" });
    // Saved so the node keeps its port, and with it its NURLs, across restarts.
    await writeFileAtomic(path, `tcp:${port}\n`);
    return [{ kind: "tcp", port }];
  }
  try {
    return parseEndpointList(/^\d+$/.test(text) ? `tcp:${text}` : text);
  } catch (error) {
    throw new NodeError(
      "TAHOE_ERR_NODE_PORT_FILE",
      `${path}: '${text}' is not a listening endpoint (${(error as Error).message})`,
      {
        hint: "Write tub.port = tcp:PORT into [node] of tahoe.cfg (it takes precedence), or delete the file to pick a new port.",
        cause: error,
      },
    );
  }
}

/**
 * The endpoints the node's HTTPS service listens on and the hints it announces, from
 * [node]tub.port and tub.location, following Tahoe-LAFS: no tub.port means the port saved in
 * BASEDIR/client.port (picked and saved on first start); no tub.location means AUTO, which
 * stands for every local IPv4 address with the port of the first tcp endpoint.
 */
export async function resolveTubEndpoints(
  basedir: string,
  config: TahoeConfig,
  options: TubEndpointOptions = {},
): Promise<TubEndpoints> {
  const tubPort = config.node.tubPort;
  if (tubPort?.kind === "disabled") return { listen: [], hints: [] };
  const listen = tubPort === undefined ? await portFromFile(basedir, options) : tubPort.endpoints;
  const location = config.node.tubLocation ?? { kind: "hints" as const, hints: [], auto: true };
  if (location.kind === "disabled") return { listen, hints: [] };
  const hints = [...location.hints];
  const tcpPort = listen.find((e) => e.kind === "tcp")?.port;
  if (location.auto && tcpPort !== undefined) {
    for (const host of (options.localAddresses ?? localIpv4Addresses)()) {
      hints.push({ kind: "tcp", host, port: tcpPort });
    }
  }
  return { listen, hints };
}
