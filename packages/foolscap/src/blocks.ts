import type { Duplex } from "node:stream";
import { FoolscapError } from "./errors.js";

/** negotiate.py buffers at most this much of one block ("Header too long"). */
export const MAX_BLOCK_BYTES = 4096;

const END = Buffer.from("\r\n\r\n");

export function negotiationError(message: string, hint?: string): FoolscapError {
  return new FoolscapError("TAHOE_ERR_FOOLSCAP_NEGOTIATION", message, {
    hint: hint ?? "the peer is not a Foolscap Tub this node can talk to, or it refused the connection",
  });
}

/** A block read from a stream and whatever arrived after it. */
export interface ReadBlock {
  text: string;
  rest: Buffer;
}

/**
 * Reads one `\r\n\r\n`-terminated block, starting with `already` (bytes read past an earlier
 * block). Leaves the stream paused, so nothing after the block is lost.
 */
export function readBlock(
  stream: Duplex,
  already: Buffer,
  what: string,
  signal: AbortSignal,
): Promise<ReadBlock> {
  return new Promise((resolve, reject) => {
    let buffered = already;
    const finish = (err: Error | undefined, block?: ReadBlock) => {
      stream.pause();
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onEnd);
      stream.off("error", onError);
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(block!);
    };
    const check = (): boolean => {
      const end = buffered.indexOf(END);
      if (end >= 0 && end + END.length <= MAX_BLOCK_BYTES) {
        finish(undefined, {
          text: buffered.subarray(0, end + 2).toString("latin1"),
          rest: buffered.subarray(end + 4),
        });
        return true;
      }
      if (buffered.length > MAX_BLOCK_BYTES || (end >= 0 && end + END.length > MAX_BLOCK_BYTES)) {
        finish(negotiationError(`the peer's ${what} is longer than ${MAX_BLOCK_BYTES} bytes`));
        return true;
      }
      return false;
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      check();
    };
    const onEnd = () =>
      finish(negotiationError(`the peer closed the connection before its ${what} was complete`));
    const onError = (err: Error) =>
      finish(negotiationError(`the connection failed while waiting for the peer's ${what}: ${err.message}`));
    const onAbort = () =>
      finish(signal.reason instanceof Error ? signal.reason : negotiationError(`no ${what} in time`));
    if (signal.aborted) return onAbort();
    if (check()) return;
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("close", onEnd);
    stream.once("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
    stream.resume();
  });
}

/** `key: value` lines, keys sorted and lower case, then an empty line (negotiate.py sendBlock). */
export function formatBlock(fields: Record<string, string>): Buffer {
  const keys = Object.keys(fields).sort();
  return Buffer.from(`${keys.map((k) => `${k.toLowerCase()}: ${fields[k]}\r\n`).join("")}\r\n`, "latin1");
}

/** The fields of a hello or decision block: key lower-cased, value without leading blanks. */
export function parseBlock(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon < 0)
      throw negotiationError(
        `the peer sent a negotiation line without ':' (${JSON.stringify(line.slice(0, 80))})`,
      );
    fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).replace(/^\s+/, ""));
  }
  return fields;
}
