import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { type ClientEndpoint, formatClientEndpoint } from "@lafs/config";
import { isTahoeError, type Logger, silentLogger } from "@lafs/interface";
import type { TorProgressListener } from "./bootstrap.js";
import { connectTorControl, type TorControl } from "./control-connection.js";
import {
  DEFAULT_TOR_ENDPOINTS,
  describeTried,
  probeSocks,
  type TorSocksEndpoint,
  type TriedEndpoint,
  toSocksEndpoint,
} from "./endpoints.js";
import { TorError } from "./errors.js";
import { type LaunchedTor, launchTor } from "./launch.js";
import { parseSocksListeners } from "./socks-listeners.js";

/** The [tor] keys the provider reads (TahoeConfig["tor"] has them all). */
export interface TorSettings {
  readonly enabled: boolean;
  readonly launch: boolean;
  readonly executable?: string | undefined;
  readonly controlPort?: ClientEndpoint | undefined;
  readonly socksPort?: ClientEndpoint | undefined;
  readonly torrcFile?: string | undefined;
  /** Seconds; default 300. */
  readonly bootstrapTimeout?: number | undefined;
}

export interface TorProviderOptions {
  /** The node directory: the launched tor keeps its state in private/tor-statedir; relative paths start here. */
  readonly basedir: string;
  readonly tor: TorSettings;
  /** Bootstrap progress of a launched tor ("Bootstrapped NN%"), for the CLI to show. */
  readonly onProgress?: TorProgressListener | undefined;
  readonly logger?: Logger | undefined;
  /** Where to look when [tor] names no tor; DEFAULT_TOR_ENDPOINTS unless a test narrows it. */
  readonly defaults?: { socks: readonly ClientEndpoint[]; control: readonly ClientEndpoint[] } | undefined;
  /** Per probe/connection attempt; default 5 s. */
  readonly probeTimeoutMs?: number | undefined;
}

/**
 * Tor for one node: the SOCKS port that outbound tor: (and, with tcp = tor, tcp:) connections
 * use, and a control connection for onion services. Implements transport's SocksEndpointSource.
 */
export interface TorProvider {
  /**
   * The SOCKS endpoint, in this order: [tor]socks.port as given; the launched tor's (after it
   * bootstrapped, with progress); the one [tor]control.port reports; else the defaults.
   */
  socksEndpoint(signal?: AbortSignal): Promise<TorSocksEndpoint>;
  /** An authenticated control connection: the launched tor's, [tor]control.port's, or a default one. */
  control(signal?: AbortSignal): Promise<TorControl>;
  /** Closes control connections and stops a launched tor. */
  stop(): Promise<void>;
}

export const TOR_STATE_DIR = join("private", "tor-statedir");

