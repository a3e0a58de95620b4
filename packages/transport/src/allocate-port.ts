import { createServer } from "node:net";
import { TahoeError } from "@lafs/interface";

export interface AllocatePortOptions {
  /**
   * The interface the port must be free on. The default, "0.0.0.0", matches a `tcp:PORT`
   * endpoint that listens on every interface; use "127.0.0.1" for loopback-only services.
   */
  host?: string;
}

/**
 * Finds a TCP port that is free now, so `tahoe create-*` can write it into tahoe.cfg and the
 * node never has to choose one at start (the 2015 static-configuration note). The kernel
 * picks the port; another process could take it before the node starts, which is the same
 * race Tahoe-LAFS accepts.
 */
export function allocatePort(options: AllocatePortOptions = {}): Promise<number> {
  const host = options.host ?? "0.0.0.0";
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (cause: NodeJS.ErrnoException) => {
      reject(
        new TahoeError(
          "TAHOE_ERR_TRANSPORT_PORT_ALLOCATION",
          `could not find a free TCP port on ${host}: ${cause.code ?? cause.message}`,
          {
            hint: "Check that the address belongs to this machine, or give the port explicitly (--port/--location).",
            cause,
          },
        ),
      );
    });
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
