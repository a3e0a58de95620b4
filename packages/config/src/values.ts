import { z } from "zod";
import { quoteValue } from "./ini.js";
import { ConfigValueError } from "./issues.js";

/**
 * The value parsers of tahoe.cfg, each with Tahoe-LAFS's own spelling rules. They throw
 * ConfigValueError (message names the value, hint says what is allowed) so the CLI can reuse
 * them for flags; the schema wraps them into zod schemas that turn strings into typed values.
 */

export const BOOLEAN_ALLOWED = "true or false (also yes/no, on/off, 1/0)";
const TRUE_WORDS = new Set(["true", "yes", "on", "1"]);
const FALSE_WORDS = new Set(["false", "no", "off", "0"]);

/** Python configparser's getboolean(): case-insensitive true/false, yes/no, on/off, 1/0. */
export function parseBooleanValue(text: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_BOOLEAN", `${quoteValue(text)} is not a boolean`, {
    hint: BOOLEAN_ALLOWED,
  });
}

export interface IntegerRange {
  min: number;
  max: number;
}

export function integerAllowed(range: IntegerRange): string {
  return `a whole number from ${range.min} to ${range.max}`;
}

export function parseIntegerValue(text: string, range: IntegerRange): number {
  const t = text.trim();
  const hint = integerAllowed(range);
  if (!/^[+-]?\d+$/.test(t)) {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_INTEGER", `${quoteValue(text)} is not a whole number`, {
      hint,
    });
  }
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_INTEGER", `${quoteValue(text)} is out of range`, {
      hint,
    });
  }
  return n;
}

export const SIZE_ALLOWED =
  'a byte count such as 1000000, or with a unit: 500M, 1G, 2T (decimal, powers of 1000) or 1GiB, 500Mi (binary, powers of 1024); "B" is optional';

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  // Tahoe accepts a bare "i" ("100i" = 100 bytes).
  I: 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  KI: 2 ** 10,
  MI: 2 ** 20,
  GI: 2 ** 30,
  TI: 2 ** 40,
  PI: 2 ** 50,
  EI: 2 ** 60,
};

/** Tahoe-LAFS's parse_abbreviated_size(): "1G" = 10^9, "1GiB" = 2^30, case-insensitive. */
export function parseAbbreviatedSize(text: string): number {
  const m = /^(\d+)([KMGTPE]?I?)B?$/.exec(text.trim().toUpperCase());
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_SIZE", `${quoteValue(text)} is not a size`, {
      hint: SIZE_ALLOWED,
    });
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_SIZE", `${quoteValue(text)} is too large`, {
      hint: `at most ${Number.MAX_SAFE_INTEGER} bytes (about 9P)`,
    });
  }
  return bytes;
}

export const DURATION_ALLOWED =
  'a whole number and a unit: day, month (31 days), mo or year (365 days), optionally plural: "60 days", "2 months", "1 year"';

const DAY = 24 * 60 * 60;
const DURATION_UNITS: [string, number][] = [
  ["day", DAY],
  ["month", 31 * DAY],
  ["mo", 31 * DAY],
  ["year", 365 * DAY],
];

/** Tahoe-LAFS's parse_duration(): returns seconds. */
export function parseDuration(text: string): number {
  let s = text.trim().toLowerCase();
  if (s.endsWith("s")) s = s.slice(0, -1);
  for (const [unit, seconds] of DURATION_UNITS) {
    if (!s.endsWith(unit)) continue;
    const number = s.slice(0, -unit.length).trim();
    if (/^\d{1,6}$/.test(number)) return Number(number) * seconds;
    break;
  }
  throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_DURATION", `${quoteValue(text)} is not a duration`, {
    hint: DURATION_ALLOWED,
  });
}

export const DATE_ALLOWED = "a date as YYYY-MM-DD, for example 2024-01-31 (midnight UTC)";

