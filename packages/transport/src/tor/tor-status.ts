import type { ClientEndpoint } from "@lafs/config";
import { isTahoeError, type Logger, silentLogger } from "@lafs/interface";
import { parseBootstrapPhase } from "./bootstrap.js";
import type { TorControl } from "./control-connection.js";
import { formatClientEndpoint, probeSocks } from "./endpoints.js";
import { parseSocksListeners } from "./socks-listeners.js";
import type { TorProvider, TorSettings } from "./tor-provider.js";

/** What the node knows of its Tor, for `tahoe run`, `tahoe status` and the welcome page. */
export interface TorStatus {
  /** Bootstrapped, the SOCKS port answers, and the onion service (if any) has its descriptor uploaded. */
  readonly ready: boolean;
  /** How this was learned: Tor's control port, or (without one) a SOCKS greeting. */
  readonly via: "control-port" | "socks-probe";
  /** The control port asked, when via is control-port and one was reached. */
  readonly controlPort?: string | undefined;
  /** Tor's status/bootstrap-phase; unknown (undefined) without a control port. */
  readonly bootstrap?: { progress: number; summary: string; warning?: string | undefined } | undefined;
  /** GETCONF DisableNetwork; unknown without a control port. */
  readonly networkDisabled?: boolean | undefined;
  readonly socks: { endpoint?: string | undefined; reachable: boolean; error?: string | undefined };
  /** The node's onion service, once added to Tor. */
  readonly onion?:
    | { address: string; descriptorUploaded: boolean; lastFailure?: string | undefined }
    | undefined;
  /** Why not ready, in one sentence naming the tor involved; undefined when ready. */
  readonly problem?: string | undefined;
  /** What to do about the problem. */
  readonly hint?: string | undefined;
  /** Milliseconds since the epoch. */
  readonly checkedAt: number;
}

export interface TorMonitorOptions {
  readonly provider: TorProvider;
  readonly settings: TorSettings;
  /** The node publishes an onion service: the control port is needed anyway, so it is asked. */
  readonly onion?: boolean | undefined;
  /** How often the state is read again; default 5 s. */
  readonly intervalMs?: number | undefined;
  /** Per SOCKS probe; default 5 s. */
  readonly probeTimeoutMs?: number | undefined;
  readonly logger?: Logger | undefined;
  readonly now?: (() => number) | undefined;
}

