import { isIPv4, isIPv6 } from "node:net";
import { type ConnectionHint, type HintKind, isHostName } from "@lafs/config";
import { addressBytes, bytesToBigInt } from "./ip.js";

/**
 * A pattern over connection hints, as written in the override rules file:
 * `[tcp:|tor:|i2p:]HOST[:PORT]`. HOST is `*`, `*.suffix`, a name, an IPv4 address or CIDR block,
 * or a bracketed IPv6 address or block; PORT is a number or `*`. Matching never resolves a name:
 * an address block only matches hints written as addresses.
 */
export interface HintPattern {
  text: string;
  kind?: HintKind;
  host:
    | { type: "any" }
    | { type: "suffix"; suffix: string }
    | { type: "name"; name: string }
    | { type: "cidr"; family: 4 | 6; bits: bigint; prefix: number };
  port?: number;
}

export const HINT_PATTERN_FORMS =
  "[tcp:|tor:|i2p:]HOST[:PORT] where HOST is *, *.example.org, a host name, 10.0.0.0/8, 192.0.2.7, " +
  "[2001:db8::]/32 or [2001:db8::7], and PORT is a number or *";

/** Parses a pattern; returns a message naming what is wrong instead of throwing. */
export function parseHintPattern(text: string): HintPattern | string {
  let rest = text;
  let kind: HintKind | undefined;
  const prefix = /^(tcp|tor|i2p):/i.exec(rest);
  if (prefix) {
    kind = prefix[1]!.toLowerCase() as HintKind;
    rest = rest.slice(prefix[0].length);
  }
  let hostText: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return `pattern '${text}' has an unclosed '['`;
    const after = rest.slice(close + 1);
    const m = /^(\/[0-9]+)?(?::(.*))?$/.exec(after);
    if (!m) return `pattern '${text}': expected /BITS or :PORT after ']'`;
    hostText = rest.slice(0, close + 1) + (m[1] ?? "");
    portText = m[2];
  } else {
    const parts = rest.split(":");
    if (parts.length > 2) return `pattern '${text}' has too many ':' (write IPv6 in brackets)`;
    hostText = parts[0]!;
    portText = parts[1];
  }
  const host = parseHostPattern(hostText);
  if (typeof host === "string") return `pattern '${text}': ${host}`;
  const pattern: HintPattern = { text, host };
  if (kind !== undefined) pattern.kind = kind;
  if (portText !== undefined && portText !== "*") {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return `pattern '${text}': port '${portText}' is not a number from 1 to 65535 or *`;
    }
    pattern.port = Number(portText);
  }
  return pattern;
}

function parseHostPattern(text: string): HintPattern["host"] | string {
  if (text === "") return "the host is empty";
  if (text === "*") return { type: "any" };
  if (text.startsWith("*.")) {
    const suffix = text.slice(2).toLowerCase();
    if (!isHostName(suffix)) return `'${text}': '${suffix}' is not a host name`;
    return { type: "suffix", suffix };
  }
  if (text.includes("*")) return `'${text}': '*' may only stand alone or begin the name as '*.'`;
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const bracketed = addressText.startsWith("[") && addressText.endsWith("]");
  const address = bracketed ? addressText.slice(1, -1) : addressText;
  const family = isIPv4(address) ? 4 : isIPv6(address) && bracketed ? 6 : undefined;
  if (family === undefined) {
    if (slash >= 0 || bracketed)
      return `'${text}' is not an address block such as 10.0.0.0/8 or [2001:db8::]/32`;
    if (!isHostName(text)) return `'${text}' is not a host name or address`;
    return { type: "name", name: text.toLowerCase().replace(/\.$/, "") };
  }
  const width = family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(width) : text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > width) {
    return `'${text}': the prefix length must be 0..${width}`;
  }
  return { type: "cidr", family, bits: addressBits(address), prefix: Number(prefixText) };
}

function addressBits(address: string): bigint {
  // Only called on strings isIPv4/isIPv6 accepted, so the bytes are always there.
  return bytesToBigInt(addressBytes(address) ?? Buffer.alloc(0));
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

export function hintMatches(pattern: HintPattern, hint: ConnectionHint): boolean {
  if (pattern.kind !== undefined && pattern.kind !== hint.kind) return false;
  if (pattern.port !== undefined && pattern.port !== hint.port) return false;
  const host = unbracket(hint.host).toLowerCase().replace(/\.$/, "");
  const p = pattern.host;
  switch (p.type) {
    case "any":
      return true;
    case "suffix":
      return host.endsWith(`.${p.suffix}`);
    case "name":
      return host === p.name;
    case "cidr": {
      const family = isIPv4(host) ? 4 : isIPv6(host) ? 6 : undefined;
      if (family !== p.family) return false;
      const width = BigInt(family === 4 ? 32 : 128);
      const shift = width - BigInt(p.prefix);
      return addressBits(host) >> shift === p.bits >> shift;
    }
  }
}
