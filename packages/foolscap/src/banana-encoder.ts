import { b128, MAX_ERROR_BYTES, MAX_INT, TOKEN } from "./tokens.js";
import type { BananaValue } from "./values.js";
import { bytesText } from "./values.js";
import { type VocabTable, vocabTable } from "./vocab.js";

const utf8 = new TextEncoder();

/** One call's keyword argument: foolscap sends them after the positional ones, names as bytes. */
export type KeywordArgument = readonly [name: string, value: BananaValue];

/**
 * The sending half of one Banana connection. OPEN ids count up from 0 for the life of the
 * connection (every OPEN, never reset), so one encoder must write every message of a direction
 * in order. Within one message a list/tuple/dict/set object that appears twice is sent the
 * second time as a `reference` to its first OPEN, as foolscap's ScopedSlicer does.
 */
export class BananaEncoder {
  private openCount = 0;
  private readonly vocab: VocabTable;
  private parts: Uint8Array[] = [];
  private small: number[] = [];
  private scope = new Map<object, number>();

  constructor(vocabIndex = 1) {
    this.vocab = vocabTable(vocabIndex);
  }

  /** `call`: reqID, target clid (0 is the peer's broker), method name, then the arguments. */
  call(
    reqId: number,
    objId: number,
    method: string,
    args: readonly BananaValue[],
    kwargs: readonly KeywordArgument[] = [],
  ): Uint8Array {
    return this.message(() => {
      const outer = this.open("call");
      this.int(reqId);
      this.int(objId);
      this.string(utf8.encode(method));
      const inner = this.open("arguments");
      this.int(args.length);
      for (const arg of args) this.value(arg);
      for (const [name, value] of kwargs) {
        this.string(utf8.encode(name));
        this.value(value);
      }
      this.close(inner);
      this.close(outer);
    });
  }

  /** `answer`: the result of the peer's call `reqId`. */
  answer(reqId: number, value: BananaValue): Uint8Array {
    return this.message(() => {
      const id = this.open("answer");
      this.int(reqId);
      this.value(value);
      this.close(id);
    });
  }

  /** `error`: the failure of the peer's call `reqId`, usually a copyable Failure. */
  error(reqId: number, failure: BananaValue): Uint8Array {
    return this.message(() => {
      const id = this.open("error");
      this.int(reqId);
      this.value(failure);
      this.close(id);
    });
  }

  /** PING/PONG: written without a header when the number is 0, as foolscap does. */
  ping(n = 0): Uint8Array {
    return Uint8Array.from([...(n === 0 ? [] : b128(n)), TOKEN.PING]);
  }

  pong(n = 0): Uint8Array {
    return Uint8Array.from([...(n === 0 ? [] : b128(n)), TOKEN.PONG]);
  }

  /** The fatal ERROR token a side sends before it hangs up; the text is cut to 1000 bytes. */
  fatalError(message: string): Uint8Array {
    const body = utf8.encode(message).subarray(0, MAX_ERROR_BYTES);
    return Uint8Array.from([...b128(body.length), TOKEN.ERROR, ...body]);
  }

  private message(write: () => void): Uint8Array {
    this.parts = [];
    this.small = [];
    this.scope = new Map();
    write();
    this.flush();
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const result = new Uint8Array(total);
    let at = 0;
    for (const part of this.parts) {
      result.set(part, at);
      at += part.length;
    }
    this.parts = [];
    this.scope = new Map();
    return result;
  }

  private flush(): void {
    if (this.small.length > 0) {
      this.parts.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }

  private token(header: number | bigint, type: number): void {
    for (const b of b128(header)) this.small.push(b);
    this.small.push(type);
  }

  private open(...indexWords: string[]): number {
    const id = this.openCount++;
    this.token(id, TOKEN.OPEN);
    for (const word of indexWords) this.string(utf8.encode(word));
    return id;
  }

  private close(id: number): void {
    this.token(id, TOKEN.CLOSE);
  }

  private string(value: Uint8Array): void {
    // Every STRING equal to a vocab word goes as VOCAB, opentype or not (banana.py sendToken).
    if (value.length <= 16) {
      const index = this.vocab.byWord.get(bytesText(value));
      if (index !== undefined) {
        this.token(index, TOKEN.VOCAB);
        return;
      }
    }
    this.token(value.length, TOKEN.STRING);
    this.flush();
    this.parts.push(value);
  }

  private int(value: number | bigint): void {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new TypeError(`banana carries integers only, got ${value}`);
    }
    const n = BigInt(value);
    if (n >= 0n && n <= BigInt(MAX_INT)) this.token(n, TOKEN.INT);
    else if (n < 0n && n >= -(2n ** 31n)) this.token(-n, TOKEN.NEG);
    else {
      const magnitude = n < 0n ? -n : n;
      const hex = magnitude.toString(16);
      const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
      this.token(body.length, n < 0n ? TOKEN.LONGNEG : TOKEN.LONGINT);
      this.flush();
      this.parts.push(body);
    }
  }

  private value(value: BananaValue): void {
    if (value instanceof Uint8Array) {
      this.string(value);
      return;
    }
    if (value === null) {
      this.close(this.open("none"));
      return;
    }
    switch (typeof value) {
      case "number":
      case "bigint":
        this.int(value);
        return;
      case "boolean": {
        const id = this.open("boolean");
        this.int(value ? 1 : 0);
        this.close(id);
        return;
      }
      case "string": {
        const id = this.open("unicode");
        this.string(utf8.encode(value));
        this.close(id);
        return;
      }
    }
    switch (value.kind) {
      case "list":
      case "tuple":
      case "set":
      case "immutable-set":
      case "dict": {
        const seen = this.scope.get(value);
        if (seen !== undefined) {
          const id = this.open("reference");
          this.int(seen);
          this.close(id);
          return;
        }
        const id = this.open(value.kind);
        this.scope.set(value, id);
        if (value.kind === "dict") {
          for (const [k, v] of value.entries) {
            this.value(k);
            this.value(v);
          }
        } else for (const item of value.items) this.value(item);
        this.close(id);
        return;
      }
      case "my-reference": {
        const id = this.open("my-reference");
        this.int(value.clid);
        if (value.interfaceName !== undefined) {
          this.string(utf8.encode(value.interfaceName));
          if (value.url !== undefined) this.string(utf8.encode(value.url));
        }
        this.close(id);
        return;
      }
      case "your-reference": {
        const id = this.open("your-reference");
        this.int(value.clid);
        this.close(id);
        return;
      }
      case "copyable": {
        const id = this.open("copyable", value.className);
        for (const [k, v] of value.state) {
          this.value(k);
          this.value(v);
        }
        this.close(id);
        return;
      }
    }
  }
}
