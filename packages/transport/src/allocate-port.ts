import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { TahoeError } from "@lafs/interface";

export interface AllocatePortOptions {
  /**
   * The interface the port must be free on. The default, "0.0.0.0", matches a `tcp:PORT`
   * endpoint that listens on every interface; use "127.0.0.1" for loopback-only services.
   */
  host?: string;
}

/** Below this are the well-known ports and many fixed services; allocation stays above it. */
const LOWEST_PORT = 10_000;
/** Random ports tried below the ephemeral range before leaving the choice to the kernel. */
const TRIES = 16;
/** Ports this process handed out lately, so nodes created together never share one. */
const recent = new Set<number>();
const RECENT_MAX = 1024;

/**
 * Linux's ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range): where the kernel picks
 * the source port of every outgoing connection and the port of every `listen(0)`. Undefined
 * elsewhere.
 */
function ephemeralRange(): { low: number; high: number } | undefined {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return { low: low!, high: high! };
  } catch {
    // Not Linux, or /proc is hidden: the kernel chooses, as before.
  }
  return undefined;
}

function allocationError(host: string, cause: NodeJS.ErrnoException): TahoeError {
  return new TahoeError(
    "TAHOE_ERR_TRANSPORT_PORT_ALLOCATION",
    `could not find a free TCP port on ${host}: ${cause.code ?? cause.message}`,
    {
      hint: "Check that the address belongs to this machine, or give the port explicitly (--port/--location).",
      cause,
    },
  );
}

/** Binds `port` (0: the kernel's choice) and lets go again; the port that was bound. */
function bindOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

/** `port` if it is free on `host` now, undefined if something holds it. */
async function tryPort(host: string, port: number): Promise<number | undefined> {
  try {
    return await bindOnce(host, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES") return undefined;
    throw allocationError(host, error as NodeJS.ErrnoException);
  }
}

/**
 * Finds a TCP port that is free now, so `tahoe create-*` can write it into tahoe.cfg and the
 * node never has to choose one at start (the 2015 static-configuration note). Another process
 * could take it before the node starts, the race Tahoe-LAFS accepts; to make that rare, the
 * port is chosen below the kernel's ephemeral range where there is one (Linux), since every
 * outgoing connection on the machine takes its source port from that range and could be
 * holding the node's port just when it starts. Elsewhere the kernel picks, as in Tahoe-LAFS.
 */
export async function allocatePort(options: AllocatePortOptions = {}): Promise<number> {
  const host = options.host ?? "0.0.0.0";
  const range = ephemeralRange();
  let port: number | undefined;
  if (range !== undefined && range.low - LOWEST_PORT >= 1000) {
    for (let i = 0; i < TRIES && port === undefined; i++) {
      const candidate = randomInt(LOWEST_PORT, range.low);
      if (!recent.has(candidate)) port = await tryPort(host, candidate);
    }
  }
  port ??= await bindOnce(host, 0).catch((error: NodeJS.ErrnoException) => {
    throw allocationError(host, error);
  });
  recent.add(port);
  if (recent.size > RECENT_MAX) recent.delete(recent.values().next().value!);
  return port;
}
