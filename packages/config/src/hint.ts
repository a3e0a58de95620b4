import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { base32Decode } from "@lafs/crypto";
import { ConfigValueError } from "./issues.js";

/** Which transport handler a hint needs: `[connections] tcp` picks the one for tcp hints. */
export type HintKind = "tcp" | "tor" | "i2p";

/** One place a peer can be reached. `port` is always present for tcp and tor hints. */
export interface ConnectionHint {
  kind: HintKind;
  /** A DNS name, an IPv4 or IPv6 literal (without brackets), an onion or an I2P address. */
  host: string;
  port?: number;
}

/** The `[node] tub.location` value. Tahoe expands AUTO to the node's local addresses at start. */
export type TubLocation = { kind: "disabled" } | { kind: "hints"; hints: ConnectionHint[]; auto: boolean };

const HINT_FORMS =
  "a hint is tcp:HOST:PORT, tor:HOST:PORT, i2p:ADDR or i2p:ADDR:PORT, or HOST:PORT (same as tcp:); " +
  "write IPv6 addresses in brackets, as in tcp:[2001:db8::1]:443";

function hintError(message: string, hint: string = HINT_FORMS): ConfigValueError {
  return new ConfigValueError("TAHOE_ERR_CONFIG_HINT", message, { hint });
}