/** Reads [tor]torrc.file: one torrc line per line, comments and blank lines dropped. */
export async function readTorrcLines(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new TorError(
      "TAHOE_ERR_TOR_LAUNCH",
      `cannot read [tor]torrc.file '${file}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        hint: "Fix the path in tahoe.cfg (relative paths start at the node directory) or remove the key.",
        cause: error,
      },
    );
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

export function createTorProvider(options: TorProviderOptions): TorProvider {
  const settings = options.tor;
  const log = (options.logger ?? silentLogger).child({ component: "tor" });
  const defaults = options.defaults ?? DEFAULT_TOR_ENDPOINTS;
  const probeTimeoutMs = options.probeTimeoutMs ?? 5000;
  let launched: Promise<LaunchedTor> | undefined;
  let bootstrapped: Promise<void> | undefined;
  let control: Promise<TorControl> | undefined;
  let socks: Promise<TorSocksEndpoint> | undefined;
  let stopped = false;

  const checkUsable = () => {
    if (!settings.enabled) {
      throw new TorError("TAHOE_ERR_TOR_DISABLED", "Tor is turned off: [tor]enabled = false", {
        hint: "Set [tor]enabled = true, or remove the tor: hints / [connections]tcp = tor that need it.",
      });
    }
    if (stopped)
      throw new TorError("TAHOE_ERR_TOR_DISABLED", "the Tor provider was stopped", {
        hint: "This is a node shutting down; start the node again.",
      });
  };

  function launch(signal?: AbortSignal): Promise<LaunchedTor> {
    launched ??= (async () => {
      const torrcFile = settings.torrcFile;
      const extra =
        torrcFile === undefined ? [] : await readTorrcLines(resolvePath(options.basedir, torrcFile));
      log.info({ executable: settings.executable ?? "tor" }, "launching tor");
      const tor = await launchTor({
        executable: settings.executable,
        dataDirectory: resolve(options.basedir, TOR_STATE_DIR),
        extraTorrcLines: extra,
        signal,
      });
      log.info({ pid: tor.pid }, "tor launched");
      return tor;
    })();
    launched.catch(() => {
      launched = undefined;
    });
    return launched;
  }

  async function launchedSocks(signal?: AbortSignal): Promise<TorSocksEndpoint> {
    const tor = await launch(signal);
    bootstrapped ??= tor.waitForBootstrap({
      timeoutMs: (settings.bootstrapTimeout ?? 300) * 1000,
      onProgress: (p) => {
        log.info({ progress: p.progress, tag: p.tag }, `Bootstrapped ${p.progress}%: ${p.summary}`);
        options.onProgress?.(p);
      },
      signal,
    });
    bootstrapped.catch(() => {
      bootstrapped = undefined;
    });
    await bootstrapped;
    return toSocksEndpoint(await tor.socksEndpoint());
  }

  async function socksFromControl(c: TorControl): Promise<ClientEndpoint> {
    const info = await c.getInfo("net/listeners/socks");
    const found = parseSocksListeners(info.get("net/listeners/socks") ?? "")[0];
    if (found === undefined) {
      throw new TorError(
        "TAHOE_ERR_TOR_NOT_FOUND",
        `the tor at ${c.endpoint} has no SOCKS port (SocksPort 0)`,
        {
          hint: "Add a SocksPort line to that tor's torrc, or set [tor]socks.port.",
        },
      );
    }
    return found;
  }

  async function findControl(signal?: AbortSignal): Promise<TorControl> {
    if (settings.launch) return (await launch(signal)).control;
    const candidates = settings.controlPort ? [settings.controlPort] : defaults.control;
    const tried: TriedEndpoint[] = [];
    for (const endpoint of candidates) {
      try {
        return await connectTorControl(endpoint, { signal, timeoutMs: probeTimeoutMs });
      } catch (error) {
        if (!isTahoeError(error)) throw error;
        // A tor that is there but refuses us is the answer, not a reason to try the next one.
        if (settings.controlPort || error.code === "TAHOE_ERR_TOR_AUTH") throw error;
        tried.push({ what: `control port ${formatClientEndpoint(endpoint)}`, why: error.message });
      }
    }
    throw new TorError(
      "TAHOE_ERR_TOR_NOT_FOUND",
      `no Tor control port found; tried ${describeTried(tried)}`,
      {
        hint: "Start tor with a ControlPort and CookieAuthentication 1 and give it with --tor-control-port / [tor]control.port, or let the node launch its own (--tor-launch / [tor]launch = true).",
      },
    );
  }

  async function findSocks(signal?: AbortSignal): Promise<TorSocksEndpoint> {
    if (settings.socksPort) return toSocksEndpoint(settings.socksPort);
    if (settings.launch) return launchedSocks(signal);
    if (settings.controlPort) return toSocksEndpoint(await socksFromControl(await provider.control(signal)));
    const tried: TriedEndpoint[] = [];
    for (const endpoint of defaults.socks) {
      const why = await probeSocks(endpoint, probeTimeoutMs);
      if (why === undefined) return toSocksEndpoint(endpoint);
      tried.push({ what: `SOCKS port ${formatClientEndpoint(endpoint)}`, why });
    }
    for (const endpoint of defaults.control) {
      try {
        const c = await connectTorControl(endpoint, { signal, timeoutMs: probeTimeoutMs });
        try {
          return toSocksEndpoint(await socksFromControl(c));
        } finally {
          await c.close();
        }
      } catch (error) {
        if (!isTahoeError(error)) throw error;
        tried.push({ what: `control port ${formatClientEndpoint(endpoint)}`, why: error.message });
      }
    }
    throw new TorError("TAHOE_ERR_TOR_NOT_FOUND", `no Tor found; tried ${describeTried(tried)}`, {
      hint: "Install and start tor, or set [tor]socks.port or [tor]control.port, or [tor]launch = true to let the node start its own.",
    });
  }

  const provider: TorProvider = {
    async socksEndpoint(signal) {
      checkUsable();
      socks ??= findSocks(signal);
      socks.catch(() => {
        socks = undefined;
      });
      return socks;
    },
    async control(signal) {
      checkUsable();
      if (control === undefined) {
        const opening: Promise<TorControl> = findControl(signal).then((c) => {
          // A tor restart drops the connection; the next call opens a new one.
          void c.closed.then(() => {
            if (control === opening) control = undefined;
          });
          return c;
        });
        opening.catch(() => {
          if (control === opening) control = undefined;
        });
        control = opening;
      }
      return control;
    },
    async stop() {
      stopped = true;
      const c = control;
      const l = launched;
      control = undefined;
      launched = undefined;
      if (l !== undefined) {
        const tor = await l.catch(() => undefined);
        await tor?.stop();
        log.info("tor stopped");
      } else if (c !== undefined) {
        await (await c.catch(() => undefined))?.close();
      }
    },
  };
  return provider;
}

function resolvePath(basedir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(basedir, path);
}
