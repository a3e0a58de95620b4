/** What `tahoe create-*` decided, in tahoe.cfg terms. */
export interface NewNodeConfig {
  /** "" leaves `nickname =` empty, as Tahoe-LAFS does when -n is not given. */
  readonly nickname: string;
  /** true writes `[connections] tcp = tor` and `reveal-IP-address = false`. */
  readonly hideIp: boolean;
  /** An endpoint, or "" for no web server. */
  readonly webPort: string;
  /** `disabled`, or comma-joined endpoints / hints. */
  readonly tubPort: string;
  readonly tubLocation: string;
  /** The control tub's loopback endpoint (lafs-ts only; Tahoe-LAFS has no such key). */
  readonly controlPort?: string | undefined;
  /** [tor] keys in Tahoe-LAFS's order (launch/control.port, then onion.*), when --listen=tor made a service. */
  readonly tor?: readonly (readonly [string, string])[] | undefined;
  /** [i2p] keys (sam.port, dest.*), when --listen=i2p made a destination. */
  readonly i2p?: readonly (readonly [string, string])[] | undefined;
  /** Client and storage settings; introducers have none and write only the [node] part. */
  readonly client?: NewClientConfig | undefined;
}

export interface NewClientConfig {
  readonly sharesNeeded: number;
  readonly sharesHappy: number;
  readonly sharesTotal: number;
  readonly storageEnabled: boolean;
  /** An absolute path, or undefined for the default BASEDIR/storage. */
  readonly storageDir?: string | undefined;
}

/**
 * The tahoe.cfg text Tahoe-LAFS 1.20 writes (create_node.py write_node_config and
 * write_client_config), line for line, so a node directory made here looks like one made by
 * Tahoe-LAFS and the docs users know still describe it.
 */
export function formatTahoeCfg(config: NewNodeConfig): string {
  const lines: string[] = [
    "# -*- mode: conf; coding: utf-8 -*-",
    "",
    "# This file controls the configuration of the Tahoe node that",
    "# lives in this directory. It is only read at node startup.",
    "# For details about the keys that can be set here, please",
    "# read the 'docs/configuration.rst' file that came with your",
    "# Tahoe installation.",
    "",
    "",
  ];
  if (config.hideIp) {
    // Tahoe writes `tcp = disabled` when Tor support is not installed; transport always has Tor.
    lines.push("[connections]", "tcp = tor", "");
  }
  lines.push(
    "[node]",
    `nickname = ${config.nickname}`,
    `reveal-IP-address = ${config.hideIp ? "false" : "true"}`,
    `web.port = ${config.webPort}`,
    "web.static = public_html",
    `tub.port = ${config.tubPort}`,
    `tub.location = ${config.tubLocation}`,
    ...(config.controlPort === undefined ? [] : [`control.port = ${config.controlPort}`]),
    "",
    "#log_gatherer.furl =",
    "#timeout.keepalive =",
    "#timeout.disconnect =",
    "#ssh.port = 8022",
    "#ssh.authorized_keys_file = ~/.ssh/authorized_keys",
    "",
  );
  // Tahoe-LAFS writes the listener sections right after [node].
  for (const [name, keys] of [
    ["tor", config.tor],
    ["i2p", config.i2p],
  ] as const) {
    if (keys === undefined || keys.length === 0) continue;
    lines.push(`[${name}]`, ...keys.map(([k, v]) => `${k} = ${v}`), "");
  }
  const client = config.client;
  if (client) {
    lines.push(
      "[client]",
      "helper.furl =",
      "",
      "# Encoding parameters this client will use for newly-uploaded files",
      "# This can be changed at any time: the encoding is saved in",
      "# each filecap, and we can download old files with any encoding",
      "# settings",
      `shares.needed = ${client.sharesNeeded}`,
      `shares.happy = ${client.sharesHappy}`,
      `shares.total = ${client.sharesTotal}`,
      "",
      "[storage]",
      "# Shall this node provide storage service?",
      `enabled = ${client.storageEnabled ? "true" : "false"}`,
      "#readonly =",
      "reserved_space = 1G",
      client.storageDir ? `storage_dir = ${client.storageDir}` : "#storage_dir =",
      "#expire.enabled =",
      "#expire.mode =",
      "",
      "[helper]",
      "# Shall this node run a helper service that clients can use?",
      "enabled = false",
      "",
    );
  }
  return `${lines.join("\n")}\n`;
}
