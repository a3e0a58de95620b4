import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { type ClientEndpoint, type ConnectionHint, isLoopbackHost } from "@lafs/config";
import { type DaemonEndpoint, describeEndpoint, dialSocket, errnoText } from "./dial.js";
import { TransportError } from "./errors.js";
import { type SamSession, samCreateSession, samStreamConnect } from "./sam.js";
import { socks5Connect } from "./socks5.js";

/** Where Tor's SOCKS port is: part of the Tor provider (launched tor, control port, socks.port). */
export interface SocksEndpointSource {
  socksEndpoint(signal?: AbortSignal): Promise<{ host: string; port: number } | { path: string }>;
}

/** Where the I2P router's SAM bridge is. */
export interface SamEndpointSource {
  samEndpoint(signal?: AbortSignal): Promise<{ host: string; port: number }>;
}

/** Dials one hint; the transport has already decided this handler is the one to use. */
export interface HintHandler {
  /** serverId, when known, names whose connection this is (Tor's stream isolation uses it). */
  connect(hint: ConnectionHint, hintText: string, signal: AbortSignal, serverId?: string): Promise<Socket>;
  close(): void;
}

/**
 * Direct TCP, the only handler that reveals this node's address. A name is resolved by the
 * system, and Node's happy eyeballs (autoSelectFamily) races its IPv6 and IPv4 addresses.
 */
export function createTcpHandler(): HintHandler {
  return {
    async connect(hint, hintText, signal) {
      if (hint.port === undefined) {
        throw new TransportError(
          "TAHOE_ERR_TRANSPORT_TCP_FAILED",
          `cannot connect to ${hintText}: it has no port`,
          {
            hint: "a tcp hint is tcp:HOST:PORT",
          },
        );
      }
      try {
        return await dialSocket({ host: hint.host, port: hint.port }, signal, `connecting to ${hintText}`);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new TransportError(
          "TAHOE_ERR_TRANSPORT_TCP_FAILED",
          `cannot connect to ${hintText}: ${errnoText(err)}`,
          {
            hint: "check that the server runs and that the hint's host and port are right; a firewall may block the port",
            cause: err,
          },
        );
      }
    },
    close() {},
  };
}

/**
 * When the node must hide its address, a daemon it talks to must be on this machine: a SOCKS
 * or SAM port elsewhere would see (and could reveal) where the node is.
 */
export function checkDaemonIsLocal(endpoint: DaemonEndpoint, what: string, setting: string): void {
  if ("path" in endpoint || isLoopbackHost(endpoint.host)) return;
  throw new TransportError(
    "TAHOE_ERR_TRANSPORT_PRIVACY",
    `the ${what} ${describeEndpoint(endpoint)} is not on this machine, but [node]reveal-IP-address is false: ` +
      "connecting to it would reveal this node's IP address",
    { hint: `set ${setting} to a loopback address (127.0.0.1, [::1]) or a unix socket` },
  );
}

export function daemonEndpoint(e: ClientEndpoint): DaemonEndpoint {
  return e.kind === "unix" ? { path: e.path } : { host: e.host, port: e.port };
}

/**
 * Tor through its SOCKS port. The hint's host goes to Tor as written (a name as a name, an
 * address as an address), so no name is ever looked up on this machine.
 */
export function createTorHandler(
  source: SocksEndpointSource,
  localOnly: boolean,
  isolate = false,
): HintHandler {
  // A new password per node run: a restarted node does not reuse its last run's circuits.
  const runNonce = randomBytes(8).toString("hex");
  return {
    async connect(hint, hintText, signal, serverId) {
      if (hint.port === undefined) {
        throw new TransportError(
          "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
          `cannot send ${hintText} to Tor: it has no port`,
          {
            hint: "tor and tcp hints are KIND:HOST:PORT",
          },
        );
      }
      const proxy = await source.socksEndpoint(signal);
      if (localOnly) checkDaemonIsLocal(proxy, "Tor SOCKS port", "[tor]socks.port");
      // IsolateSOCKSAuth: one username per server (or, for an introducer, per host and port), so
      // Tor builds each its own circuits and no relay sees which servers one client uses.
      const auth = isolate
        ? { username: isolationKey(serverId, hint.host, hint.port), password: runNonce }
        : undefined;
      return socks5Connect(proxy, { host: hint.host, port: hint.port }, signal, auth);
    },
    close() {},
  };
}

/** The SOCKS username of one peer: its server id, or its hint's host and port when it has none. */
export function isolationKey(serverId: string | undefined, host: string, port: number): string {
  const key = serverId ?? `${host}:${port}`;
  // RFC 1929 fields are at most 255 bytes; a long key is hashed (still one per peer).
  return Buffer.byteLength(key) <= 255 ? key : createHash("sha256").update(key).digest("hex");
}

/**
 * I2P through a SAM bridge: one transient STREAM session per bridge, opened on first use and
 * again after the bridge drops it; each connection is a STREAM CONNECT on its own socket.
 */
export function createI2pHandler(
  source: SamEndpointSource,
  localOnly: boolean,
  sessionOptions: Readonly<Record<string, string>> = {},
): HintHandler {
  const sessions = new Map<string, Promise<SamSession>>();
  let closed = false;

  function session(bridge: { host: string; port: number }, signal: AbortSignal): Promise<SamSession> {
    const key = describeEndpoint(bridge);
    let pending = sessions.get(key);
    if (!pending) {
      // Not tied to this caller's signal: the session outlives the connection that opened it.
      const created = samCreateSession(bridge, AbortSignal.timeout(120_000), { options: sessionOptions });
      pending = created;
      sessions.set(key, created);
      created.then(
        (s) => {
          if (closed) s.close();
          void s.ended.then(() => {
            if (sessions.get(key) === created) sessions.delete(key);
          });
        },
        () => {
          if (sessions.get(key) === created) sessions.delete(key);
        },
      );
    }
    return raceAbort(pending, signal);
  }

  return {
    async connect(hint, _hintText, signal) {
      const bridge = await source.samEndpoint(signal);
      if (localOnly) checkDaemonIsLocal(bridge, "I2P SAM bridge", "[i2p]sam.port");
      const s = await session(bridge, signal);
      return samStreamConnect(s, hint.host, signal, hint.port);
    },
    close() {
      closed = true;
      for (const pending of sessions.values())
        pending.then(
          (s) => s.close(),
          () => {},
        );
      sessions.clear();
    },
  };
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
