import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionHint, StaticServer, TahoeConfig } from "@lafs/config";
import { isTahoeError, type Logger, silentLogger } from "@lafs/interface";
import { type AttemptLog, type ConnectionAttempt, createAttemptLog } from "./attempts.js";
import { abortReason, describeError, TransportError } from "./errors.js";
import {
  checkDaemonIsLocal,
  createI2pHandler,
  createTcpHandler,
  createTorHandler,
  daemonEndpoint,
  type HintHandler,
  type SamEndpointSource,
  type SocksEndpointSource,
} from "./handlers.js";
import type { OverrideRule } from "./override-rules.js";
import {
  type AnnouncedConnections,
  decideHandler,
  type HandlerDecision,
  type HandlerName,
  policyInput,
  safeHint,
} from "./policy.js";
import { linkSignals } from "./signals.js";

/** Exactly @lafs/storage-client's ConnectFunction: hand it to createStorageClient({connect}). */
export type ConnectFunction = (hint: ConnectionHint, signal: AbortSignal) => Promise<Duplex>;

export interface ConnectOptions {
  serverId?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Default: the transport's defaultTimeoutMs. */
  timeoutMs?: number | undefined;
}

export interface ConnectAnyOptions extends ConnectOptions {
  /** Delay before the next hint is tried while earlier ones are still pending (happy eyeballs). */
  staggerMs?: number;
}

/** Whether one hint can be dialled at all, and if not, why and which setting would change that. */
export interface HintReachability {
  hint: string;
  handler: HandlerName;
  /** The setting that chose the handler. */
  chosenBy: string;
  available: boolean;
  reason?: string;
  /** The setting to change to make this hint usable. */
  setting?: string;
}

export interface Reachability {
  reachable: boolean;
  reason?: string;
  setting?: string;
  hints: HintReachability[];
}

export interface Transport {
  /** Dials one hint with the handler the policy chooses; records the attempt. */
  connect(hint: ConnectionHint, options?: ConnectOptions): Promise<Duplex>;
  /** Happy eyeballs over a server's hints in order: staggered starts, first success wins. */
  connectAny(
    hints: readonly ConnectionHint[],
    options?: ConnectAnyOptions,
  ): Promise<{ socket: Duplex; hint: ConnectionHint }>;
  /** For one server: its overrides apply to every protocol path that uses this function. */
  connectorFor(serverId?: string): ConnectFunction;
  handlerFor(hint: ConnectionHint, serverId?: string): HandlerName;
  /** The handler and the setting that chose it, in words. */
  decisionFor(hint: ConnectionHint, serverId?: string): HandlerDecision;
  reachability(hints: readonly ConnectionHint[], serverId?: string): Reachability;
  /** Recent attempts of one server (oldest first), or of every server. */
  attempts(serverId?: string): readonly ConnectionAttempt[];
  /** What an introducer announced about reaching a server; undefined forgets it. */
  setAnnouncedOverrides(serverId: string, announced: AnnouncedConnections | undefined): void;
  /** Cancels connections in progress, ends I2P sessions; later connects fail with _CLOSED. */
  close(): Promise<void>;
}

export interface TransportOptions {
  config: Pick<TahoeConfig, "node" | "connections" | "tor" | "i2p"> &
    Partial<Pick<TahoeConfig, "sourceLines">>;
  /** servers.yaml, for `connections:` overrides. */
  staticServers?: readonly StaticServer[];
  /** How messages name servers.yaml; default private/servers.yaml. */
  serversFile?: string;
  /** The parsed override rules file (parseOverrideRules / loadOverrideRules). */
  rules?: readonly OverrideRule[];
  /** The Tor provider. Without it, [tor]socks.port (if set) is used as is; otherwise there is no Tor. */
  tor?: SocksEndpointSource;
  /** The I2P provider. Without it, [i2p]sam.port (if set) is used as is; otherwise there is no I2P. */
  i2p?: SamEndpointSource;
  logger?: Logger;
  now?: () => number;
  /** Per-connect limit where the caller gives none; default 120 s (Tor circuits can be slow). */
  defaultTimeoutMs?: number;
  /** I2CP options for the SAM session (e.g. tunnel lengths). */
  samSessionOptions?: Readonly<Record<string, string>>;
}

