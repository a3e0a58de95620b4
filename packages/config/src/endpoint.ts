import { isIPv4, isIPv6 } from "node:net";
import { isHostName } from "./hint.js";
import { ConfigValueError } from "./issues.js";

/** A listening endpoint from `web.port`, `tub.port` or `control.port` (Twisted server endpoint syntax). */
export type ListenEndpoint =
  | { kind: "tcp"; port: number; interface?: string; backlog?: number }
  | { kind: "unix"; path: string; mode?: number; lockfile?: boolean };

const ENDPOINT_FORMS =
  "accepted forms: tcp:PORT, tcp:PORT:interface=ADDR, tcp:port=PORT:interface=ADDR, optional :backlog=N, " +
  "escape ':' in IPv6 addresses as in interface=\\:\\:1; a bare PORT (same as tcp:PORT); " +
  "unix:PATH with optional :mode=660 and :lockfile=0|1";

function endpointError(text: string, why: string): ConfigValueError {
  return new ConfigValueError("TAHOE_ERR_CONFIG_ENDPOINT", `endpoint '${text}': ${why}`, {
    hint: ENDPOINT_FORMS,
  });
}

/**
 * Twisted's tokenizer: fields split on unescaped ':', a field is `key=value` when it has an
 * unescaped '=', and a backslash escapes the next character anywhere.
 */
function splitFields(text: string): { key?: string; value: string }[] {
  const fields: { key?: string; value: string }[] = [];
  let current = "";
  let key: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\\") {
      i++;
      if (i >= text.length) throw endpointError(text, "ends with a lone backslash");
      current += text[i];
    } else if (ch === ":") {
      fields.push(key === undefined ? { value: current } : { key, value: current });
      current = "";
      key = undefined;
    } else if (ch === "=" && key === undefined) {
      key = current;
      current = "";
    } else {
      current += ch;
    }
  }
  fields.push(key === undefined ? { value: current } : { key, value: current });
  return fields;
}

function parseInteger(text: string, what: string, value: string, max: number): number {
  if (!/^[0-9]+$/.test(value)) throw endpointError(text, `${what} '${value}' is not a number`);
  const n = Number(value);
  if (n > max) throw endpointError(text, `${what} ${value} is outside 0..${max}`);
  return n;
}

function isInterfaceAddress(addr: string): boolean {
  return isIPv4(addr) || isIPv6(addr) || addr === "localhost" || isHostName(addr);
}

function parseTcp(text: string, fields: { key?: string; value: string }[]): ListenEndpoint {
  let port: number | undefined;
  let iface: string | undefined;
  let backlog: number | undefined;
  const seen = new Set<string>();
  fields.forEach((f, index) => {
    const key = f.key ?? (index === 0 ? "port" : undefined);
    if (key === undefined) throw endpointError(text, `unexpected positional value '${f.value}'`);
    if (seen.has(key)) throw endpointError(text, `'${key}' is given twice`);
    seen.add(key);
    if (key === "port") port = parseInteger(text, "port", f.value, 65535);
    else if (key === "interface") {
      if (!isInterfaceAddress(f.value)) {
        const unescapedV6 = /interface=[0-9a-f]*:[0-9a-f]*:/i.test(text);
        throw endpointError(
          text,
          unescapedV6
            ? "the ':' of an IPv6 interface must be escaped, as in interface=\\:\\:1"
            : `interface '${f.value}' is not an IP address or host name`,
        );
      }
      iface = f.value;
    } else if (key === "backlog") {
      backlog = parseInteger(text, "backlog", f.value, 2 ** 31 - 1);
      if (backlog === 0) throw endpointError(text, "backlog must be at least 1");
    } else throw endpointError(text, `unknown key '${key}' for tcp (allowed: port, interface, backlog)`);
  });
  if (port === undefined) throw endpointError(text, "has no port");
  const out: ListenEndpoint = { kind: "tcp", port };
  if (iface !== undefined) out.interface = iface;
  if (backlog !== undefined) out.backlog = backlog;
  return out;
}

