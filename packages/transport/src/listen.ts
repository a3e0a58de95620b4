import { chmod } from "node:fs/promises";
import type { Server } from "node:net";
import type { ListenEndpoint } from "@lafs/config";

/** How a listening endpoint reads in an error message. */
export function describeListenEndpoint(endpoint: ListenEndpoint): string {
  return endpoint.kind === "tcp"
    ? `tcp port ${endpoint.port} on ${endpoint.interface ?? "all interfaces"}`
    : endpoint.path;
}

/**
 * The endpoint with `interface=localhost` written as 127.0.0.1: listening on a name makes Node
 * ask the system resolver (dns.lookup), which a node with reveal-IP-address = false promises
 * never to do; transport dials localhost as 127.0.0.1 for the same reason.
 */
export function literalListenEndpoint<E extends ListenEndpoint>(endpoint: E): E {
  if (endpoint.kind !== "tcp" || endpoint.interface?.toLowerCase() !== "localhost") return endpoint;
  return { ...endpoint, interface: "127.0.0.1" };
}

/**
 * Binds a server (plain, TLS or HTTP) to one endpoint of tub.port / web.port, and gives a unix
 * socket the endpoint's `mode=`. Rejects with the socket's own error (EADDRINUSE, EACCES...), which
 * each service wraps in its typed error.
 */
export async function listenOnEndpoint(server: Server, endpoint: ListenEndpoint): Promise<void> {
  await bind(server, literalListenEndpoint(endpoint));
  if (endpoint.kind === "unix" && endpoint.mode !== undefined) await chmod(endpoint.path, endpoint.mode);
}

function bind(server: Server, endpoint: ListenEndpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    const done = () => {
      server.off("error", onError);
      resolve();
    };
    if (endpoint.kind === "tcp") {
      server.listen({ port: endpoint.port, host: endpoint.interface, backlog: endpoint.backlog }, done);
    } else {
      server.listen({ path: endpoint.path }, done);
    }
  });
}
