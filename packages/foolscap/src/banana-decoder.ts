import { bananaError } from "./errors.js";
import { MAX_ERROR_BYTES, MAX_HEADER_BYTES, MAX_INT, TOKEN } from "./tokens.js";
import type { BananaValue } from "./values.js";
import { bytesText, describeType } from "./values.js";
import { type VocabTable, vocabTable } from "./vocab.js";

/** Limits on what a peer may make us buffer or build. Every one ends the connection when crossed. */
export interface BananaLimits {
  /** Longest STRING token body. Announcements are about 1 KiB. Default 64 KiB. */
  maxStringBytes: number;
  /** Longest LONGINT/LONGNEG body (foolscap's IntegerConstraint default). Default 1024. */
  maxLongIntBytes: number;
  /** Most items (dict: keys plus values) in one sequence. Default 100 000. */
  maxItems: number;
  /** Deepest nesting of OPEN sequences. Default 32 (the introducer uses 6). */
  maxDepth: number;
  /** Most bytes of one top-level message (call, answer or error). Default 4 MiB. */
  maxMessageBytes: number;
}

export const DEFAULT_BANANA_LIMITS: Readonly<BananaLimits> = {
  maxStringBytes: 64 * 1024,
  maxLongIntBytes: 1024,
  maxItems: 100_000,
  maxDepth: 32,
  maxMessageBytes: 4 * 1024 * 1024,
};

/** One keyword argument of a decoded call. */
export type DecodedKeyword = readonly [name: string, value: BananaValue];

/** What a Banana stream delivers at top level, with where it was in the stream. */
export type BananaMessage = (
  | {
      type: "call";
      reqId: number;
      /** The target in the receiver's namespace: 0 is the broker. */
      objId: number;
      method: string;
      args: BananaValue[];
      kwargs: DecodedKeyword[];
    }
  | { type: "answer"; reqId: number; value: BananaValue }
  | { type: "error"; reqId: number; failure: BananaValue }
  | { type: "ping"; n: number }
  | { type: "pong"; n: number }
  /** The peer's fatal ERROR token: it gave up on the connection. */
  | { type: "fatal"; message: string }
) & { offset: number; length: number };

const TOP_LEVEL = new Set(["call", "answer", "error"]);
const NESTED = new Set([
  "none",
  "boolean",
  "reference",
  "dict",
  "list",
  "tuple",
  "set",
  "immutable-set",
  "unicode",
  "my-reference",
  "your-reference",
  "copyable",
]);
/** PBRootUnslicer refuses a top-level index STRING longer than the longest opentype. */
const LONGEST_OPENTYPE = 15;
const TRACKED = new Set(["list", "tuple", "dict", "set", "immutable-set"]);
const MAX_CLASS_NAME = 200;
const KNOWN_TYPES = new Set<number>(Object.values(TOKEN));

interface Frame {
  openId: number;
  /** The receiver's count of this OPEN: what a `reference` names. */
  objectNumber: number;
  kind: string | undefined;
  className: string | undefined;
  items: BananaValue[];
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * The receiving half of one Banana connection: push bytes as they arrive, get whole top-level
 * messages back. Incomplete tokens are buffered, but never more than one STRING body plus a
 * header; every limit, unknown token or structural mistake throws FoolscapError
 * TAHOE_ERR_FOOLSCAP_BANANA, after which the decoder refuses further input.
 */
export class BananaDecoder {
  private readonly limits: BananaLimits;
  private readonly vocab: VocabTable;
  private pending: Buffer = Buffer.alloc(0);
  /** Chunks that arrived while a token body was incomplete, not yet joined to `pending`. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** Bytes `pending` must reach before parsing can go on (a STRING body's end). */
  private needed = 0;
  /** Stream offset of pending[0]. */
  private consumed = 0;
  private readonly stack: Frame[] = [];
  private objectCount = 0;
  private messageStart = 0;
  private references = new Map<number, BananaValue>();
  private failed: Error | undefined;