/** Tahoe-LAFS's parse_date(): YYYY-MM-DD, returned as seconds since the epoch (UTC midnight). */
export function parseDate(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const ms = Date.UTC(y, mo - 1, d);
    const back = new Date(ms);
    // Date.UTC rolls 2024-02-30 over to March; a real date survives the round trip.
    if (back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d)
      return ms / 1000;
  }
  throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_DATE", `${quoteValue(text)} is not a date`, {
    hint: DATE_ALLOWED,
  });
}

/** Where this node connects to a local daemon (Tor control/SOCKS port, I2P SAM port). */
export type ClientEndpoint = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export const CLIENT_ENDPOINT_ALLOWED =
  "tcp:HOST:PORT (also tcp:host=HOST:port=PORT; IPv6 as [::1]) or unix:PATH";

function badClientEndpoint(text: string, why: string): ConfigValueError {
  return new ConfigValueError(
    "TAHOE_ERR_CONFIG_BAD_CLIENT_ENDPOINT",
    `${quoteValue(text)} is not a client endpoint: ${why}`,
    { hint: CLIENT_ENDPOINT_ALLOWED },
  );
}

/** The subset of Twisted's clientFromString() that Tahoe-LAFS documents for these keys. */
export function parseClientEndpoint(text: string): ClientEndpoint {
  const t = text.trim();
  const colon = t.indexOf(":");
  const kind = colon < 0 ? "" : t.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? "" : t.slice(colon + 1);
  if (kind === "unix") {
    const path = rest.startsWith("path=") ? rest.slice(5) : rest;
    if (path === "") throw badClientEndpoint(text, "the socket path is missing");
    return { kind: "unix", path };
  }
  if (kind !== "tcp") throw badClientEndpoint(text, 'it must start with "tcp:" or "unix:"');
  let host: string | undefined;
  let portText: string | undefined;
  if (rest.includes("=")) {
    for (const part of rest.split(":")) {
      const eq = part.indexOf("=");
      const name = part.slice(0, eq);
      if (eq < 0 || (name !== "host" && name !== "port")) {
        throw badClientEndpoint(text, `unknown part ${quoteValue(part)}`);
      }
      if (name === "host") host = part.slice(eq + 1);
      else portText = part.slice(eq + 1);
    }
  } else {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):([^:]*)$/.exec(rest);
    if (!m) throw badClientEndpoint(text, "expected tcp:HOST:PORT");
    host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
    portText = m[2];
  }
  if (!host) throw badClientEndpoint(text, "the host is missing");
  if (
    portText === undefined ||
    !/^\d{1,5}$/.test(portText) ||
    Number(portText) < 1 ||
    Number(portText) > 65535
  ) {
    throw badClientEndpoint(text, "the port must be a number from 1 to 65535");
  }
  return { kind: "tcp", host, port: Number(portText) };
}

export function formatClientEndpoint(e: ClientEndpoint): string {
  if (e.kind === "unix") return `unix:${e.path}`;
  return e.host.includes(":") ? `tcp:[${e.host}]:${e.port}` : `tcp:${e.host}:${e.port}`;
}

/** Tahoe-LAFS splits lists on "," and drops empty items. */
export function parseCommaList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Turns a throwing parser into a zod schema from the raw string to the typed value: a
 * ConfigValueError becomes a zod issue with the parser's message, anything else is a bug and
 * propagates.
 */
export function parsedString<T>(parse: (text: string) => T): z.ZodType<T, string> {
  return z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch (err) {
      if (!(err instanceof ConfigValueError)) throw err;
      ctx.issues.push({ code: "custom", message: err.message, input: text, params: { hint: err.hint } });
      return z.NEVER;
    }
  });
}

/** A case-insensitive choice among fixed words, returned lower-cased. */
export function parseChoice<const W extends string>(text: string, words: readonly W[]): W {
  const t = text.trim().toLowerCase();
  const found = words.find((w) => w === t);
  if (found !== undefined) return found;
  throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_CHOICE", `${quoteValue(text)} is not one of the choices`, {
    hint: `one of: ${words.join(", ")}`,
  });
}
