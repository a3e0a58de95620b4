import type { BananaMessage, BananaValue } from "../src/index.js";

/** A decoded value in the transcript's JSON rendering (foolscap-introducer-transcript.md). */
export function renderValue(value: BananaValue): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString("latin1") };
  if (typeof value === "string") return { unicode: value };
  if (typeof value === "bigint") return Number(value);
  if (value === null || typeof value !== "object") return value;
  switch (value.kind) {
    case "dict":
      return { dict: value.entries.map(([k, v]) => [renderValue(k), renderValue(v)]) };
    case "my-reference": {
      const parts: unknown[] = [value.clid];
      if (value.interfaceName !== undefined) parts.push({ bytes: value.interfaceName });
      if (value.url !== undefined) parts.push({ bytes: value.url });
      return { "my-reference": parts };
    }
    case "your-reference":
      return { "your-reference": [value.clid] };
    case "copyable":
      return { copyable: [value.className, ...value.state.flat().map(renderValue)] };
    default:
      return { [value.kind]: value.items.map(renderValue) };
  }
}

export function renderMessage(message: BananaMessage): unknown {
  switch (message.type) {
    case "call":
      return {
        call: [
          message.reqId,
          message.objId,
          { bytes: message.method },
          {
            arguments: [
              message.args.length,
              ...message.args.map(renderValue),
              ...message.kwargs.flatMap(([k, v]) => [{ bytes: k }, renderValue(v)]),
            ],
          },
        ],
      };
    case "answer":
      return { answer: [message.reqId, renderValue(message.value)] };
    case "error":
      return { error: [message.reqId, renderValue(message.failure)] };
    case "ping":
      return { PING: message.n };
    case "pong":
      return { PONG: message.n };
    case "fatal":
      return { ERROR: message.message };
  }
}

/** The transcript's rendering with every bytes_b64 turned into latin1 text, as renderValue writes bytes. */
export function normaliseRecorded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseRecorded);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === "bytes_b64") {
      return { bytes: Buffer.from(entries[0]![1] as string, "base64").toString("latin1") };
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, normaliseRecorded(v)]));
  }
  return value;
}