  constructor(options: { vocabIndex?: number; limits?: Partial<BananaLimits>; streamOffset?: number } = {}) {
    this.limits = { ...DEFAULT_BANANA_LIMITS, ...options.limits };
    this.vocab = vocabTable(options.vocabIndex ?? 1);
    this.consumed = options.streamOffset ?? 0;
  }

  /** Bytes held waiting for the rest of a token. */
  get buffered(): number {
    return this.pending.length + this.waitingBytes;
  }

  push(chunk: Uint8Array): BananaMessage[] {
    if (this.failed) throw this.failed;
    try {
      return this.parse(chunk);
    } catch (err) {
      this.failed = err as Error;
      this.pending = Buffer.alloc(0);
      this.waiting = [];
      this.waitingBytes = 0;
      this.stack.length = 0;
      throw err;
    }
  }

  private parse(chunk: Uint8Array): BananaMessage[] {
    // A long body sent in tiny pieces is joined once, when complete, not once per piece.
    if (this.pending.length + this.waitingBytes + chunk.length < this.needed) {
      this.waiting.push(Buffer.from(chunk));
      this.waitingBytes += chunk.length;
      return [];
    }
    const buf =
      this.pending.length === 0 && this.waiting.length === 0
        ? Buffer.from(chunk)
        : Buffer.concat([this.pending, ...this.waiting, chunk]);
    this.waiting = [];
    this.waitingBytes = 0;
    this.needed = 0;
    const out: BananaMessage[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const tokenStart = pos;
      let typeAt = pos;
      while (typeAt < buf.length && buf[typeAt]! < 0x80) {
        if (typeAt - pos >= MAX_HEADER_BYTES) {
          throw bananaError(
            `token header longer than ${MAX_HEADER_BYTES} bytes at stream offset ${this.at(buf, pos)}`,
          );
        }
        typeAt++;
      }
      if (typeAt === buf.length) break; // header not finished
      const header = headerValue(buf, pos, typeAt);
      const type = buf[typeAt]!;
      let end = typeAt + 1;
      let body: Buffer | undefined;
      if (type === TOKEN.STRING || type === TOKEN.LONGINT || type === TOKEN.LONGNEG || type === TOKEN.ERROR) {
        this.checkBodyLength(type, header, this.at(buf, tokenStart));
        if (buf.length < end + header) {
          // The body is not here yet; its size is within limits.
          this.needed = end + header - pos;
          break;
        }
        body = buf.subarray(end, end + header);
        end += header;
      } else if (type === TOKEN.FLOAT) {
        throw bananaError(
          `a FLOAT token at stream offset ${this.at(buf, tokenStart)}; the introducer protocol never sends floats`,
        );
      }
      pos = end;
      const message = this.token(type, header, body, this.at(buf, tokenStart), this.at(buf, end));
      if (message) out.push(message);
      if (this.stack.length > 0 && this.at(buf, pos) - this.messageStart > this.limits.maxMessageBytes) {
        throw bananaError(
          `a message starting at stream offset ${this.messageStart} is longer than ${this.limits.maxMessageBytes} bytes`,
        );
      }
    }
    this.consumed += pos;
    this.pending = Buffer.from(buf.subarray(pos));
    return out;
  }

  /** The stream offset of a position in the buffer being parsed. */
  private at(_buf: Buffer, pos: number): number {
    return this.consumed + pos;
  }