/** An IPv4 or IPv6 literal; IPv6 may be given with or without brackets. */
export function isIpLiteral(host: string): boolean {
  return isIPv4(host) || isIPv6(unbracket(host));
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * RFC 1123 host name. A name whose last label is all digits is refused: resolvers read it
 * as a (mistyped) IPv4 address, never as a name.
 */
export function isHostName(host: string): boolean {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  if (!labels.every((l) => LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/**
 * A v3 onion address (56 base32 characters, optionally under a subdomain). The embedded
 * checksum and version byte are checked, so a mistyped address is refused here instead of
 * timing out in Tor later.
 */
export function isOnionHost(host: string): boolean {
  const lower = host.toLowerCase();
  const m = /^(?:[a-z0-9-]+\.)*([a-z2-7]{56})\.onion$/.exec(lower);
  if (!m) return false;
  const raw = base32Decode(m[1]!);
  const pubkey = raw.subarray(0, 32);
  const version = raw[34];
  if (version !== 3) return false;
  const digest = createHash("sha3-256")
    .update(".onion checksum")
    .update(pubkey)
    .update(Uint8Array.of(3))
    .digest();
  return digest[0] === raw[32] && digest[1] === raw[33];
}

/** An I2P destination: `<52 or 56+ base32>.b32.i2p`, or an address-book name ending in `.i2p`. */
export function isI2pHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower.endsWith(".b32.i2p")) return /^([a-z2-7]{52}|[a-z2-7]{56,})\.b32\.i2p$/.test(lower);
  return lower.endsWith(".i2p") && isHostName(lower);
}

function checkPort(text: string, original: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) {
    throw hintError(`connection hint '${original}': port '${text}' is not a number`);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) {
    throw hintError(`connection hint '${original}': port ${port} is outside 1..65535`);
  }
  return port;
}

function checkHost(kind: HintKind, host: string, original: string): void {
  if (host.length === 0) throw hintError(`connection hint '${original}' has no host`);
  if (kind === "i2p") {
    if (!isI2pHost(host)) {
      throw hintError(
        `connection hint '${original}': '${host}' is not an I2P address`,
        "an i2p hint names a destination such as <52 base32 characters>.b32.i2p or a name ending in .i2p",
      );
    }
    return;
  }
  if (host.toLowerCase().endsWith(".onion")) {
    if (!isOnionHost(host)) {
      throw hintError(
        `connection hint '${original}': '${host}' is not a valid v3 onion address`,
        "a v3 onion address is 56 base32 characters (a-z, 2-7) followed by .onion, with a valid checksum; " +
          "v2 (16-character) onion addresses no longer work in Tor",
      );
    }
    return;
  }
  if (!isIpLiteral(host) && !isHostName(host)) {
    throw hintError(
      `connection hint '${original}': '${host}' is not a host name or IP address`,
      "a host is a DNS name (letters, digits and hyphens between dots), an IPv4 address, " +
        "or an IPv6 address in brackets",
    );
  }
}

/** Splits `HOST:PORT` or `[V6]:PORT`; the port part is absent when there is no colon. */
function splitHostPort(rest: string, original: string): { host: string; port?: string } {
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw hintError(`connection hint '${original}' has an unclosed '['`);
    const host = rest.slice(1, close);
    if (!isIPv6(host)) throw hintError(`connection hint '${original}': '[${host}]' is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after === "") return { host };
    if (!after.startsWith(":")) throw hintError(`connection hint '${original}': expected ':PORT' after ']'`);
    return { host, port: after.slice(1) };
  }
  const colons = rest.split(":").length - 1;
  if (colons > 1) {
    throw hintError(
      `connection hint '${original}' has too many ':' (an IPv6 address must be in brackets)`,
      HINT_FORMS,
    );
  }
  const at = rest.indexOf(":");
  return at < 0 ? { host: rest } : { host: rest.slice(0, at), port: rest.slice(at + 1) };
}

/**
 * Parses one connection hint. A bare `HOST:PORT` is Foolscap's legacy form of `tcp:HOST:PORT`.
 * Throws ConfigValueError (TAHOE_ERR_CONFIG_HINT) naming the hint.
 */
export function parseHint(text: string): ConnectionHint {
  const original = text;
  const trimmed = text.trim();
  if (trimmed === "") throw hintError("connection hint is empty");
  let kind: HintKind = "tcp";
  let rest = trimmed;
  const prefix = /^([a-z][a-z0-9+-]*):/i.exec(trimmed);
  if (prefix && !trimmed.startsWith("[")) {
    const word = prefix[1]!.toLowerCase();
    if (word === "tcp" || word === "tor" || word === "i2p") {
      kind = word;
      rest = trimmed.slice(prefix[0].length);
    } else if (!/^[0-9]+$/.test(trimmed.slice(prefix[0].length))) {
      // `example.net:1234` also matches the prefix pattern; only a non-numeric tail makes it a type.
      throw hintError(`connection hint '${original}' has unknown type '${prefix[1]}'`);
    }
  }
  const { host, port } = splitHostPort(rest, original);
  checkHost(kind, host, original);
  if (port === undefined) {
    if (kind === "i2p") return { kind, host };
    throw hintError(`connection hint '${original}' has no port`);
  }
  return { kind, host, port: checkPort(port, original) };
}

function hostForHint(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/** Renders a hint with its type prefix; the inverse of parseHint. Refuses a hint parseHint would refuse. */
export function formatHint(h: ConnectionHint): string {
  const hostPart = hostForHint(h.host);
  const text = h.port === undefined ? `${h.kind}:${hostPart}` : `${h.kind}:${hostPart}:${h.port}`;
  const back = parseHint(text);
  if (back.kind !== h.kind || back.host !== h.host || back.port !== h.port) {
    throw hintError(`connection hint ${JSON.stringify(h)} cannot be written as a hint string`);
  }
  return text;
}

/** `host:port` for tcp/tor hints as Tahoe writes a NURL location; IPv6 bracketed. */
export function formatHostPort(h: ConnectionHint): string {
  return h.port === undefined ? hostForHint(h.host) : `${hostForHint(h.host)}:${h.port}`;
}

/**
 * Parses `[node] tub.location`: `disabled`, or a comma list of hints in which `AUTO` may appear.
 * Throws ConfigValueError: TAHOE_ERR_CONFIG_TUB_LOCATION for the list, TAHOE_ERR_CONFIG_HINT for a hint.
 */
export function parseTubLocation(text: string): TubLocation {
  const trimmed = text.trim();
  const allowed =
    "tub.location is 'disabled', or a comma-separated list of hints (tcp:HOST:PORT, tor:HOST:PORT, " +
    "i2p:ADDR[:PORT], HOST:PORT) and optionally AUTO";
  if (trimmed === "") {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_TUB_LOCATION", "tub.location is empty", { hint: allowed });
  }
  if (trimmed === "disabled") return { kind: "disabled" };
  const hints: ConnectionHint[] = [];
  let auto = false;
  for (const part of trimmed.split(",").map((p) => p.trim())) {
    if (part === "") {
      throw new ConfigValueError(
        "TAHOE_ERR_CONFIG_TUB_LOCATION",
        `tub.location '${trimmed}' has an empty entry`,
        {
          hint: allowed,
        },
      );
    }
    if (part === "disabled") {
      throw new ConfigValueError(
        "TAHOE_ERR_CONFIG_TUB_LOCATION",
        `tub.location '${trimmed}' mixes 'disabled' with hints`,
        { hint: "'disabled' must be the whole value" },
      );
    }
    if (part === "AUTO") auto = true;
    else hints.push(parseHint(part));
  }
  return { kind: "hints", hints, auto };
}
