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
 * Binds a server (plain, TLS or HTTP) to one endpoint of tub.port / web.port, and gives a unix
 * socket the endpoint's `mode=`. Rejects with the socket's own error (EADDRINUSE, EACCES...), which
 * each service wraps in its typed error.
 */
export async function listenOnEndpoint(server: Server, endpoint: ListenEndpoint): Promise<void> {
  await bind(server, endpoint);
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
