import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientEndpoint, formatClientEndpoint } from "@lafs/config";
import { isTahoeError } from "@lafs/interface";
import { connectTorControl, type TorControl } from "./control-connection.js";
import { DEFAULT_TOR_ENDPOINTS, describeTried, type TriedEndpoint } from "./endpoints.js";
import { TorError } from "./errors.js";
import { launchTor } from "./launch.js";
import { addOnion, delOnion, type OnionService } from "./onion.js";

/** How `tahoe create-node --listen=tor` reaches a tor to make the onion service key. */
export type OnionAllocator =
  | { kind: "launch"; executable?: string | undefined }
  | { kind: "control"; endpoint: ClientEndpoint }
  /** --listen=tor alone: the default control ports (DEFAULT_TOR_ENDPOINTS.control), in order. */
  | { kind: "default"; candidates?: readonly ClientEndpoint[] | undefined };

export interface AllocateOnionOptions {
  readonly via: OnionAllocator;
  /** The 127.0.0.1 port tub.port will listen on, and the port in tub.location. */
  readonly localPort: number;
  readonly externalPort: number;
  /** One line per step ("launching tor ...", "created ..."), for the CLI to print. */
  readonly onProgress?: ((line: string) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface AllocatedOnion extends OnionService {
  /** `tor:ID.onion:PORT`, for tub.location. */
  readonly hint: string;
  /** The control port that made it (for [tor]control.port), or undefined when a tor was launched. */
  readonly controlPort: ClientEndpoint | undefined;
}

/**
 * Makes a new v3 onion service key for a node directory that does not exist yet, and leaves
 * no service behind: the node publishes it at `tahoe run`. A launched tor runs with
 * DisableNetwork 1 in a temporary directory, since making a key needs no network. Errors name
 * every endpoint tried and why it failed; nothing is written anywhere.
 */
export async function allocateOnionService(options: AllocateOnionOptions): Promise<AllocatedOnion> {
  const say = options.onProgress ?? (() => {});
  const via = options.via;
  if (via.kind === "launch") {
    const dir = await mkdtemp(join(tmpdir(), "lafs-tor-create-"));
    try {
      say(`launching ${via.executable ?? "tor"} (offline, only to make the onion key)...`);
      const tor = await launchTor({
        executable: via.executable,
        dataDirectory: dir,
        disableNetwork: true,
        startTimeoutMs: options.timeoutMs,
        signal: options.signal,
      });
      try {
        return await makeOnion(tor.control, options, undefined, say);
      } finally {
        await tor.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const candidates =
    via.kind === "control" ? [via.endpoint] : (via.candidates ?? DEFAULT_TOR_ENDPOINTS.control);
  const tried: TriedEndpoint[] = [];
  for (const endpoint of candidates) {
    let control: TorControl;
    say(`connecting to Tor's control port ${formatClientEndpoint(endpoint)}...`);
    try {
      control = await connectTorControl(endpoint, { signal: options.signal, timeoutMs: options.timeoutMs });
    } catch (error) {
      if (!isTahoeError(error) || via.kind === "control" || error.code === "TAHOE_ERR_TOR_AUTH") throw error;
      tried.push({ what: formatClientEndpoint(endpoint), why: error.message });
      continue;
    }
    try {
      return await makeOnion(control, options, endpoint, say);
    } finally {
      await control.close();
    }
  }
  throw new TorError("TAHOE_ERR_TOR_NOT_FOUND", `no Tor control port found; tried ${describeTried(tried)}`, {
    hint: "Give the control port of a running tor with --tor-control-port=tcp:127.0.0.1:9051 (its torrc needs ControlPort and CookieAuthentication 1), or use --tor-launch.",
  });
}

async function makeOnion(
  control: TorControl,
  options: AllocateOnionOptions,
  endpoint: ClientEndpoint | undefined,
  say: (line: string) => void,
): Promise<AllocatedOnion> {
  const service = await addOnion(control, {
    externalPort: options.externalPort,
    localPort: options.localPort,
  });
  // The node is not running yet: take the service down again; `tahoe run` publishes it.
  await delOnion(control, service.serviceId);
  say(`created onion service ${service.serviceId}.onion`);
  return {
    ...service,
    hint: `tor:${service.serviceId}.onion:${options.externalPort}`,
    controlPort: endpoint,
  };
}
