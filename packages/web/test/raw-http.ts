import { connect } from "node:net";
import { type LogLine, recordingLogger } from "@lafs/interface";
import { createWebServer, type WebServer, type WebServerOptions } from "../src/index.js";

/** What came back on the socket: the status and the body, or nothing when the server closed first. */
export interface RawResponse {
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (or it was closed for us). */
  closed: boolean;
}

export interface RawRequestOptions {
  /** Half-close the socket once everything is written (the client says it sends no more). */
  end?: boolean;
  /** Destroy the socket this many ms after writing (a client that disconnects mid-request). */
  destroyAfterMs?: number;
  /** Give up waiting for an answer after this long; the default is 3 s. */
  timeoutMs?: number;
}

function parse(text: string, closed: boolean): RawResponse | undefined {
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return closed ? { status: undefined, headers: {}, body: text, closed } : undefined;
  const [statusLine, ...lines] = text.slice(0, headEnd).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(":");
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  const body = text.slice(headEnd + 4);
  const length = headers["content-length"];
  if (!closed && (length === undefined || Buffer.byteLength(body) < Number(length))) return undefined;
  return { status: Number.isNaN(status) ? undefined : status, headers, body, closed };
}

/** Writes raw bytes to 127.0.0.1:port and reads one response, whatever the bytes are. */
export function rawRequest(
  port: number,
  data: string | Uint8Array,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      const response = parse(Buffer.concat(chunks).toString("latin1"), closed);
      if (response === undefined) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    const timer = setTimeout(() => finish(true), options.timeoutMs ?? 3_000);
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      finish(false);
    });
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.write(data, () => {
      if (options.end) socket.end();
      if (options.destroyAfterMs !== undefined) setTimeout(() => socket.destroy(), options.destroyAfterMs);
    });
  });
}

/** A started web server on 127.0.0.1 (any free port) that logs to a recordingLogger. */
export async function startRecordedWebServer(
  options: Omit<WebServerOptions, "listen" | "logger">,
): Promise<{ server: WebServer; port: number; lines: LogLine[] }> {
  const recorded = recordingLogger();
  const server = createWebServer({
    ...options,
    listen: { kind: "tcp", port: 0, interface: "127.0.0.1" },
    logger: recorded.logger,
  });
  await server.start();
  return { server, port: Number(new URL(server.url()).port), lines: recorded.lines };
}

/** A multipart/form-data body from parts, as a browser sends the upload form. */
export function multipartBody(
  boundary: string,
  parts: { name: string; filename?: string; value: string }[],
): string {
  const out = parts.map((p) => {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? "" : `; filename="${p.filename}"`}`;
    const type = p.filename === undefined ? "" : "Content-Type: application/octet-stream\r\n";
    return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n${p.value}\r\n`;
  });
  return `${out.join("")}--${boundary}--\r\n`;
}

/** A whole HTTP/1.1 request. */
export function httpRequest(
  method: string,
  path: string,
  headers: Record<string, string | number> = {},
  body = "",
): string {
  const lines = Object.entries({ Host: "127.0.0.1", ...headers }).map(
    ([name, value]) => `${name}: ${value}\r\n`,
  );
  return `${method} ${path} HTTP/1.1\r\n${lines.join("")}\r\n${body}`;
}