const TOR_SETTINGS =
  "[tor]launch = true (tahoe create-node --tor-launch), [tor]control.port (--tor-control-port) or [tor]socks.port";
const I2P_SETTINGS =
  "[i2p]sam.port (tahoe create-node --i2p-sam-port), with an I2P router such as i2pd running";

export function createTransport(options: TransportOptions): Transport {
  const { config } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 120_000;
  const localOnly = !config.node.revealIpAddress;
  const announced = new Map<string, AnnouncedConnections>();
  const input = policyInput(
    config,
    options.staticServers ?? [],
    options.serversFile ?? "private/servers.yaml",
    options.rules ?? [],
    announced,
  );
  const log: AttemptLog = createAttemptLog();
  const closer = new AbortController();

  // Defence in depth beyond the config rules: with reveal-IP-address = false there is no
  // direct-TCP handler at all, so no override, rule or announcement can reach one.
  const tcp: HintHandler | undefined = localOnly ? undefined : createTcpHandler();

  let torSource = options.tor;
  if (!torSource && config.tor.socksPort) {
    const endpoint = daemonEndpoint(config.tor.socksPort);
    if (localOnly) checkDaemonIsLocal(endpoint, "Tor SOCKS port", "[tor]socks.port");
    torSource = { socksEndpoint: async () => endpoint };
  }
  // Stream isolation: on by default when the node hides its address ([tor]stream.isolation).
  const isolate = config.tor.streamIsolation ?? localOnly;
  const tor = config.tor.enabled && torSource ? createTorHandler(torSource, localOnly, isolate) : undefined;

  let samSource = options.i2p;
  if (!samSource && config.i2p.samPort) {
    const sam = config.i2p.samPort;
    if (sam.kind === "unix") {
      throw new TransportError(
        "TAHOE_ERR_TRANSPORT_NO_I2P",
        `[i2p]sam.port = unix:${sam.path}: a SAM bridge listens on TCP only`,
        { hint: "set [i2p]sam.port = tcp:127.0.0.1:7656 (the router's SAM port)" },
      );
    }
    const endpoint = { host: sam.host, port: sam.port };
    if (localOnly) checkDaemonIsLocal(endpoint, "I2P SAM bridge", "[i2p]sam.port");
    samSource = { samEndpoint: async () => endpoint };
  }
  const i2p =
    config.i2p.enabled && samSource
      ? createI2pHandler(samSource, localOnly, options.samSessionOptions)
      : undefined;

  /** Why a hint cannot be dialled with its handler: undefined when it can. */
  function blocked(
    decision: HandlerDecision,
    hintText: string,
  ): { error: TransportError; setting: string } | undefined {
    switch (decision.handler) {
      case "disabled":
        return {
          error: new TransportError(
            "TAHOE_ERR_TRANSPORT_DISABLED",
            `${hintText} is not used: its handler is disabled by ${decision.setting}`,
            { hint: "to use such hints, change that setting to tcp or tor" },
          ),
          setting: decision.setting,
        };
      case "tcp":
        if (tcp) return undefined;
        return {
          error: new TransportError(
            "TAHOE_ERR_TRANSPORT_PRIVACY",
            `${hintText} would be dialled directly (chosen by ${decision.setting}), revealing this node's IP address, ` +
              "but [node]reveal-IP-address is false",
            { hint: "set [connections]tcp = tor and make the override for this server tor or disabled" },
          ),
          setting:
            decision.source === "tahoe.cfg" ? "[connections]tcp = tor" : `${decision.setting}: use tor`,
        };
      case "tor":
        if (tor) return undefined;
        return {
          error: new TransportError(
            "TAHOE_ERR_TRANSPORT_NO_TOR",
            config.tor.enabled
              ? `${hintText} needs Tor (chosen by ${decision.setting}), and this node has no Tor configured`
              : `${hintText} needs Tor (chosen by ${decision.setting}), but [tor]enabled is false`,
            { hint: config.tor.enabled ? `configure Tor: ${TOR_SETTINGS}` : "set [tor]enabled = true" },
          ),
          setting: config.tor.enabled ? TOR_SETTINGS : "[tor]enabled = true",
        };
      case "i2p":
        if (i2p) return undefined;
        return {
          error: new TransportError(
            "TAHOE_ERR_TRANSPORT_NO_I2P",
            config.i2p.enabled
              ? `${hintText} needs I2P, and this node has no I2P router configured`
              : `${hintText} needs I2P, but [i2p]enabled is false`,
            { hint: config.i2p.enabled ? `configure I2P: ${I2P_SETTINGS}` : "set [i2p]enabled = true" },
          ),
          setting: config.i2p.enabled ? I2P_SETTINGS : "[i2p]enabled = true",
        };
    }
  }

  function handler(name: HandlerName): HintHandler | undefined {
    return name === "tcp" ? tcp : name === "tor" ? tor : name === "i2p" ? i2p : undefined;
  }

  async function connect(hint: ConnectionHint, opts: ConnectOptions = {}): Promise<Duplex> {
    const hintText = safeHint(hint);
    const decision = decideHandler(input, hint, opts.serverId);
    const at = now();
    const started = performance.now();
    const record = (ok: boolean, err?: unknown) => {
      const attempt: ConnectionAttempt = {
        hint: hintText,
        handler: decision.handler,
        ok,
        at,
        durationMs: Math.round(performance.now() - started),
      };
      if (opts.serverId !== undefined) attempt.serverId = opts.serverId;
      if (!ok) {
        attempt.error = {
          code: isTahoeError(err) ? err.code : "TAHOE_ERR_TRANSPORT_CONNECT_FAILED",
          message: describeError(err),
        };
      }
      log.record(attempt);
      logger.debug(
        {
          serverId: opts.serverId,
          hint: hintText,
          handler: decision.handler,
          ok,
          error: attempt.error?.code,
        },
        "connection attempt",
      );
    };
    try {
      if (closer.signal.aborted) throw closer.signal.reason;
      const stop = blocked(decision, hintText);
      if (stop) throw stop.error;
      const chosen = handler(decision.handler);
      if (!chosen) throw new Error(`no handler object for ${decision.handler}`);
      const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
      const linked = linkSignals(
        [opts.signal, closer.signal],
        timeoutMs,
        () => `no connection to ${hintText} within ${timeoutMs} ms (${decision.handler} handler)`,
      );
      let socket: Socket;
      try {
        socket = await chosen.connect(hint, hintText, linked.signal, opts.serverId);
      } catch (err) {
        if (linked.signal.aborted) throw abortReason(linked.signal, `connecting to ${hintText}`);
        throw err;
      } finally {
        linked.dispose();
      }
      record(true);
      return socket;
    } catch (err) {
      record(false, err);
      throw err;
    }
  }

  function connectAny(
    hints: readonly ConnectionHint[],
    opts: ConnectAnyOptions = {},
  ): Promise<{ socket: Duplex; hint: ConnectionHint }> {
    const stagger = opts.staggerMs ?? 250;
    return new Promise((resolve, reject) => {
      if (hints.length === 0) {
        reject(
          new TransportError(
            "TAHOE_ERR_TRANSPORT_CONNECT_FAILED",
            `server ${opts.serverId ?? "(unnamed)"} has no hints to connect to`,
            {
              hint: "the server's announcement or NURL lists no location hints",
            },
          ),
        );
        return;
      }
      const failures: string[] = [];
      const errors: unknown[] = [];
      const controllers: AbortController[] = [];
      let started = 0;
      let finished = 0;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        if (settled) return;
        finish();
        for (const c of controllers) c.abort(opts.signal?.reason);
        reject(abortReason(opts.signal!, `connecting to server ${opts.serverId ?? "(unnamed)"}`));
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const startNext = () => {
        clearTimeout(timer);
        if (settled || started >= hints.length) return;
        const index = started++;
        const hint = hints[index]!;
        const controller = new AbortController();
        controllers[index] = controller;
        connect(hint, { serverId: opts.serverId, signal: controller.signal, timeoutMs: opts.timeoutMs }).then(
          (socket) => {
            if (settled) {
              socket.destroy();
              return;
            }
            finish();
            controllers.forEach((c, i) => {
              if (i !== index) {
                c.abort(
                  new TransportError(
                    "TAHOE_ERR_TRANSPORT_ABORTED",
                    `${safeHint(hints[i]!)}: another hint connected first`,
                    {
                      hint: "nothing to fix: happy eyeballs keeps the first connection that succeeds",
                    },
                  ),
                );
              }
            });
            resolve({ socket, hint });
          },
          (err) => {
            finished++;
            failures[index] = `${safeHint(hint)}: ${describeError(err)}`;
            errors[index] = err;
            if (settled) return;
            if (finished === hints.length) {
              finish();
              reject(
                new TransportError(
                  "TAHOE_ERR_TRANSPORT_CONNECT_FAILED",
                  `cannot connect to server ${opts.serverId ?? "(unnamed)"}: every hint failed: ${failures.join("; ")}`,
                  {
                    hint: "each hint's own error says what to change; the server may also just be down",
                    cause: errors.find(Boolean),
                  },
                ),
              );
            } else if (finished === started) startNext();
          },
        );
        if (started < hints.length) timer = setTimeout(startNext, stagger);
      };
      startNext();
    });
  }

  function reachability(hints: readonly ConnectionHint[], serverId?: string): Reachability {
    const rows: HintReachability[] = hints.map((hint) => {
      const hintText = safeHint(hint);
      const decision = decideHandler(input, hint, serverId);
      const stop = blocked(decision, hintText);
      const row: HintReachability = {
        hint: hintText,
        handler: decision.handler,
        chosenBy: decision.setting,
        available: stop === undefined,
      };
      if (stop) {
        row.reason = stop.error.message;
        row.setting = stop.setting;
      }
      return row;
    });
    if (rows.some((r) => r.available)) return { reachable: true, hints: rows };
    if (rows.length === 0) {
      return {
        reachable: false,
        reason: `server ${serverId ?? "(unnamed)"} announced no connection hints`,
        hints: rows,
      };
    }
    const settings = [...new Set(rows.map((r) => r.setting!))];
    return {
      reachable: false,
      reason: `every hint of server ${serverId ?? "(unnamed)"} needs a handler this node lacks: ${rows.map((r) => r.reason).join("; ")}`,
      setting: settings.join("; or "),
      hints: rows,
    };
  }

  return {
    connect,
    connectAny,
    connectorFor: (serverId) => (hint, signal) => connect(hint, { serverId, signal }),
    handlerFor: (hint, serverId) => decideHandler(input, hint, serverId).handler,
    decisionFor: (hint, serverId) => decideHandler(input, hint, serverId),
    reachability,
    attempts: (serverId) => log.list(serverId),
    setAnnouncedOverrides(serverId, value) {
      if (value === undefined) announced.delete(serverId);
      else announced.set(serverId, value);
    },
    async close() {
      if (!closer.signal.aborted) {
        closer.abort(
          new TransportError("TAHOE_ERR_TRANSPORT_CLOSED", "the node is shutting down: no new connections", {
            hint: "nothing to fix: connections end when the node stops",
          }),
        );
      }
      tor?.close();
      i2p?.close();
    },
  };
}
