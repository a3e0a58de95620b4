import { describe, expect, it } from "vitest";
import { CROSS_FIELD_RULES, type LoadOptions, loadTahoeCfgText } from "../src/index.js";

const F = "BASEDIR/tahoe.cfg";
const SERVERS = "BASEDIR/private/servers.yaml";
const ONION = "a4dqobyha4dqobyha4dqobyha4dqobyha4dqobyha4dqobyha4dwc6ad.onion";
/** What `tahoe create-node` (Tahoe-LAFS 1.20) writes for a public storage node. */
const TAHOE_CREATE_NODE = `${[
  "# -*- mode: conf; coding: utf-8 -*-",
  "",
  "# This file controls the configuration of the Tahoe node that",
  "# lives in this directory. It is only read at node startup.",
  "# For details about the keys that can be set here, please",
  "# read the 'docs/configuration.rst' file that came with your",
  "# Tahoe installation.",
  "",
  "",
  "[node]",
  "nickname = alice",
  "web.port = tcp:3456:interface=127.0.0.1",
  "web.static = public_html",
  "tub.port = tcp:3457",
  "tub.location = tcp:alice.example.net:3457",
  "#log_gatherer.furl =",
  "#timeout.keepalive =",
  "#timeout.disconnect =",
  "#ssh.port = 8022",
  "#ssh.authorized_keys_file = ~/.ssh/authorized_keys",
  "",
  "[connections]",
  "tcp = tcp",
  "",
  "[client]",
  "# Which services should this client connect to?",
  "introducer.furl =",
  "helper.furl =",
  "",
  "# Encoding parameters this client will use for newly-uploaded files",
  "# This can be changed at any time: the encoding is saved in each filecap,",
  "# and we can download old files with any encoding parameters.",
  "shares.needed = 3",
  "shares.happy = 7",
  "shares.total = 10",
  "",
  "[storage]",
  "# Shall this node provide storage service?",
  "enabled = true",
  "#readonly =",
  "reserved_space = 1G",
  "#expire.enabled =",
  "#expire.mode =",
  "",
  "[helper]",
  "# Shall this node run a helper service that clients can use?",
  "enabled = false",
].join("\n")}\n`;

/** What `tahoe create-client --hide-ip --listen=none` writes. */
const TAHOE_CREATE_CLIENT_HIDDEN = `${[
  "# -*- mode: conf; coding: utf-8 -*-",
  "",
  "[node]",
  "nickname = hidden",
  "web.port = tcp:3456:interface=127.0.0.1",
  "web.static = public_html",
  "tub.port = disabled",
  "tub.location = disabled",
  "reveal-IP-address = false",
  "",
  "[connections]",
  "tcp = tor",
  "",
  "[tor]",
  "launch = true",
  "",
  "[client]",
  "shares.needed = 3",
  "shares.happy = 7",
  "shares.total = 10",
  "",
  "[storage]",
  "enabled = false",
  "reserved_space = 1G",
  "",
  "[helper]",
  "enabled = false",
].join("\n")}\n`;

interface Expected {
  line: number | undefined;
  section?: string | undefined;
  key?: string | undefined;
  fragment: string;
  file?: string;
}

interface Case {
  name: string;
  /** The rule this case shows failing. */
  rule?: string;
  cfg: string;
  servers?: LoadOptions["servers"];
  errors: Expected[];
  warnings?: Expected[];
}

const cfg = (...lines: string[]) => `${lines.join("\n")}\n`;

/** A hidden (Tor-only) client: the base of many cases below; lines 1-9. */
const HIDDEN_CLIENT = [
  "[node]",
  "reveal-IP-address = false",
  "tub.port = disabled",
  "tub.location = disabled",
  "web.port = tcp:3456:interface=127.0.0.1",
  "[connections]",
  "tcp = tor",
  "[storage]",
  "enabled = false",
];

