import {
  type ConnectionHint,
  isHostName,
  isIpLiteral,
  isLoopbackEndpoint,
  type ListenEndpoint,
  parseClientEndpoint,
  parseEndpoint,
  parseFurl,
  parseNurl,
  parseTubLocation,
} from "@lafs/config";
import { isTahoeError } from "@lafs/interface";
import type { CreateRequest } from "./create-options.js";
import { type ParsedOptions, param } from "./option-parser.js";
import { CliUsageError } from "./usage-error.js";

/** Runs a @lafs/config parser on an option value; its error becomes a usage error naming the option. */
function parseOption<T>(option: string, value: string, parse: (text: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    if (!isTahoeError(error)) throw error;
    throw new CliUsageError(`--${option}: ${error.message}`, error.hint);
  }
}

/** An introducer is named by a NURL; a Foolscap fURL is kept too, as Tahoe-LAFS would take it. */
function checkIntroducer(text: string): void {
  try {
    parseNurl(text);
    return;
  } catch (nurlError) {
    if (!isTahoeError(nurlError)) throw nurlError;
    try {
      parseFurl(text);
    } catch {
      throw new CliUsageError(`--introducer: ${nurlError.message}`, nurlError.hint);
    }
  }
}

function checkHostname(hostname: string): void {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  if (!isHostName(bare) && !isIpLiteral(bare)) {
    throw new CliUsageError(
      `--hostname '${hostname}' is not a DNS name or an IP address`,
      "Give the name or address other nodes use to reach this one, e.g. --hostname=node.example.org.",
    );
  }
}

/**
 * --hide-ip promises that nothing in tahoe.cfg reveals this machine's address: refuse tcp
 * hints in --location, a tub.port or web.port reachable from other machines.
 */
function checkHiddenIp(
  webPort: ListenEndpoint | undefined,
  port: ListenEndpoint | undefined,
  hints: ConnectionHint[],
): void {
  const tcpHint = hints.find((h) => h.kind === "tcp");
  if (tcpHint !== undefined) {
    throw new CliUsageError(
      `--hide-ip cannot be used with --location containing the tcp hint '${tcpHint.host}:${tcpHint.port}': it would reveal where this node is`,
      "Advertise only tor: or i2p: hints with --hide-ip, or drop --hide-ip.",
    );
  }
  if (port !== undefined && !isLoopbackEndpoint(port)) {
    throw new CliUsageError(
      "--hide-ip requires --port to listen on loopback only (e.g. tcp:PORT:interface=127.0.0.1)",
      "Behind an onion service the tub port must not be reachable from other machines.",
    );
  }
  if (webPort !== undefined && !isLoopbackEndpoint(webPort)) {
    throw new CliUsageError(
      "--hide-ip requires --webport to listen on loopback only (e.g. tcp:3456:interface=127.0.0.1) or none",
      "A web server on a public interface would reveal this node's IP address.",
    );
  }
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Our checks beyond Tahoe-LAFS's: every value must parse the way the node will read it. */
export function checkCreateValues(request: CreateRequest, parsed: ParsedOptions): void {
  if (request.introducer !== undefined) checkIntroducer(request.introducer);
  const webPort = request.webPort === "" ? undefined : parseOption("webport", request.webPort, parseEndpoint);
  const port = request.port === undefined ? undefined : parseOption("port", request.port, parseEndpoint);
  const location =
    request.location === undefined ? undefined : parseOption("location", request.location, parseTubLocation);
  if (location !== undefined && location.kind === "disabled") {
    throw new CliUsageError(
      "--location=disabled cannot be used with --port",
      "Use --listen=none for a node that accepts no connections.",
    );
  }
  if (request.hostname !== undefined) checkHostname(request.hostname);
  for (const option of ["tor-control-port", "tor-socks-port", "i2p-sam-port"]) {
    const value = param(parsed, option);
    if (value === undefined) continue;
    const endpoint = parseOption(option, value, parseClientEndpoint);
    if (request.hideIp && endpoint.kind === "tcp" && !isLoopbackHost(endpoint.host)) {
      throw new CliUsageError(
        `--hide-ip requires --${option}= on this machine (a loopback address or a unix socket), not '${value}'`,
        "A remote Tor or I2P daemon would see this node's traffic in clear; run it locally.",
      );
    }
  }
  if (request.hideIp && location?.kind === "hints" && location.auto) {
    throw new CliUsageError(
      "--hide-ip cannot be used with AUTO in --location: AUTO advertises this machine's IP addresses",
      "Advertise only tor: or i2p: hints with --hide-ip, or drop --hide-ip.",
    );
  }
  if (request.hideIp) checkHiddenIp(webPort, port, location?.kind === "hints" ? location.hints : []);
}
