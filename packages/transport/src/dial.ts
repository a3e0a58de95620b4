import { connect, type Socket } from "node:net";
import { abortReason } from "./errors.js";

export type DaemonEndpoint = { host: string; port: number } | { path: string };

export function describeEndpoint(endpoint: DaemonEndpoint): string {
  if ("path" in endpoint) return `unix:${endpoint.path}`;
  return endpoint.host.includes(":")
    ? `tcp:[${endpoint.host}]:${endpoint.port}`
    : `tcp:${endpoint.host}:${endpoint.port}`;
}

/**
 * Opens a stream socket and resolves once it is connected. `localhost` is dialled as 127.0.0.1,
 * so reaching a local daemon never asks a resolver. Rejects with the errno error (callers add
 * what they were dialling), or with the abort reason.
 */
export function dialSocket(endpoint: DaemonEndpoint, signal: AbortSignal, what: string): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal, what));
      return;
    }
    const socket =
      "path" in endpoint
        ? connect({ path: endpoint.path })
        : connect({
            host: endpoint.host.toLowerCase() === "localhost" ? "127.0.0.1" : endpoint.host,
            port: endpoint.port,
            noDelay: true,
            autoSelectFamily: true,
            autoSelectFamilyAttemptTimeout: 250,
          });
    const cleanup = () => {
      signal.removeEventListener("abort", onAbort);
      socket.off("connect", onConnect);
      socket.off("error", onError);
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(abortReason(signal, what));
    };
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", onConnect);
    socket.once("error", onError);
  });
}

/** Ties a handshake to a signal: an abort destroys the socket, which fails the pending read. */
export function destroyOnAbort(socket: Socket, signal: AbortSignal): () => void {
  const onAbort = () => socket.destroy();
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}
