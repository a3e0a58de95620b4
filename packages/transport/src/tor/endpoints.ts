import { connect } from "node:net";
import { type ClientEndpoint, formatClientEndpoint } from "@lafs/config";

/** Where part 1's SOCKS client connects: a TCP address or a unix socket path. */
export type TorSocksEndpoint = { host: string; port: number } | { path: string };

export function toSocksEndpoint(e: ClientEndpoint): TorSocksEndpoint {
  return e.kind === "unix" ? { path: e.path } : { host: e.host, port: e.port };
}

/**
 * The places a tor usually listens when tahoe.cfg names none, tried in this order: the SOCKS
 * ports of a system tor (9050) and of Tor Browser (9150), then the control ports of a Debian
 * system tor (unix:/var/run/tor/control), a system tor (9051) and Tor Browser (9151).
 */
export const DEFAULT_TOR_ENDPOINTS: { socks: readonly ClientEndpoint[]; control: readonly ClientEndpoint[] } =
  {
    socks: [
      { kind: "tcp", host: "127.0.0.1", port: 9050 },
      { kind: "tcp", host: "127.0.0.1", port: 9150 },
    ],
    control: [
      { kind: "unix", path: "/var/run/tor/control" },
      { kind: "tcp", host: "127.0.0.1", port: 9051 },
      { kind: "tcp", host: "127.0.0.1", port: 9151 },
    ],
  };

/** One endpoint tried and why it did not work, for the "tried ..." part of an error message. */
export interface TriedEndpoint {
  readonly what: string;
  readonly why: string;
}

export function describeTried(tried: readonly TriedEndpoint[]): string {
  return tried.map((t) => `${t.what} (${t.why})`).join("; ");
}

/**
 * Whether a SOCKS5 server answers at `e` without authentication: the greeting alone, so a
 * probe opens no circuit and sends nothing through Tor.
 */
export function probeSocks(e: ClientEndpoint, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = e.kind === "unix" ? connect({ path: e.path }) : connect({ host: e.host, port: e.port });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.once("connect", () => socket.write(Buffer.from([5, 1, 0])));
    socket.once("data", (data: Buffer) =>
      done(data[0] === 5 && data[1] === 0 ? undefined : "not a SOCKS5 server without authentication"),
    );
    socket.once("end", () => done("closed without answering"));
  });
}

export { formatClientEndpoint };