export interface TorMonitor {
  /** The state last read (synchronous, for status pages); "checking" until the first read ends. */
  status(): TorStatus;
  /** Reads Tor's state now. */
  refresh(): Promise<TorStatus>;
  /** Resolves with the first ready status, or with the status when timeoutMs ran out or signal aborted. */
  waitUntilReady(timeoutMs: number, signal?: AbortSignal): Promise<TorStatus>;
  /** Called when ready or problem changes; returns the unsubscribe call. */
  onChange(listener: (status: TorStatus) => void): () => void;
  /** The onion service the node added (service id without .onion): its descriptor uploads are watched. */
  watchOnion(serviceId: string): void;
  /** Starts the periodic reads. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const NO_BOOTSTRAP_HINT =
  "Tor cannot reach the Tor network yet: check this machine's network access and the tor's log (or the Bridge/DirAuthority lines of its torrc); lafs-ts keeps checking.";

/** The one-line summary `tahoe run` and `tahoe status` print. */
export function describeTorStatus(s: TorStatus): string {
  const parts: string[] = [];
  if (s.bootstrap !== undefined) parts.push(`bootstrapped ${s.bootstrap.progress}%`);
  else if (s.via === "socks-probe") parts.push("bootstrap unknown (no control port)");
  parts.push(
    s.socks.reachable
      ? `SOCKS ${s.socks.endpoint} answers`
      : `SOCKS ${s.socks.endpoint ?? "port"} not reachable`,
  );
  if (s.onion !== undefined) {
    parts.push(
      `${s.onion.address} descriptor ${s.onion.descriptorUploaded ? "uploaded" : "not uploaded yet"}`,
    );
  }
  return `${s.ready ? "ready" : "NOT READY"}: ${parts.join(", ")}${s.problem ? `; ${s.problem}` : ""}`;
}

/** HS_DESC events (control-spec §4.1.25): "HS_DESC UPLOADED|FAILED <id> <auth> <hsdir> ... [REASON=x]". */
export function parseHsDescEvent(
  event: string,
): { action: string; serviceId: string; reason?: string | undefined } | undefined {
  const m = /^HS_DESC (\S+) (\S+)/.exec(event);
  if (m === null) return undefined;
  return { action: m[1] as string, serviceId: m[2] as string, reason: /REASON=(\S+)/.exec(event)?.[1] };
}

/**
 * Watches the node's Tor: through the control port (bootstrap phase, DisableNetwork, SOCKS
 * listeners, HS_DESC events) when the node has one ([tor]launch, control.port, or an onion
 * service), else by a SOCKS greeting to the SOCKS port. A broken or absent tor shows as a
 * problem with a hint instead of an exception.
 */
export function createTorMonitor(options: TorMonitorOptions): TorMonitor {
  const { provider, settings } = options;
  const now = options.now ?? Date.now;
  const log = (options.logger ?? silentLogger).child({ component: "tor-status" });
  const probeTimeoutMs = options.probeTimeoutMs ?? 5000;
  const useControl = settings.launch || settings.controlPort !== undefined || options.onion === true;
  const listeners = new Set<(s: TorStatus) => void>();
  const uploaded = new Set<string>();
  const failures = new Map<string, string>();
  let onionId: string | undefined;
  let subscribedOn: TorControl | undefined;
  let latestPhase: TorStatus["bootstrap"];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let reading: Promise<TorStatus> | undefined;
  let current: TorStatus = {
    ready: false,
    via: useControl ? "control-port" : "socks-probe",
    socks: { reachable: false },
    problem: "Tor's state has not been read yet",
    hint: "Wait a few seconds; lafs-ts is asking Tor.",
    checkedAt: now(),
  };

  const onion = (): TorStatus["onion"] =>
    onionId === undefined
      ? undefined
      : {
          address: `${onionId}.onion`,
          descriptorUploaded: uploaded.has(onionId),
          lastFailure: failures.get(onionId),
        };

  function publish(next: TorStatus): TorStatus {
    const before = current;
    current = next;
    if (before.ready !== next.ready || before.problem !== next.problem) {
      if (next.ready) log.info({ tor: describeTorStatus(next) }, "tor ready");
      else log.warn({ tor: describeTorStatus(next), hint: next.hint }, `tor not ready: ${next.problem}`);
      for (const l of listeners) l(next);
    }
    return next;
  }

  /** Events keep bootstrap and descriptor state current between reads. */
  async function subscribe(c: TorControl): Promise<void> {
    if (subscribedOn === c) return;
    await c.subscribe(["STATUS_CLIENT", "HS_DESC"], (event) => {
      const desc = parseHsDescEvent(event);
      if (desc?.action === "UPLOADED") uploaded.add(desc.serviceId);
      else if (desc?.action === "FAILED") failures.set(desc.serviceId, desc.reason ?? "no reason given");
      const phase = parseBootstrapPhase(event);
      if (phase !== undefined) latestPhase = phase;
      if (desc !== undefined || phase !== undefined) void refresh().catch(() => {});
    });
    subscribedOn = c;
  }

  async function probe(endpoint: ClientEndpoint): Promise<TorStatus["socks"]> {
    const error = await probeSocks(endpoint, probeTimeoutMs);
    return { endpoint: formatClientEndpoint(endpoint), reachable: error === undefined, error };
  }

  async function readThroughControl(): Promise<TorStatus> {
    let c: TorControl;
    try {
      c = await provider.control();
    } catch (error) {
      return failed(error, { via: "control-port", socks: { reachable: false } });
    }
    try {
      await subscribe(c);
      const info = await c.getInfo("status/bootstrap-phase", "net/listeners/socks");
      const conf = await c.command("GETCONF DisableNetwork");
      const networkDisabled = /DisableNetwork=1/.test(conf.lines.join(" "));
      const phase = parseBootstrapPhase(info.get("status/bootstrap-phase") ?? "") ?? latestPhase;
      const bootstrap =
        phase === undefined
          ? undefined
          : {
              progress: phase.progress,
              summary: phase.summary,
              warning: phase.warning ?? latestPhase?.warning,
            };
      const listener = settings.socksPort ?? parseSocksListeners(info.get("net/listeners/socks") ?? "")[0];
      const socks =
        listener === undefined
          ? { reachable: false, error: "tor has no SOCKS port (SocksPort 0)" }
          : await probe(listener);
      const base = {
        via: "control-port" as const,
        controlPort: c.endpoint,
        bootstrap,
        networkDisabled,
        socks,
      };
      return judge(base);
    } catch (error) {
      return failed(error, { via: "control-port", controlPort: c.endpoint, socks: { reachable: false } });
    }
  }

  async function readThroughSocks(): Promise<TorStatus> {
    try {
      const endpoint = await provider.socksEndpoint();
      const client: ClientEndpoint =
        "path" in endpoint ? { kind: "unix", path: endpoint.path } : { kind: "tcp", ...endpoint };
      return judge({ via: "socks-probe", socks: await probe(client) });
    } catch (error) {
      return failed(error, { via: "socks-probe", socks: { reachable: false } });
    }
  }

  function failed(error: unknown, base: Pick<TorStatus, "via" | "controlPort" | "socks">): TorStatus {
    if (!isTahoeError(error)) throw error;
    return {
      ...base,
      ready: false,
      onion: onion(),
      problem: error.message,
      hint: error.hint,
      checkedAt: now(),
    };
  }

  /** The first problem in the order a person fixes them: no network, no SOCKS, no bootstrap, no descriptor. */
  function judge(base: Omit<TorStatus, "ready" | "checkedAt" | "onion">): TorStatus {
    const o = onion();
    const tor = base.controlPort === undefined ? "tor" : `tor (control port ${base.controlPort})`;
    const out = (problem?: string, hint?: string): TorStatus => ({
      ...base,
      onion: o,
      ready: problem === undefined,
      problem,
      hint,
      checkedAt: now(),
    });
    if (base.networkDisabled === true) {
      return out(
        `${tor} has DisableNetwork 1: it connects to nothing, so it cannot bootstrap, reach servers or publish an onion service`,
        "Remove 'DisableNetwork 1' from that tor's torrc (or [tor]torrc.file) and restart it.",
      );
    }
    if (!base.socks.reachable) {
      return out(
        base.socks.endpoint === undefined
          ? `${tor} has no SOCKS port (SocksPort 0), so no connection can go through it`
          : `${tor}'s SOCKS port ${base.socks.endpoint} does not answer: ${base.socks.error}`,
        "Give that tor a SocksPort (torrc), or name a working one with [tor]socks.port.",
      );
    }
    const b = base.bootstrap;
    if (b !== undefined && b.progress < 100) {
      return out(
        `${tor} has not bootstrapped: at ${b.progress}% (${b.summary})${b.warning ? `; last warning: ${b.warning}` : ""}`,
        NO_BOOTSTRAP_HINT,
      );
    }
    if (o !== undefined && !o.descriptorUploaded) {
      return out(
        `the onion service ${o.address} is not reachable yet: Tor has not uploaded its descriptor${o.lastFailure ? ` (last upload failed: ${o.lastFailure})` : ""}`,
        "Peers cannot connect until it is uploaded, usually within a minute of bootstrapping; if it stays, check tor's log.",
      );
    }
    return out();
  }

  function refresh(): Promise<TorStatus> {
    reading ??= (useControl ? readThroughControl() : readThroughSocks())
      .then((s) => (stopped ? s : publish(s)))
      .finally(() => {
        reading = undefined;
      });
    return reading;
  }

  function onChange(listener: (s: TorStatus) => void): () => void {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  return {
    status: () => current,
    refresh,
    waitUntilReady(timeoutMs, signal) {
      if (current.ready) return Promise.resolve(current);
      return new Promise((resolve) => {
        const finish = () => {
          clearTimeout(t);
          unsubscribe();
          signal?.removeEventListener("abort", finish);
          resolve(current);
        };
        const unsubscribe = onChange((s) => {
          if (s.ready) finish();
        });
        const t = setTimeout(finish, timeoutMs);
        signal?.addEventListener("abort", finish, { once: true });
        if (signal?.aborted) finish();
      });
    },
    onChange,
    watchOnion(serviceId) {
      onionId = serviceId;
      void refresh().catch(() => {});
    },
    /** Does not wait for the first read: a tor that hangs must not hold up the node's start. */
    async start() {
      stopped = false;
      const tick = () => {
        timer = setTimeout(() => {
          void refresh()
            .catch((error: unknown) => log.error({ err: error }, "reading tor's state failed"))
            .finally(() => {
              if (!stopped) tick();
            });
        }, options.intervalMs ?? 5000);
        timer.unref();
      };
      void refresh().catch((error: unknown) => log.error({ err: error }, "reading tor's state failed"));
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      listeners.clear();
      await reading?.catch(() => {});
    },
  };
}
