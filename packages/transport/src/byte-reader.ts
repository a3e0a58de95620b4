import type { Socket } from "node:net";

/**
 * Reads a handshake (SOCKS5 replies, SAM lines) off a socket without taking it over: the socket
 * stays in paused mode, and release() puts any bytes read past the handshake back, so whoever
 * gets the socket next (TLS, undici) sees the stream from its first application byte.
 */
export interface ByteReader {
  read(n: number): Promise<Buffer>;
  /** One line without its "\n"; fails when a line grows beyond maxBytes. */
  readLine(maxBytes: number): Promise<string>;
  release(): void;
}

export function createByteReader(socket: Socket, describeClose: () => Error): ByteReader {
  let buffer: Buffer = Buffer.alloc(0);
  let failure: Error | undefined;
  let wake: (() => void) | undefined;

  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onReadable = () => {
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    }
    notify();
  };
  const onEnd = () => {
    failure ??= describeClose();
    notify();
  };
  const onError = (err: Error) => {
    failure ??= err;
    notify();
  };
  socket.on("readable", onReadable);
  socket.on("end", onEnd);
  socket.on("close", onEnd);
  socket.on("error", onError);

  async function until<T>(take: () => T | undefined): Promise<T> {
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      if (failure) throw failure;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }

  return {
    read: (n) =>
      until(() => {
        if (buffer.length < n) return undefined;
        const out = buffer.subarray(0, n);
        buffer = buffer.subarray(n);
        return out;
      }),
    readLine: (maxBytes) =>
      until(() => {
        const nl = buffer.indexOf(0x0a);
        if (nl < 0) {
          if (buffer.length > maxBytes) {
            failure ??= new Error(`a reply line is longer than ${maxBytes} bytes`);
          }
          return undefined;
        }
        const line = buffer.subarray(0, nl).toString("utf8").replace(/\r$/, "");
        buffer = buffer.subarray(nl + 1);
        return line;
      }),
    release: () => {
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      if (buffer.length > 0) socket.unshift(buffer);
      buffer = Buffer.alloc(0);
    },
  };
}
