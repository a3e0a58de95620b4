/**
 * The i2pd.conf of every i2pd the tests start (the offline one of real-i2pd.ts and the routers
 * of tests/support/i2p-net.ts): a private netid, no reseed (no URLs, threshold 0), UPnP, SSU2,
 * IPv6 and NTP off, every client service but SAM off, the address book on with nothing to fetch.
 * Dependency-free so that tests/support can import it too.
 */
export interface I2pdConfOptions {
  readonly logFile: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** The address the router binds and (when published) announces. */
  readonly host: string;
  /** The NTCP2 port. */
  readonly routerPort: number;
  readonly floodfill: boolean;
  /** Whether the router announces its NTCP2 address, so that other routers can reach it. */
  readonly published: boolean;
  /** The SAM bridge's port, always on 127.0.0.1. */
  readonly samPort: number;
  /** Extra main-section lines, e.g. `address4 = …` or `reservedrange = false`. */
  readonly mainExtra?: readonly string[] | undefined;
  /** An [exploratory] section's lines, when the default tunnels are too long for the network. */
  readonly exploratory?: readonly string[] | undefined;
  /**
   * Write `subscriptions =` (empty). i2pd reads it as one empty URL and crashes on it once its
   * shared destination is ready, about 3 minutes in; without it the default list names hosts
   * that cannot be resolved here.
   */
  readonly emptySubscriptions: boolean;
}

export function i2pdConf(o: I2pdConfOptions): string {
  const lines = [
    "log = file",
    `logfile = ${o.logFile}`,
    `loglevel = ${o.logLevel}`,
    "daemon = false",
    "ipv4 = true",
    "ipv6 = false",
    `host = ${o.host}`,
    `port = ${o.routerPort}`,
    "netid = 99",
    `floodfill = ${o.floodfill}`,
    ...(o.mainExtra ?? []),
    "[ntcp2]",
    "enabled = true",
    `published = ${o.published}`,
    `port = ${o.routerPort}`,
    "[ssu2]",
    "enabled = false",
    ...(o.exploratory === undefined ? [] : ["[exploratory]", ...o.exploratory]),
  ];
  for (const off of ["http", "httpproxy", "socksproxy"]) lines.push(`[${off}]`, "enabled = false");
  lines.push("[sam]", "enabled = true", "address = 127.0.0.1", `port = ${o.samPort}`);
  for (const off of ["bob", "i2cp", "i2pcontrol", "upnp"]) lines.push(`[${off}]`, "enabled = false");
  lines.push("[reseed]", "urls =", "yggurls =", "file =", "zipfile =", "threshold = 0");
  // On: i2pd 2.45 crashes (SIGSEGV) on a STREAM CONNECT to a full base64 destination without it.
  lines.push("[addressbook]", "enabled = true", "defaulturl =");
  if (o.emptySubscriptions) lines.push("subscriptions =");
  lines.push("[nettime]", "enabled = false", "[meshnets]", "yggdrasil = false");
  return `${lines.join("\n")}\n`;
}
