/**
 * GET of a web API URL whose body is compared with bytes the caller holds, at the lowest CPU cost
 * a reader can have: a plain socket reading straight into one 1 MiB buffer (net's `onread`),
 * each read compared in place (memcmp), no parser, no Buffer per read. The benchmarks share two
 * cores with the nodes they measure, and Node's HTTP client took about 1 CPU second per GiB read
 * (docs/performance.md, "The bench's own CPU"). The answer must have a Content-Length, as both
 * implementations' GET /uri/CAP do.
 */
import { connect } from "node:net";

const READ_BUFFER = 1024 * 1024;
const MAX_HEAD = 64 * 1024;
const MAX_ERROR_BODY = 4096;

export interface ComparedGet {
  status: number;
  /** Body bytes received. */
  bytes: number;
  /** Whether every byte received equals `expected` at its position (and no more came). */
  same: boolean;
  /** The start of the body when the status is not 200, for the error message. */
  errorText: string;
}

interface Head {
  status: number;
  length: number;
}

function parseHead(text: string, url: URL): Head {
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1];
  if (!Number.isInteger(status))
    throw new Error(`GET ${url.pathname}: not an HTTP answer: ${text.slice(0, 200)}`);
  if (length === undefined)
    throw new Error(
      `GET ${url.pathname} answered ${status} without a Content-Length, which this reader needs`,
    );
  return { status, length: Number(length) };
}

export function compareGet(url: URL, expected: Uint8Array): Promise<ComparedGet> {
  return new Promise((resolve, reject) => {
    let head: Head | undefined;
    let headBytes = Buffer.alloc(0);
    let at = 0;
    let same = true;
    let errorText = "";
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve({ status: head!.status, bytes: at, same: same && at === expected.length, errorText });
    };
    const body = (buf: Buffer, start: number, end: number) => {
      const n = Math.min(end - start, head!.length - at);
      if (head!.status !== 200) {
        errorText += buf.toString("utf8", start, start + Math.min(n, MAX_ERROR_BODY - errorText.length));
      } else if (same) {
        same = at + n <= expected.length && buf.compare(expected, at, at + n, start, start + n) === 0;
      }
      at += n;
      if (at >= head!.length) finish();
    };
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (nread: number, buf: Buffer) => {
          if (head !== undefined) {
            body(buf, 0, nread);
            return true;
          }
          headBytes = Buffer.concat([headBytes, buf.subarray(0, nread)]);
          const end = headBytes.indexOf("\r\n\r\n");
          if (end < 0) {
            if (headBytes.length > MAX_HEAD) finish(new Error(`GET ${url.pathname}: no end of headers`));
            return true;
          }
          try {
            head = parseHead(headBytes.toString("latin1", 0, end), url);
          } catch (error) {
            finish(error as Error);
            return false;
          }
          if (head.length === 0) finish();
          else body(headBytes, end + 4, headBytes.length);
          return true;
        },
      },
    });
    socket.on("connect", () =>
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    socket.on("error", (error) => finish(error));
    socket.on("end", () =>
      finish(
        head === undefined || at < head.length
          ? new Error(`GET ${url.pathname}: the answer ended early`)
          : undefined,
      ),
    );
  });
}