function parseUnix(text: string, fields: { key?: string; value: string }[]): ListenEndpoint {
  let path: string | undefined;
  let mode: number | undefined;
  let lockfile: boolean | undefined;
  const seen = new Set<string>();
  fields.forEach((f, index) => {
    const key = f.key ?? (index === 0 ? "address" : undefined);
    if (key === undefined) throw endpointError(text, `unexpected positional value '${f.value}'`);
    if (seen.has(key)) throw endpointError(text, `'${key}' is given twice`);
    seen.add(key);
    if (key === "address") {
      if (f.value === "") throw endpointError(text, "has an empty socket path");
      path = f.value;
    } else if (key === "mode") {
      if (!/^[0-7]{1,4}$/.test(f.value)) throw endpointError(text, `mode '${f.value}' is not an octal mode`);
      mode = Number.parseInt(f.value, 8);
    } else if (key === "lockfile") {
      if (f.value !== "0" && f.value !== "1")
        throw endpointError(text, `lockfile '${f.value}' is not 0 or 1`);
      lockfile = f.value === "1";
    } else throw endpointError(text, `unknown key '${key}' for unix (allowed: address, mode, lockfile)`);
  });
  if (path === undefined) throw endpointError(text, "has no socket path");
  const out: ListenEndpoint = { kind: "unix", path };
  if (mode !== undefined) out.mode = mode;
  if (lockfile !== undefined) out.lockfile = lockfile;
  return out;
}

/** Parses one server endpoint string. Throws ConfigValueError (TAHOE_ERR_CONFIG_ENDPOINT) naming it. */
export function parseEndpoint(text: string): ListenEndpoint {
  const trimmed = text.trim();
  if (trimmed === "") throw endpointError(text, "is empty");
  if (/^[0-9]+$/.test(trimmed)) return { kind: "tcp", port: parseInteger(trimmed, "port", trimmed, 65535) };
  const colon = trimmed.indexOf(":");
  const type = colon < 0 ? trimmed : trimmed.slice(0, colon);
  if (colon < 0) throw endpointError(trimmed, "has no endpoint type");
  const fields = splitFields(trimmed.slice(colon + 1));
  if (type === "tcp") return parseTcp(trimmed, fields);
  if (type === "unix") return parseUnix(trimmed, fields);
  throw endpointError(trimmed, `endpoint type '${type}' is not supported`);
}

function escapeValue(value: string): string {
  return value.replace(/[\\:=]/g, (c) => `\\${c}`);
}

/** Renders the canonical form, e.g. `tcp:3456:interface=127.0.0.1` or `unix:/run/tahoe.sock:mode=660`. */
export function formatEndpoint(e: ListenEndpoint): string {
  let text: string;
  if (e.kind === "tcp") {
    text = `tcp:${e.port}`;
    if (e.interface !== undefined) text += `:interface=${escapeValue(e.interface)}`;
    if (e.backlog !== undefined) text += `:backlog=${e.backlog}`;
  } else {
    text = `unix:${escapeValue(e.path)}`;
    if (e.mode !== undefined) text += `:mode=${e.mode.toString(8)}`;
    if (e.lockfile !== undefined) text += `:lockfile=${e.lockfile ? 1 : 0}`;
  }
  // Re-parsing refuses values a caller built by hand that no config file could contain.
  parseEndpoint(text);
  return text;
}

/** Parses `tub.port`: one or more endpoints separated by commas, as Tahoe splits it. */
export function parseEndpointList(text: string): ListenEndpoint[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) {
    throw new ConfigValueError(
      "TAHOE_ERR_CONFIG_ENDPOINT",
      `endpoint list '${text.trim()}' has an empty entry`,
      {
        hint: `a comma-separated list of endpoints; ${ENDPOINT_FORMS}`,
      },
    );
  }
  return parts.map(parseEndpoint);
}

function expandIPv6(addr: string): number[] | undefined {
  const zoneless = addr.split("%")[0]!;
  let text = zoneless;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const octets = v4[1]!.split(".").map(Number);
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    text = text.slice(0, -v4[1]!.length);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const [head, rest] = text.split("::");
  const parse = (s: string | undefined) => (s ? s.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const left = parse(head);
  const right = [...parse(rest), ...tail];
  if (rest === undefined) return [...left, ...tail].length === 8 ? [...left, ...tail] : undefined;
  const zeros = 8 - left.length - right.length;
  if (zeros < 0) return undefined;
  return [...left, ...new Array<number>(zeros).fill(0), ...right];
}

/** True for `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (h.toLowerCase() === "localhost" || h.toLowerCase() === "localhost.") return true;
  if (isIPv4(h)) return h.startsWith("127.");
  if (!isIPv6(h)) return false;
  const groups = expandIPv6(h);
  if (!groups) return false;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  return mapped && groups[6]! >> 8 === 127;
}

/** Whether only this machine can connect: a loopback tcp interface, or a unix socket. */
export function isLoopbackEndpoint(e: ListenEndpoint): boolean {
  if (e.kind === "unix") return true;
  return e.interface !== undefined && isLoopbackHost(e.interface);
}