  private checkBodyLength(type: number, length: number, offset: number): void {
    const limit =
      type === TOKEN.STRING
        ? this.stack.length > 0 && this.top().kind === undefined && this.stack.length === 1
          ? LONGEST_OPENTYPE
          : this.limits.maxStringBytes
        : type === TOKEN.ERROR
          ? MAX_ERROR_BYTES
          : this.limits.maxLongIntBytes;
    if (length > limit) {
      const name = type === TOKEN.STRING ? "STRING" : type === TOKEN.ERROR ? "ERROR" : "LONGINT";
      throw bananaError(
        `a ${name} token of ${length} bytes at stream offset ${offset}; at most ${limit} are allowed`,
      );
    }
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  private token(
    type: number,
    header: number,
    body: Buffer | undefined,
    offset: number,
    end: number,
  ): BananaMessage | undefined {
    if (!KNOWN_TYPES.has(type))
      throw bananaError(`invalid type byte 0x${type.toString(16)} at stream offset ${offset}`);
    switch (type) {
      // Keepalives may come between any two tokens, even inside a sequence (banana.py).
      case TOKEN.PING:
        return { type: "ping", n: header, offset, length: end - offset };
      case TOKEN.PONG:
        return { type: "pong", n: header, offset, length: end - offset };
      case TOKEN.ERROR:
        return { type: "fatal", message: bytesText(body!), offset, length: end - offset };
      case TOKEN.OPEN:
        return this.open(header, offset);
      case TOKEN.CLOSE:
        return this.close(header, offset, end);
    }
    if (this.stack.length === 0) {
      throw bananaError(`top-level must be OPEN, got ${typeName(type)} at stream offset ${offset}`);
    }
    switch (type) {
      case TOKEN.INT:
        if (header > MAX_INT)
          throw bananaError(`an INT token of ${header} at stream offset ${offset}; INT stops at 2**31-1`);
        return this.item(header, offset);
      case TOKEN.NEG:
        if (header > MAX_INT + 1 || header === 0) {
          throw bananaError(`a NEG token of -${header} at stream offset ${offset}; NEG holds -2**31 to -1`);
        }
        return this.item(-header, offset);
      case TOKEN.LONGINT:
      case TOKEN.LONGNEG: {
        const magnitude = body!.length === 0 ? 0n : BigInt(`0x${body!.toString("hex")}`);
        return this.item(type === TOKEN.LONGNEG ? -magnitude : magnitude, offset);
      }
      case TOKEN.STRING:
        return this.item(new Uint8Array(body!), offset);
      case TOKEN.VOCAB: {
        const word = this.vocab.words[header];
        if (word === undefined) {
          throw bananaError(
            `VOCAB ${header} at stream offset ${offset}, which is not in initial vocab table ${this.vocab.index}`,
          );
        }
        return this.item(Buffer.from(word, "latin1"), offset);
      }
      case TOKEN.ABORT:
        throw bananaError(
          `an ABORT token at stream offset ${offset}; this node does not take partial sequences`,
        );
      case TOKEN.LIST:
        throw bananaError(`an old-banana LIST token at stream offset ${offset}`);
      default:
        throw bananaError(`invalid type byte 0x${type.toString(16)} at stream offset ${offset}`);
    }
  }

  private open(openId: number, offset: number): undefined {
    if (this.stack.length >= this.limits.maxDepth) {
      throw bananaError(`sequences nested deeper than ${this.limits.maxDepth} at stream offset ${offset}`);
    }
    if (this.stack.length > 0 && this.top().kind === undefined) {
      throw bananaError(`an OPEN where a sequence type name belongs, at stream offset ${offset}`);
    }
    if (this.stack.length === 0) {
      this.messageStart = offset;
      this.references = new Map();
    }
    this.stack.push({
      openId,
      objectNumber: this.objectCount++,
      kind: undefined,
      className: undefined,
      items: [],
    });
    return undefined;
  }

  private item(value: BananaValue, offset: number): undefined {
    const frame = this.top();
    if (frame.kind === undefined) return this.setKind(frame, value, offset);
    if (frame.kind === "copyable" && frame.className === undefined) {
      if (!(value instanceof Uint8Array) || value.length > MAX_CLASS_NAME) {
        throw bananaError(`a copyable without a class name at stream offset ${offset}`);
      }
      frame.className = bytesText(value);
      return undefined;
    }
    if (frame.items.length >= this.limits.maxItems) {
      throw bananaError(
        `a ${frame.kind} sequence of more than ${this.limits.maxItems} items at stream offset ${offset}`,
      );
    }
    frame.items.push(value);
    return undefined;
  }

  private setKind(frame: Frame, value: BananaValue, offset: number): undefined {
    if (!(value instanceof Uint8Array)) {
      throw bananaError(
        `an OPEN followed by ${describeType(value)} instead of a type name, at stream offset ${offset}`,
      );
    }
    const kind = bytesText(value);
    const depth = this.stack.length;
    const parent = depth > 1 ? this.stack[depth - 2]! : undefined;
    const allowed =
      depth === 1
        ? TOP_LEVEL.has(kind)
        : kind === "arguments"
          ? parent?.kind === "call" && parent.items.length === 3
          : NESTED.has(kind);
    if (!allowed) {
      const where = depth === 1 ? "at top level (call, answer or error belong there)" : "inside a message";
      throw bananaError(
        `an unsupported sequence type '${kind.slice(0, 40)}' ${where}, at stream offset ${offset}`,
      );
    }
    frame.kind = kind;
    return undefined;
  }

  private close(openId: number, offset: number, end: number): BananaMessage | undefined {
    if (this.stack.length === 0)
      throw bananaError(`a CLOSE with no open sequence at stream offset ${offset}`);
    const frame = this.stack.pop()!;
    if (frame.openId !== openId) {
      throw bananaError(`lost sync: CLOSE ${openId} for OPEN ${frame.openId} at stream offset ${offset}`);
    }
    if (frame.kind === undefined)
      throw bananaError(`an empty sequence (no type name) at stream offset ${offset}`);
    if (this.stack.length === 0) return this.finishMessage(frame, offset, end);
    const value = this.finishValue(frame, offset);
    if (TRACKED.has(frame.kind)) this.references.set(frame.objectNumber, value);
    const parent = this.top();
    if (parent.kind === "call" && frame.kind === "arguments") {
      parent.items.push(value);
      return undefined;
    }
    return this.item(value, offset);
  }

  private finishValue(frame: Frame, offset: number): BananaValue {
    const { items } = frame;
    const bad = (what: string) =>
      bananaError(`a malformed '${frame.kind}' sequence ending at stream offset ${offset}: ${what}`);
    switch (frame.kind) {
      case "none":
        if (items.length !== 0) throw bad("it has items");
        return null;
      case "boolean":
        if (items.length !== 1 || (items[0] !== 0 && items[0] !== 1)) throw bad("it must hold INT 0 or 1");
        return items[0] === 1;
      case "unicode": {
        const text = items[0];
        if (items.length !== 1 || !(text instanceof Uint8Array)) throw bad("it must hold one STRING");
        try {
          return utf8Strict.decode(text);
        } catch {
          throw bad("its STRING is not UTF-8");
        }
      }
      case "list":
      case "tuple":
      case "set":
      case "immutable-set":
        return { kind: frame.kind, items };
      case "dict":
        return { kind: "dict", entries: pairs(items, bad, true) };
      case "copyable":
        if (frame.className === undefined) throw bad("it has no class name");
        return { kind: "copyable", className: frame.className, state: pairs(items, bad, false) };
      case "my-reference": {
        const [clid, iname, url] = items;
        if (items.length < 1 || items.length > 3 || !isClid(clid))
          throw bad("it must hold INT clid [, interface name [, url]]");
        if (
          (iname !== undefined && !(iname instanceof Uint8Array)) ||
          (url !== undefined && !(url instanceof Uint8Array))
        ) {
          throw bad("its interface name and URL must be STRINGs");
        }
        return {
          kind: "my-reference",
          clid,
          interfaceName: iname === undefined ? undefined : bytesText(iname),
          url: url === undefined ? undefined : bytesText(url),
        };
      }
      case "your-reference":
        if (items.length !== 1 || !isClid(items[0])) throw bad("it must hold one INT clid");
        return { kind: "your-reference", clid: items[0] };
      case "reference": {
        const n = items[0];
        const target = typeof n === "number" && items.length === 1 ? this.references.get(n) : undefined;
        if (target === undefined) throw bad("it names no finished list, tuple, dict or set of this message");
        return target;
      }
      case "arguments":
        return { kind: "tuple", items: [...items] };
    }
    throw bad("unknown type");
  }

  private finishMessage(frame: Frame, offset: number, end: number): BananaMessage {
    const { items } = frame;
    const where = { offset: this.messageStart, length: end - this.messageStart };
    const bad = (what: string) =>
      bananaError(`a malformed '${frame.kind}' message ending at stream offset ${offset}: ${what}`);
    const reqId = items[0];
    if (typeof reqId !== "number" || reqId < 0) throw bad("it must start with an INT request id");
    if (frame.kind === "call") {
      const [, objId, method, argsValue] = items;
      if (items.length !== 4 || typeof objId !== "number" || !(method instanceof Uint8Array)) {
        throw bad("it must hold reqID, clid, method name and arguments");
      }
      const { args, kwargs } = splitArguments(argsValue, bad);
      return { type: "call", reqId, objId, method: bytesText(method), args, kwargs, ...where };
    }
    if (items.length !== 2) throw bad("it must hold reqID and one value");
    return frame.kind === "answer"
      ? { type: "answer", reqId, value: items[1]!, ...where }
      : { type: "error", reqId, failure: items[1]!, ...where };
  }
}

function headerValue(buf: Buffer, start: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = start; i < end; i++) {
    value += buf[i]! * scale;
    scale *= 128;
  }
  if (!Number.isSafeInteger(value)) throw bananaError("a token header too large for any token");
  return value;
}

function isClid(value: BananaValue | undefined): value is number {
  return typeof value === "number" && value >= 0;
}

function typeName(type: number): string {
  const entry = Object.entries(TOKEN).find(([, v]) => v === type);
  return entry ? entry[0] : `0x${type.toString(16)}`;
}

/** A dict key's identity: Python compares keys by value, and only hashable ones are keys. */
function keyIdentity(key: BananaValue): string | undefined {
  if (key instanceof Uint8Array) return `b:${bytesText(key)}`;
  if (typeof key === "string") return `u:${key}`;
  if (typeof key === "number" || typeof key === "bigint") return `i:${key}`;
  if (key === null || typeof key === "boolean") return `c:${key}`;
  if (key.kind === "tuple" || key.kind === "immutable-set") {
    const parts = key.items.map(keyIdentity);
    return parts.includes(undefined) ? undefined : `${key.kind}(${parts.join(",")})`;
  }
  return undefined;
}

function pairs(
  items: BananaValue[],
  bad: (what: string) => Error,
  uniqueKeys: boolean,
): (readonly [BananaValue, BananaValue])[] {
  if (items.length % 2 !== 0) throw bad("a key without a value");
  const out: [BananaValue, BananaValue][] = [];
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i += 2) {
    const key = items[i]!;
    if (uniqueKeys) {
      const id = keyIdentity(key);
      if (id === undefined) throw bad(`a ${describeType(key)} key, which Python cannot hash`);
      if (seen.has(id)) throw bad("a duplicate key");
      seen.add(id);
    }
    out.push([key, items[i + 1]!]);
  }
  return out;
}

function splitArguments(
  value: BananaValue | undefined,
  bad: (what: string) => Error,
): { args: BananaValue[]; kwargs: DecodedKeyword[] } {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array || value.kind !== "tuple") {
    throw bad("no arguments sequence");
  }
  const [count, ...rest] = value.items;
  if (typeof count !== "number" || count > rest.length) throw bad("a bad positional argument count");
  const args = rest.slice(0, count);
  const kw = rest.slice(count);
  if (kw.length % 2 !== 0) throw bad("a keyword argument without a value");
  const kwargs: DecodedKeyword[] = [];
  for (let i = 0; i < kw.length; i += 2) {
    const name = kw[i];
    if (!(name instanceof Uint8Array)) throw bad("a keyword argument name that is not a STRING");
    kwargs.push([bytesText(name), kw[i + 1]!]);
  }
  return { args, kwargs };
}
