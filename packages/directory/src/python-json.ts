/**
 * Metadata is stored as Python's `json.dumps(metadata)` writes it: ", " and ": " separators,
 * non-ASCII escaped as \uXXXX, floats as Python's repr. JavaScript has one number type, so
 * which numbers are floats is decided by the key: Tahoe's link times and the stat times
 * `tahoe backup` stores are always floats (time.time(), os.stat). Metadata read from a
 * directory and written back unchanged keeps its exact bytes (see rawMetadataOf).
 */

const FLOAT_KEYS = new Set(["linkcrtime", "linkmotime", "ctime", "mtime"]);

/** True for a metadata key whose number Python holds as a float (so 1700000000 is written 1700000000.0). */
export function isPythonFloatKey(key: string): boolean {
  return FLOAT_KEYS.has(key);
}

/** A number as `json.dumps` writes it: a float under a float key or when not a safe integer, else an int. */
export function pythonNumber(value: number, floatKey: boolean): string {
  if (floatKey || !Number.isSafeInteger(value)) return pythonFloatRepr(value);
  return String(value);
}

/** Python's float repr: shortest round-trip digits; scientific below 1e-4 and from 1e16. */
export function pythonFloatRepr(value: number): string {
  // Python writes NaN/Infinity, which no strict JSON reader takes back; directories never hold them.
  if (!Number.isFinite(value)) throw new TypeError(`the number ${value} is not finite`);
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = value.toExponential().split("e") as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const e = Math.abs(exponent).toString().padStart(2, "0");
    return `${sign}${digits[0]}${frac}e${exponent < 0 ? "-" : "+"}${e}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fracPart = digits.slice(exponent + 1);
  return `${sign}${intPart}.${fracPart === "" ? "0" : fracPart}`;
}

function pythonString(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function dumps(value: unknown, floatHint: boolean): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return pythonNumber(value, floatHint);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return pythonString(value);
  if (Array.isArray(value)) return `[${value.map((v) => dumps(v, false)).join(", ")}]`;
  if (typeof value === "object") {
    const parts = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${pythonString(k)}: ${dumps(v, FLOAT_KEYS.has(k))}`);
    return `{${parts.join(", ")}}`;
  }
  throw new TypeError(`metadata cannot hold a ${typeof value}`);
}

/** `json.dumps(metadata)` as Python 3 writes it. */
export function pythonJsonDumps(value: unknown): string {
  return dumps(value, false);
}

/** The exact metadata text each parsed metadata object came from, so an unchanged entry repacks byte for byte. */
const RAW_METADATA = new WeakMap<object, string>();

export function rememberRawMetadata(metadata: object, raw: string): void {
  RAW_METADATA.set(metadata, raw);
}

export function metadataJson(metadata: Record<string, unknown>): string {
  return RAW_METADATA.get(metadata) ?? pythonJsonDumps(metadata);
}
