import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "@lafs/interface";
import { type ErrorView, renderError } from "./error-page.js";
import { SECURITY_HEADERS } from "./page.js";

/**
 * What a request Node's HTTP parser rejected (before fastify saw it) is told: the parser's
 * error code decides the status, the words are ours. No request exists yet, so the answer is
 * plain text (no Accept header was read) and the connection closes.
 */
export function clientErrorView(error: NodeJS.ErrnoException): ErrorView {
  const hint = "See Tahoe-LAFS's docs/frontends/webapi.rst for the requests the web API accepts.";
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return {
        status: 431,
        code: "TAHOE_ERR_WEB_HEADERS_TOO_LARGE",
        message: "the request line and headers are larger than this node accepts (16 KiB in all)",
        hint: "Send shorter headers; a cap belongs in the path, not in a header.",
      };
    case "ERR_HTTP_REQUEST_TIMEOUT":
    case "ERR_HTTP_HEADERS_TIMEOUT":
      return {
        status: 408,
        code: "TAHOE_ERR_WEB_TIMEOUT",
        message: "the request's headers did not arrive in time",
        hint: "Send the whole request line and headers at once.",
      };
    case "HPE_INVALID_EOF_STATE":
      return {
        status: 400,
        code: "TAHOE_ERR_WEB_BAD_REQUEST",
        message: "the client closed its side of the connection before the request's body was complete",
        hint: "Send the whole body its Content-Length announces before waiting for the answer.",
      };
    case "HPE_INVALID_METHOD":
      return {
        status: 400,
        code: "TAHOE_ERR_WEB_BAD_REQUEST",
        message: "the request's method is not an HTTP method",
        hint: "The web API answers GET, HEAD, PUT and POST.",
      };
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return {
        status: 400,
        code: "TAHOE_ERR_WEB_BAD_REQUEST",
        message: "the request's Content-Length is not one whole number (or comes with Transfer-Encoding)",
        hint: "Send Content-Length: BYTES, or Transfer-Encoding: chunked, not both.",
      };
    case "HPE_INVALID_CHUNK_SIZE":
    case "HPE_INVALID_TRANSFER_ENCODING":
      return {
        status: 400,
        code: "TAHOE_ERR_WEB_BAD_REQUEST",
        message: "the request's chunked body is malformed",
        hint: "Each chunk starts with its size in hexadecimal on a line of its own.",
      };
    default:
      return {
        status: 400,
        code: "TAHOE_ERR_WEB_BAD_REQUEST",
        message: `the request is not valid HTTP/1.1 (${error.code ?? "parse error"})`,
        hint,
      };
  }
}

/**
 * Node's `clientError`: a request the HTTP parser rejected, or a connection that broke. The
 * client's mistake is logged at INFO (it is no fault of the node) and answered in the error
 * format of every other page; a connection already gone gets nothing.
 */
export function createClientErrorHandler(logger: Logger): (error: Error, socket: Socket) => void {
  return (error, socket) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ECONNRESET" || code === "EPIPE" || socket.destroyed) {
      logger.info({ code }, "client disconnected");
      socket.destroy();
      return;
    }
    const view = clientErrorView(error as NodeJS.ErrnoException);
    logger.info(
      { code: view.code, parser: code, status: view.status },
      "request rejected by the HTTP parser",
    );
    if (socket.writable) writeRawError(socket, view);
    else {
      socket.destroy();
    }
  };
}

/**
 * Node's `checkExpectation`: an `Expect:` other than 100-continue. Node would answer a bare 417;
 * this one says which expectation and that only 100-continue is known.
 */
export function answerUnknownExpectation(
  request: IncomingMessage,
  response: ServerResponse,
  logger: Logger,
): void {
  const view: ErrorView = {
    status: 417,
    code: "TAHOE_ERR_WEB_BAD_REQUEST",
    message: `the request's Expect: ${String(request.headers.expect).slice(0, 100)} is not one this node meets`,
    hint: "Leave Expect out, or send Expect: 100-continue.",
  };
  logger.info({ code: view.code, status: view.status }, "request refused: unknown Expect");
  const out = renderError(view, "text");
  response.writeHead(view.status, {
    ...SECURITY_HEADERS,
    "Content-Type": out.contentType,
    "Content-Length": Buffer.byteLength(out.body),
    Connection: "close",
  });
  response.end(out.body);
}

/** Writes an error page straight to a socket that has no request object (parser refusals, CONNECT). */
function writeRawError(socket: Socket, view: ErrorView): void {
  const out = renderError(view, "text");
  const headers = { ...SECURITY_HEADERS, "Content-Type": out.contentType, Connection: "close" };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  const head = `HTTP/1.1 ${view.status} ${STATUS_CODES[view.status]}\r\n${lines.join("")}`;
  socket.end(`${head}Content-Length: ${Buffer.byteLength(out.body)}\r\n\r\n${out.body}`);
  // A client that keeps sending after the answer must not hold the socket open.
  socket.setTimeout(5_000, () => socket.destroy());
}

/** Node's `connect` event: without a listener a CONNECT request's socket is closed without a word. */
export function answerConnect(socket: Socket, logger: Logger): void {
  logger.info({ code: "TAHOE_ERR_WEB_BAD_REQUEST", status: 405 }, "request refused: CONNECT");
  socket.on("error", () => {});
  writeRawError(socket, {
    status: 405,
    code: "TAHOE_ERR_WEB_BAD_REQUEST",
    message: "CONNECT is not served: this node's web port is not a proxy",
    hint: "The web API answers GET, HEAD, PUT and POST.",
  });
}
