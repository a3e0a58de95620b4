/**
 * A TCP relay on 127.0.0.1 that holds every chunk, each way, for a fixed time before passing it
 * on: a link with that much more latency and no less bandwidth, for counting round trips where
 * the kernel's netem is not available. TLS passes through untouched (it is bytes to the relay).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface DelayRelay {
  readonly port: number;
  close(): Promise<void>;
}

/** Chunks from `from` reach `to` `delayMs` later, in order (timers of one delay fire in order). */
function forward(from: Socket, to: Socket, delayMs: number): void {
  from.on("data", (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  // An end or reset is late by the same time as the bytes before it.
  from.on("close", () => setTimeout(() => to.destroy(), delayMs));
  from.on("error", () => {});
}

export async function startDelayRelay(targetPort: number, delayMs: number): Promise<DelayRelay> {
  const sockets = new Set<Socket>();
  // No Nagle on either side: a chunk held back for an ACK would add the peer's delayed-ACK
  // time (up to 40 ms) to the relay's own delay, which the nodes themselves avoid.
  const server: Server = createServer({ noDelay: true }, (inbound) => {
    const outbound = connect({ port: targetPort, host: "127.0.0.1", noDelay: true });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    forward(inbound, outbound, delayMs);
    forward(outbound, inbound, delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