/** A hidden onion server; lines 1-14. */
const ONION_SERVER = [
  "[node]",
  "nickname = hidden",
  "web.port = tcp:3456:interface=127.0.0.1",
  "tub.port = tcp:24321:interface=127.0.0.1",
  `tub.location = tor:${ONION}:3457`,
  "reveal-IP-address = false",
  "[connections]",
  "tcp = tor",
  "[tor]",
  "onion = true",
  "onion.local_port = 24321",
  "onion.external_port = 3457",
  "onion.private_key_file = private/tor_onion.privkey",
  "launch = true",
];

const CASES: Case[] = [
  // Good configurations: no errors at all.
  { name: "tahoe create-node output", cfg: TAHOE_CREATE_NODE, errors: [] },
  { name: "tahoe create-client --hide-ip output", cfg: TAHOE_CREATE_CLIENT_HIDDEN, errors: [] },
  { name: "hidden client", cfg: cfg(...HIDDEN_CLIENT), errors: [] },
  { name: "onion server launching tor", cfg: cfg(...ONION_SERVER), errors: [] },
  {
    name: "onion server through an existing tor's control port",
    cfg: cfg(
      ...ONION_SERVER.slice(0, 13),
      "control.port = tcp:127.0.0.1:9051",
      "socks.port = tcp:localhost:9050",
    ),
    errors: [],
  },
  {
    name: "I2P server through a SAM bridge",
    cfg: cfg(
      "[node]",
      "reveal-IP-address = false",
      "tub.port = tcp:3459:interface=127.0.0.1",
      "tub.location = i2p:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p",
      "[connections]",
      "tcp = disabled",
      "[i2p]",
      "sam.port = tcp:[::1]:7656",
      "dest = true",
      "dest.port = 3459",
      "dest.private_key_file = private/i2p_dest.privkey",
    ),
    errors: [],
  },
  {
    name: "hidden client with the web server on a unix socket",
    cfg: cfg(...HIDDEN_CLIENT.slice(0, 4), "web.port = unix:/run/tahoe/web.sock", ...HIDDEN_CLIENT.slice(5)),
    errors: [],
  },
  {
    name: "hidden client with servers.yaml overrides that stay private",
    cfg: cfg(...HIDDEN_CLIENT),
    servers: [
      { serverId: "v0-a", line: 3, connections: { tcp: "tor" } },
      { serverId: "v0-b", line: 9, connections: { tcp: "disabled" } },
      { serverId: "v0-c", line: 12 },
    ],
    errors: [],
  },
  {
    name: "servers.yaml tcp override is fine when the IP address may be revealed",
    cfg: cfg("[node]", "tub.port = tcp:3457"),
    servers: [{ serverId: "v0-a", line: 3, connections: { tcp: "tcp" } }],
    errors: [],
  },
  {
    name: "smallest encoding 1-of-1",
    cfg: cfg("[client]", "shares.needed = 1", "shares.happy = 1", "shares.total = 1"),
    errors: [],
  },
  {
    name: "needed = happy = total",
    cfg: cfg("[client]", "shares.needed = 256", "shares.happy = 256", "shares.total = 256"),
    errors: [],
  },
  {
    name: "garbage collection by cutoff date",
    cfg: cfg(
      "[storage]",
      "expire.enabled = true",
      "expire.mode = cutoff-date",
      "expire.cutoff_date = 2024-06-01",
    ),
    errors: [],
  },
  {
    name: "no Tor at all",
    cfg: cfg("[connections]", "tcp = disabled", "[tor]", "enabled = false"),
    errors: [],
  },
  {
    name: "public web.port is allowed when reveal-IP-address is true",
    cfg: cfg("[node]", "web.port = tcp:3456", "[tor]", "socks.port = tcp:tor.example:9050"),
    errors: [],
  },
  {
    name: "onion-only location with a public tub.port is allowed when reveal-IP-address is true",
    cfg: cfg("[node]", "tub.port = tcp:3457", `tub.location = tor:${ONION}:3457`),
    errors: [],
  },
  {
    name: "introducer.furl in tahoe.cfg still works, with a warning",
    rule: "introducer-furl-deprecated",
    cfg: cfg(
      "[client]",
      "introducer.furl = pb://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@tcp:intro.example:3457/introducer",
    ),
    errors: [],
    warnings: [{ line: 2, section: "client", key: "introducer.furl", fragment: "is deprecated" }],
  },

  // Tahoe-LAFS's own rules.
  {
    name: "reveal-IP-address = false with [connections]tcp missing",
    rule: "reveal-ip-tcp-handler",
    cfg: cfg(...HIDDEN_CLIENT.slice(0, 5), "[storage]", "enabled = false"),
    errors: [
      {
        line: 2,
        section: "node",
        key: "reveal-IP-address",
        fragment: "[node]reveal-IP-address (line 2) is false but [connections]tcp (not set) is tcp",
      },
    ],
  },
  {
    name: "reveal-IP-address = false with tcp = tcp",
    cfg: cfg(...HIDDEN_CLIENT.slice(0, 6), "tcp = tcp", ...HIDDEN_CLIENT.slice(7)),
    errors: [{ line: 7, section: "connections", key: "tcp", fragment: "[connections]tcp (line 7) is tcp" }],
  },
  {
    name: "reveal-IP-address = false with tub.location missing (AUTO) while tub.port listens",
    rule: "reveal-ip-auto-location",
    cfg: cfg(
      "[node]",
      "reveal-IP-address = false",
      "tub.port = tcp:3457:interface=127.0.0.1",
      "[connections]",
      "tcp = tor",
    ),
    errors: [
      {
        line: 2,
        section: "node",
        key: "reveal-IP-address",
        fragment: "[node]tub.location (not set) is AUTO while [node]tub.port (line 3) listens",
      },
    ],
  },
  {
    name: "reveal-IP-address = false with tub.port missing (picked at start) and tub.location missing",
    cfg: cfg("[node]", "reveal-IP-address = false", "[connections]", "tcp = tor"),
    errors: [
      { line: 2, section: "node", key: "reveal-IP-address", fragment: "[node]tub.port (not set) listens" },
    ],
  },
  {
    name: "reveal-IP-address = false with AUTO in tub.location",
    cfg: cfg(
      "[node]",
      "reveal-IP-address = false",
      "tub.port = tcp:3457:interface=127.0.0.1",
      `tub.location = AUTO,tor:${ONION}:3457`,
      "[connections]",
      "tcp = tor",
    ),
    errors: [
      { line: 4, section: "node", key: "tub.location", fragment: "[node]tub.location (line 4) is AUTO" },
    ],
  },
  {
    name: "reveal-IP-address = false with a tcp: hint in tub.location",
    rule: "reveal-ip-tcp-hint",
    cfg: cfg(
      "[node]",
      "reveal-IP-address = false",
      "tub.port = tcp:3457:interface=127.0.0.1",
      `tub.location = tor:${ONION}:3457,tcp:example.net:3457`,
      "[connections]",
      "tcp = tor",
    ),
    errors: [
      {
        line: 4,
        section: "node",
        key: "tub.location",
        fragment: "has tcp hints (tcp:example.net:3457) that reveal an address",
      },
    ],
  },
  {
    name: "tub.port disabled but tub.location missing",
    rule: "tub-disabled-together",
    cfg: cfg("[node]", "tub.port = disabled", "[storage]", "enabled = false"),
    errors: [
      {
        line: 2,
        section: "node",
        key: "tub.port",
        fragment: "[node]tub.port (line 2) is disabled but [node]tub.location (not set) is not",
      },
    ],
  },
  {
    name: "tub.location disabled but tub.port listens",
    cfg: cfg("[node]", "tub.port = tcp:3457", "tub.location = disabled"),
    errors: [
      {
        line: 2,
        section: "node",
        key: "tub.port",
        fragment: "[node]tub.location (line 3) is disabled but [node]tub.port (line 2) is not",
      },
    ],
  },
  {
    name: "tub.port on port 0",
    rule: "tub-port-zero",
    cfg: cfg("[node]", "tub.port = tcp:3457,tcp:0:interface=127.0.0.1"),
    errors: [
      {
        line: 2,
        section: "node",
        key: "tub.port",
        fragment: "listens on tcp:0:interface=127.0.0.1: port 0 changes",
      },
    ],
  },
  {
    name: "[tor] launch together with control.port",
    rule: "tor-launch-or-control-port",
    cfg: cfg("[tor]", "launch = true", "control.port = tcp:127.0.0.1:9051"),
    errors: [
      {
        line: 3,
        section: "tor",
        key: "control.port",
        fragment: "[tor]launch (line 2) is true and [tor]control.port (line 3) is set",
      },
    ],
  },
  {
    name: "[i2p] launch together with sam.port",
    rule: "i2p-launch-or-sam-port",
    cfg: cfg("[i2p]", "sam.port = tcp:127.0.0.1:7656", "launch = yes"),
    errors: [
      {
        line: 2,
        section: "i2p",
        key: "sam.port",
        fragment: "[i2p]launch (line 3) is true and [i2p]sam.port (line 2) is set",
      },
      { line: 3, section: "i2p", key: "launch", fragment: "lafs-ts cannot launch an I2P router yet" },
    ],
  },
  {
    name: "[i2p] launch, which lafs-ts does not do",
    rule: "i2p-launch-unsupported",
    cfg: cfg("[i2p]", "launch = true"),
    errors: [{ line: 2, section: "i2p", key: "launch", fragment: "lafs-ts cannot launch an I2P router yet" }],
  },
  {
    name: "[tor] onion = true without onion.external_port",
    rule: "tor-onion-keys",
    cfg: cfg(...ONION_SERVER.slice(0, 11), ...ONION_SERVER.slice(12)),
    errors: [
      {
        line: 10,
        section: "tor",
        key: "onion",
        fragment: "[tor]onion (line 10) is true but [tor]onion.external_port is missing",
      },
    ],
  },
  {
    name: "[tor] onion = true with neither launch nor control.port",
    cfg: cfg(...ONION_SERVER.slice(0, 13)),
    errors: [
      {
        line: 10,
        section: "tor",
        key: "onion",
        fragment: "neither [tor]launch = true nor [tor]control.port is set",
      },
    ],
  },
  {
    name: "[i2p] dest = true without dest.private_key_file",
    rule: "i2p-dest-keys",
    cfg: cfg("[i2p]", "dest = true", "dest.port = 3459", "sam.port = tcp:127.0.0.1:7656"),
    errors: [
      {
        line: 2,
        section: "i2p",
        key: "dest",
        fragment: "[i2p]dest (line 2) is true but [i2p]dest.private_key_file is missing",
      },
    ],
  },
  {
    name: "[i2p] dest = true with neither launch nor sam.port",
    cfg: cfg("[i2p]", "dest = true", "dest.port = 3459", "dest.private_key_file = private/i2p_dest.privkey"),
    errors: [
      {
        line: 2,
        section: "i2p",
        key: "dest",
        fragment: "neither [i2p]launch = true nor [i2p]sam.port is set",
      },
    ],
  },
  {
    name: "[connections]tcp = tor while Tor is disabled",
    rule: "tcp-via-disabled-tor",
    cfg: cfg("[connections]", "tcp = tor", "[tor]", "enabled = false"),
    errors: [
      {
        line: 2,
        section: "connections",
        key: "tcp",
        fragment: "[tor]enabled (line 4) is false: no connection could be made",
      },
    ],
  },
  {
    name: "cutoff-date mode without a cutoff date",
    rule: "expire-cutoff-date",
    cfg: cfg("[storage]", "expire.enabled = true", "expire.mode = cutoff-date"),
    errors: [
      {
        line: 3,
        section: "storage",
        key: "expire.mode",
        fragment: "is cutoff-date but [storage]expire.cutoff_date is missing",
      },
    ],
  },

  // lafs-ts's stricter rules.
  {
    name: "servers.yaml override connections: {tcp: tcp} on a hidden node",
    rule: "reveal-ip-servers-yaml",
    cfg: cfg(...HIDDEN_CLIENT),
    servers: [
      { serverId: "v0-ok", line: 3, connections: { tcp: "tor" } },
      { serverId: "v0-leaky", line: 8, connections: { tcp: "tcp" } },
    ],
    errors: [
      {
        file: SERVERS,
        line: 8,
        section: undefined,
        key: undefined,
        fragment: "server v0-leaky has connections: {tcp: tcp} but [node]reveal-IP-address (line 2) is false",
      },
    ],
  },
  {
    name: "web.port on all interfaces on a hidden node",
    rule: "reveal-ip-web-port",
    cfg: cfg(...HIDDEN_CLIENT.slice(0, 4), "web.port = tcp:3456", ...HIDDEN_CLIENT.slice(5)),
    errors: [{ line: 5, section: "node", key: "web.port", fragment: "= tcp:3456 listens on all interfaces" }],
  },
  {
    name: "web.port on a public interface on a hidden node",
    cfg: cfg(
      ...HIDDEN_CLIENT.slice(0, 4),
      "web.port = tcp:3456:interface=0.0.0.0",
      ...HIDDEN_CLIENT.slice(5),
    ),
    errors: [{ line: 5, section: "node", key: "web.port", fragment: "listens on interface 0.0.0.0" }],
  },
  {
    name: "SOCKS port reached by host name on a hidden node",
    rule: "reveal-ip-daemon-ports",
    cfg: cfg(...HIDDEN_CLIENT, "[tor]", "socks.port = tcp:tor.example:9050"),
    errors: [
      {
        line: 11,
        section: "tor",
        key: "socks.port",
        fragment:
          "[tor]socks.port (line 11) = tcp:tor.example:9050 is not on this machine's loopback interface",
      },
    ],
  },
  {
    name: "Tor control port on the LAN on a hidden node",
    cfg: cfg(...HIDDEN_CLIENT, "[tor]", "control.port = tcp:10.0.0.5:9051"),
    errors: [
      {
        line: 11,
        section: "tor",
        key: "control.port",
        fragment: "tcp:10.0.0.5:9051 is not on this machine's loopback",
      },
    ],
  },
  {
    name: "SAM bridge on another machine on a hidden node",
    cfg: cfg(...HIDDEN_CLIENT, "[i2p]", "sam.port = tcp:192.168.1.2:7656"),
    errors: [
      {
        line: 11,
        section: "i2p",
        key: "sam.port",
        fragment: "tcp:192.168.1.2:7656 is not on this machine's loopback",
      },
    ],
  },
  {
    name: "public tub.port behind an onion-only tub.location on a hidden node",
    rule: "reveal-ip-public-tub-port",
    cfg: cfg(...ONION_SERVER.slice(0, 3), "tub.port = tcp:24321", ...ONION_SERVER.slice(4)),
    errors: [
      {
        line: 4,
        section: "node",
        key: "tub.port",
        fragment:
          "[node]tub.location (line 5) has only onion/I2P hints, but [node]tub.port (line 4) listens on tcp:24321",
      },
    ],
  },
  {
    name: "shares.needed above shares.happy",
    rule: "encoding-order",
    cfg: cfg("[client]", "shares.needed = 4", "shares.happy = 3", "shares.total = 10"),
    errors: [
      {
        line: 2,
        section: "client",
        key: "shares.needed",
        fragment: "[client]shares.needed (line 2) = 4 is greater than [client]shares.happy (line 3) = 3",
      },
    ],
  },
  {
    name: "shares.happy above shares.total (default)",
    cfg: cfg("[client]", "shares.happy = 11"),
    errors: [
      {
        line: 2,
        section: "client",
        key: "shares.happy",
        fragment: "= 11 is greater than [client]shares.total (not set) = 10",
      },
    ],
  },
  {
    name: "control.port on all interfaces",
    rule: "control-port-loopback",
    cfg: cfg("[node]", "control.port = tcp:4001"),
    errors: [
      {
        line: 2,
        section: "node",
        key: "control.port",
        fragment: "= tcp:4001 listens on all interfaces; the control tub listens on 127.0.0.1 only",
      },
    ],
  },
  {
    name: "control.port on a public interface, even with reveal-IP-address true",
    cfg: cfg("[node]", "reveal-IP-address = true", "control.port = tcp:4001:interface=0.0.0.0"),
    errors: [{ line: 3, section: "node", key: "control.port", fragment: "listens on interface 0.0.0.0" }],
  },
  {
    name: "control.port on a unix socket",
    cfg: cfg("[node]", "control.port = unix:/tmp/control.sock"),
    errors: [
      { line: 2, section: "node", key: "control.port", fragment: "a unix socket (/tmp/control.sock)" },
    ],
  },
  {
    name: "control.port on 127.0.0.1 is fine",
    cfg: cfg("[node]", "control.port = tcp:4001:interface=127.0.0.1"),
    errors: [],
  },
  {
    name: "storage server with tub.port disabled",
    rule: "storage-needs-tub-port",
    cfg: cfg("[node]", "tub.port = disabled", "tub.location = disabled"),
    errors: [
      {
        line: 2,
        section: "node",
        key: "tub.port",
        fragment: "[storage]enabled (not set) is true (the default) but [node]tub.port (line 2) is disabled",
      },
    ],
  },
  {
    name: "a value that fails to parse silences the rules that read it",
    cfg: cfg("[node]", "reveal-IP-address = nah", "web.port = tcp:3456"),
    errors: [{ line: 2, section: "node", key: "reveal-IP-address", fragment: '"nah" is not a boolean' }],
  },
  {
    name: "several problems at once, in line order",
    cfg: cfg(
      "[node]",
      "reveal-IP-address = false",
      "web.port = tcp:8080",
      "tub.port = disabled",
      "tub.location = disabled",
      "[connections]",
      "tcp = tcp",
      "[client]",
      "shares.needed = 8",
    ),
    errors: [
      { line: 3, section: "node", key: "web.port", fragment: "listens on all interfaces" },
      { line: 4, section: "node", key: "tub.port", fragment: "no client could reach the storage server" },
      { line: 7, section: "connections", key: "tcp", fragment: "direct TCP connections reveal" },
      {
        line: 9,
        section: "client",
        key: "shares.needed",
        fragment: "= 8 is greater than [client]shares.happy (not set) = 7",
      },
    ],
  },
];

function matcher(e: Expected) {
  return {
    file: e.file ?? F,
    line: e.line,
    section: e.section,
    key: e.key,
    message: expect.stringContaining(e.fragment),
    allowed: expect.any(String),
  };
}

describe("cross-field rules on whole configurations", () => {
  it("has at least 30 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of CASES) {
    it(c.name, () => {
      const r = loadTahoeCfgText(c.cfg, { file: F, servers: c.servers ?? [], serversFile: SERVERS });
      expect(r.errors).toEqual(c.errors.map(matcher));
      if (c.warnings) expect(r.warnings).toEqual(c.warnings.map(matcher));
      if (c.errors.length === 0) expect(r.config).toBeDefined();
      else expect(r.config).toBeUndefined();
    });
  }

  it("every rule has a failing case", () => {
    const tagged = new Set(CASES.map((c) => c.rule));
    expect(CROSS_FIELD_RULES.map((r) => r.id).filter((id) => !tagged.has(id))).toEqual([]);
  });
});
