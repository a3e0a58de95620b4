import type { IncomingMessage } from "node:http";
import { isTahoeError } from "@lafs/interface";
import type { FastifyReply } from "fastify";
import { WebError } from "./errors.js";

/** The client closed its connection before the request was answered: nothing is sent back. */
export function disconnected(): WebError {
  return new WebError(
    "TAHOE_ERR_WEB_DISCONNECTED",
    400,
    "the HTTP client closed its connection before the request was complete",
    { hint: "Nothing was kept of the request; send it again." },
  );
}

export function isDisconnect(error: unknown): boolean {
  return isTahoeError(error) && error.code === "TAHOE_ERR_WEB_DISCONNECTED";
}

/** Whether the request's connection is closed (or closing) on the client's side. */
export function clientGone(raw: IncomingMessage): boolean {
  const socket = raw.socket as IncomingMessage["socket"] | null;
  // `=== true`: an injected request (light-my-request) has a stand-in socket without these fields.
  return (
    socket === null ||
    socket.destroyed === true ||
    socket.writable === false ||
    (raw.destroyed && !raw.complete)
  );
}

/**
 * An error from reading a request body: the client's going away becomes TAHOE_ERR_WEB_DISCONNECTED
 * (logged at INFO, no one to answer), anything else the stream threw is passed to `otherwise`.
 */
export function bodyError(
  error: unknown,
  raw: IncomingMessage,
  otherwise: (error: unknown) => unknown,
): unknown {
  if (isTahoeError(error)) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ECONNRESET" || clientGone(raw)) return disconnected();
  return otherwise(error);
}

/** Aborts the node's work when the client goes away before the response is complete. */
export function abortOnClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort(disconnected());
  });
  return controller.signal;
}
