/**
 * The values that travel over Banana, with Python's types kept apart: `Uint8Array` is Python
 * `bytes` (a STRING token), `string` is Python `str` (a "unicode" sequence), `number`/`bigint`
 * is `int`, `null` is `None`, `boolean` is `bool`. Tahoe checks these types on its side
 * (a dict key sent as unicode where bytes are expected fails the call), so they never mix.
 */
export type BananaValue =
  | Uint8Array
  | string
  | number
  | bigint
  | null
  | boolean
  | BananaSequence
  | BananaDict
  | MyReference
  | YourReference
  | BananaCopyable;

/** list, tuple, set or immutable-set: the items in wire order. */
export interface BananaSequence {
  readonly kind: "list" | "tuple" | "set" | "immutable-set";
  readonly items: readonly BananaValue[];
}

/** A dict in wire order (Python insertion order); keys are unique. */
export interface BananaDict {
  readonly kind: "dict";
  readonly entries: readonly (readonly [BananaValue, BananaValue])[];
}

/**
 * A Referenceable of the sender's (`my-reference`): `clid` names it in the sender's table.
 * The interface name and URL come only the first time it is sent on a connection.
 */
export interface MyReference {
  readonly kind: "my-reference";
  readonly clid: number;
  readonly interfaceName?: string | undefined;
  readonly url?: string | undefined;
}

/** A reference handed back to the Tub that owns it (`your-reference`). */
export interface YourReference {
  readonly kind: "your-reference";
  readonly clid: number;
}

/** A `copyable`: a class name and its state as key/value pairs (foolscap sends Failures so). */
export interface BananaCopyable {
  readonly kind: "copyable";
  readonly className: string;
  readonly state: readonly (readonly [BananaValue, BananaValue])[];
}

export function list(...items: BananaValue[]): BananaSequence {
  return { kind: "list", items };
}

export function tuple(...items: BananaValue[]): BananaSequence {
  return { kind: "tuple", items };
}

export function set(...items: BananaValue[]): BananaSequence {
  return { kind: "set", items };
}

export function dict(entries: Iterable<readonly [BananaValue, BananaValue]>): BananaDict {
  return { kind: "dict", entries: [...entries] };
}

const utf8 = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Python bytes of an ASCII/UTF-8 text. */
export function bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

/** For messages: bytes as text, each byte one character (never throws). */
export function bytesText(value: Uint8Array): string {
  return latin1.decode(value);
}

export function isBytes(value: BananaValue | undefined): value is Uint8Array {
  return value instanceof Uint8Array;
}

export function isSequence(
  value: BananaValue | undefined,
  kind?: BananaSequence["kind"],
): value is BananaSequence {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    (value.kind === "list" ||
      value.kind === "tuple" ||
      value.kind === "set" ||
      value.kind === "immutable-set") &&
    (kind === undefined || value.kind === kind)
  );
}

export function isDict(value: BananaValue | undefined): value is BananaDict {
  return (
    typeof value === "object" && value !== null && !(value instanceof Uint8Array) && value.kind === "dict"
  );
}

/** The value stored under a bytes key of a dict, or undefined. */
export function dictGet(value: BananaDict, key: string): BananaValue | undefined {
  for (const [k, v] of value.entries) {
    if (k instanceof Uint8Array && bytesText(k) === key) return v;
  }
  return undefined;
}

/** A short description of a value's wire type, for error messages. */
export function describeType(value: BananaValue | undefined): string {
  if (value === undefined) return "nothing";
  if (value === null) return "None";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "string") return "unicode";
  if (typeof value === "number" || typeof value === "bigint") return "int";
  if (typeof value === "boolean") return "bool";
  return value.kind;
}
