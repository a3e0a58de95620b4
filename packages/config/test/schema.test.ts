import { describe, expect, it } from "vitest";
import {
  ConfigValueError,
  lineOf,
  loadTahoeCfgText,
  parseAbbreviatedSize,
  parseBooleanValue,
  parseClientEndpoint,
  parseDate,
  parseDuration,
  parseIntegerValue,
  SCHEMA,
} from "../src/index.js";

const F = "tahoe.cfg";
const FURL = "pb://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@tcp:intro.example:3457/introducer";
const NURL = "pb://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@tcp:intro.example:3457/swissnum#v=1";

/** Loads one key in a config that is otherwise valid (a storage-less client, so no rule interferes). */
function one(section: string, line: string) {
  const r = loadTahoeCfgText(`[${section}]\n${line}\n`, { file: F });
  return r;
}

function value(section: keyof typeof SCHEMA, line: string, field: string): unknown {
  const r = one(section, line);
  expect(r.errors).toEqual([]);
  return (r.config![section] as Record<string, unknown>)[field];
}

function errorOf(section: string, line: string) {
  const r = one(section, line);
  expect(r.config).toBeUndefined();
  expect(r.errors).toHaveLength(1);
  return r.errors[0]!;
}

describe("value parsers", () => {
  it("booleans: Tahoe's words, any case", () => {
    for (const w of ["true", "YES", "On", "1"]) expect(parseBooleanValue(w)).toBe(true);
    for (const w of ["false", "no", "OFF", "0"]) expect(parseBooleanValue(w)).toBe(false);
    expect(() => parseBooleanValue("maybe")).toThrow(ConfigValueError);
    try {
      parseBooleanValue("enabled");
    } catch (e) {
      expect(e).toMatchObject({
        code: "TAHOE_ERR_CONFIG_BAD_BOOLEAN",
        message: '"enabled" is not a boolean',
      });
      expect((e as ConfigValueError).hint).toContain("yes/no");
    }
  });

  it("sizes as parse_abbreviated_size: decimal unless 'i'", () => {
    const table: [string, number][] = [
      ["1000000", 1_000_000],
      ["0", 0],
      ["1G", 1e9],
      ["500M", 500e6],
      ["1GiB", 2 ** 30],
      ["1gib", 2 ** 30],
      ["2Ti", 2 * 2 ** 40],
      ["10kB", 10_000],
      ["100B", 100],
      ["100i", 100],
    ];
    for (const [t, n] of table) expect(parseAbbreviatedSize(t), t).toBe(n);
    for (const bad of ["", "1.5G", "-1", "1 G", "G", "1X", "1GBB", "99999999E"]) {
      expect(() => parseAbbreviatedSize(bad), bad).toThrow(/is not a size|is too large/);
    }
  });

  it("durations as parse_duration, in seconds", () => {
    const day = 86400;
    expect(parseDuration("60 days")).toBe(60 * day);
    expect(parseDuration("1day")).toBe(day);
    expect(parseDuration("2 months")).toBe(62 * day);
    expect(parseDuration("3mo")).toBe(93 * day);
    expect(parseDuration("1 year")).toBe(365 * day);
    for (const bad of ["60", "days", "1 week", "-1 day", "1.5 days"]) {
      expect(() => parseDuration(bad), bad).toThrow(/is not a duration/);
    }
  });

  it("dates YYYY-MM-DD at midnight UTC, real calendar dates only", () => {
    expect(parseDate("2024-02-29")).toBe(Date.UTC(2024, 1, 29) / 1000);
    for (const bad of ["2023-02-29", "2024-13-01", "24-01-01", "2024/01/01", "yesterday"]) {
      expect(() => parseDate(bad), bad).toThrow(/is not a date/);
    }
  });

  it("integers within a range", () => {
    expect(parseIntegerValue(" 42 ", { min: 1, max: 100 })).toBe(42);
    expect(() => parseIntegerValue("0", { min: 1, max: 100 })).toThrow(/out of range/);
    expect(() => parseIntegerValue("3.0", { min: 1, max: 100 })).toThrow(/not a whole number/);
  });

  it("client endpoints: tcp:HOST:PORT, key=value form, IPv6, unix", () => {
    expect(parseClientEndpoint("tcp:127.0.0.1:9050")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 9050 });
    expect(parseClientEndpoint("tcp:host=localhost:port=9051")).toEqual({
      kind: "tcp",
      host: "localhost",
      port: 9051,
    });
    expect(parseClientEndpoint("tcp:[::1]:9050")).toEqual({ kind: "tcp", host: "::1", port: 9050 });
    expect(parseClientEndpoint("unix:/var/run/tor/control")).toEqual({
      kind: "unix",
      path: "/var/run/tor/control",
    });
    expect(parseClientEndpoint("unix:path=/run/sam")).toEqual({ kind: "unix", path: "/run/sam" });
    for (const bad of [
      "9050",
      "tcp:9050",
      "tcp:host:0",
      "tcp:host:99999",
      "udp:h:1",
      "unix:",
      "tcp:h:1:2",
      "tcp:nohost=1",
    ]) {
      expect(() => parseClientEndpoint(bad), bad).toThrow(/not a client endpoint/);
    }
  });
});

describe("the schema table, key by key", () => {
  it("has the sections and keys of Tahoe-LAFS 1.20", () => {
    const names = Object.fromEntries(
      Object.entries(SCHEMA).map(([s, spec]) => [s, Object.values(spec.keys).map((k) => k.name)]),
    );
    expect(names).toEqual({
      node: [
        "nickname",
        "reveal-IP-address",
        "web.port",
        "control.port",
        "web.static",
        "tub.port",
        "tub.location",
        "log_gatherer.furl",
        "timeout.keepalive",
        "timeout.disconnect",
        // lafs-ts only: the control panel's idle timeout and who may upload unlinked files.
        "web.control-panel.idle-timeout",
        "web.upload-authority",
        "tempdir",
      ],
      connections: ["tcp"],
      tor: [
        "enabled",
        "launch",
        "tor.executable",
        "control.port",
        "socks.port",
        // lafs-ts only: extra torrc lines for a launched tor, stream isolation, and the bootstrap limit.
        "torrc.file",
        "stream.isolation",
        "bootstrap.timeout",
        "onion",
        "onion.local_port",
        "onion.external_port",
        "onion.private_key_file",
      ],
      i2p: [
        "enabled",
        "launch",
        "i2p.executable",
        "i2p.configdir",
        "sam.port",
        "dest",
        "dest.port",
        "dest.private_key_file",
      ],
      client: [
        "introducer.furl",
        "helper.furl",
        "key_generator.furl",
        "mutable.format",
        "peers.preferred",
        "shares.needed",
        "shares.happy",
        "shares.total",
        // lafs-ts only: the default for servers the control panel has not decided.
        "new-servers",
        "shares._max_immutable_segment_size_for_testing",
        // lafs-ts only: download hash checks on a worker thread.
        "download.worker",
        "storage.plugins",
        "force_foolscap",
      ],
      storage: [
        "enabled",
        "anonymous",
        "readonly",
        "reserved_space",
        "storage_dir",
        "expire.enabled",
        "expire.mode",
        "expire.override_lease_duration",
        "expire.cutoff_date",
        "expire.immutable",
        "expire.mutable",
        "debug_discard",
        "plugins",
        "grid_management",
        "force_foolscap",
      ],
      helper: ["enabled"],
    });
  });

  it("fills in defaults when the file is empty", () => {
    const r = loadTahoeCfgText("", { file: F });
    expect(r.errors).toEqual([]);
    const c = r.config!;
    expect(c.node).toMatchObject({
      nickname: "<unspecified>",
      revealIpAddress: true,
      webStatic: "public_html",
      tempdir: "tmp",
    });
    expect(c.node.webPort).toBeUndefined();
    expect(c.node.tubPort).toBeUndefined();
    expect(c.connections.tcp).toBe("tcp");
    expect(c.client).toMatchObject({
      sharesNeeded: 3,
      sharesHappy: 7,
      sharesTotal: 10,
      mutableFormat: "sdmf",
      peersPreferred: [],
    });
    expect(c.storage).toMatchObject({
      enabled: true,
      reservedSpace: 0,
      storageDir: "storage",
      expireMode: "age",
    });
    expect(c.tor).toMatchObject({ enabled: true, launch: false, onion: false });
    expect(c.i2p).toMatchObject({ enabled: true, launch: false, dest: false });
    expect(c.helper.enabled).toBe(false);
    expect(c.sourceLines).toEqual({});
  });

  it("types every kind of value", () => {
    expect(value("node", "reveal-IP-address = Yes", "revealIpAddress")).toBe(true);
    expect(value("node", "web.port = tcp:3456:interface=127.0.0.1", "webPort")).toEqual({
      kind: "tcp",
      port: 3456,
      interface: "127.0.0.1",
    });
    expect(value("node", "web.port =", "webPort")).toBeUndefined();
    expect(value("node", "control.port = tcp:4001:interface=127.0.0.1", "controlPort")).toEqual({
      kind: "tcp",
      port: 4001,
      interface: "127.0.0.1",
    });
    expect(value("node", "control.port =", "controlPort")).toBeUndefined();
    expect(value("node", "timeout.keepalive = 240", "timeoutKeepalive")).toBe(240);
    expect(value("tor", "control.port = unix:/run/tor/control", "controlPort")).toEqual({
      kind: "unix",
      path: "/run/tor/control",
    });
    expect(value("tor", "onion.local_port = 3457", "onionLocalPort")).toBe(3457);
    expect(value("i2p", "sam.port = tcp:127.0.0.1:7656", "samPort")).toEqual({
      kind: "tcp",
      host: "127.0.0.1",
      port: 7656,
    });
    expect(value("client", "mutable.format = MDMF", "mutableFormat")).toBe("mdmf");
    expect(value("client", "peers.preferred = v0-aaa, v0-bbb,", "peersPreferred")).toEqual([
      "v0-aaa",
      "v0-bbb",
    ]);
    expect(value("client", `introducer.furl = ${NURL}`, "introducerFurl")).toBe(NURL);
    expect(value("storage", "reserved_space = 10GiB", "reservedSpace")).toBe(10 * 2 ** 30);
    expect(value("storage", "reserved_space =", "reservedSpace")).toBe(0);
    expect(value("storage", "expire.override_lease_duration = 60 days", "expireOverrideLeaseDuration")).toBe(
      60 * 86400,
    );
    expect(value("storage", "expire.cutoff_date = 2024-01-31", "expireCutoffDate")).toBe(
      Date.UTC(2024, 0, 31) / 1000,
    );
    expect(value("storage", "expire.mode = cutoff-date\nexpire.cutoff_date = 2024-01-31", "expireMode")).toBe(
      "cutoff-date",
    );
  });

  it("tub.port: disabled, endpoint lists, bare port numbers", () => {
    const r = loadTahoeCfgText("[node]\ntub.port = tcp:3457,tcp:3458:interface=127.0.0.1\n", { file: F });
    expect(r.config!.node.tubPort).toEqual({
      kind: "listen",
      endpoints: [
        { kind: "tcp", port: 3457 },
        { kind: "tcp", port: 3458, interface: "127.0.0.1" },
      ],
    });
    expect(loadTahoeCfgText("[node]\ntub.port = 3457\n", { file: F }).config!.node.tubPort).toEqual({
      kind: "listen",
      endpoints: [{ kind: "tcp", port: 3457 }],
    });
    const off = loadTahoeCfgText(
      "[node]\ntub.port = disabled\ntub.location = disabled\n[storage]\nenabled = false\n",
      {
        file: F,
      },
    );
    expect(off.errors).toEqual([]);
    expect(off.config!.node.tubPort).toEqual({ kind: "disabled" });
    expect(off.config!.node.tubLocation).toEqual({ kind: "disabled" });
  });

  it("names the file, line, key and what is allowed for a bad value", () => {
    expect(errorOf("node", "reveal-IP-address = nope")).toEqual({
      file: F,
      line: 2,
      section: "node",
      key: "reveal-IP-address",
      message: '"nope" is not a boolean',
      allowed: "true or false (also yes/no, on/off, 1/0)",
    });
    expect(errorOf("client", "shares.needed = three")).toMatchObject({
      line: 2,
      key: "shares.needed",
      message: '"three" is not a whole number',
      allowed: "a whole number from 1 to 256",
    });
    expect(errorOf("client", "shares.total = 300").message).toBe('"300" is out of range');
    expect(errorOf("storage", "reserved_space = lots")).toMatchObject({
      key: "reserved_space",
      message: '"lots" is not a size',
    });
    expect(errorOf("storage", "expire.mode = sometimes")).toMatchObject({ allowed: "age or cutoff-date" });
    expect(errorOf("storage", "expire.cutoff_date = 31/01/2024").message).toBe('"31/01/2024" is not a date');
    expect(errorOf("connections", "tcp = i2p")).toMatchObject({
      key: "tcp",
      allowed: "tcp, tor or disabled",
    });
    expect(errorOf("node", "web.port = http:3456").message).toContain(
      "endpoint type 'http' is not supported",
    );
    expect(errorOf("node", "tub.location = tcp:host").message).toContain("has no port");
    expect(errorOf("tor", "socks.port = 9050").message).toContain('must start with "tcp:" or "unix:"');
    expect(errorOf("node", "tempdir =").message).toBe("the path is empty");
  });

  it("refuses present-but-empty tub.port and tub.location, and listen:tor", () => {
    expect(errorOf("node", "tub.port =")).toMatchObject({
      key: "tub.port",
      message: "tub.port is present but empty",
    });
    expect(errorOf("node", "tub.location =")).toMatchObject({
      key: "tub.location",
      message: "tub.location is empty",
    });
    expect(errorOf("node", "tub.port = listen:tor").message).toBe('"listen:tor" is not supported by lafs-ts');
  });

  it("refuses introducer.furl = None like Tahoe-LAFS, and checks fURLs", () => {
    expect(errorOf("client", "introducer.furl = None").message).toBe('"None" is not a fURL');
    expect(errorOf("client", "helper.furl = pb://short@tcp:h:1/x").message).toContain(
      "not 32 base32 characters",
    );
  });

  it("warns about keys lafs-ts ignores", () => {
    const r = loadTahoeCfgText(
      `[node]\nlog_gatherer.furl = ${FURL}\n[client]\nhelper.furl = ${FURL}\nkey_generator.furl = ${FURL}\n`,
      { file: F },
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => [w.line, w.key])).toEqual([
      [2, "log_gatherer.furl"],
      [4, "helper.furl"],
      [5, "key_generator.furl"],
    ]);
    expect(r.warnings[1]!.message).toBe(
      "lafs-ts uploads directly to storage servers; the helper is not used",
    );
  });

  it("refuses settings lafs-ts cannot honour", () => {
    expect(errorOf("client", "force_foolscap = true")).toMatchObject({
      key: "force_foolscap",
      message:
        "force_foolscap = true is not supported: this node speaks only the HTTP storage protocol (GBS)",
    });
    expect(errorOf("storage", "force_foolscap = yes").section).toBe("storage");
    expect(errorOf("helper", "enabled = true").message).toContain("cannot run an upload helper");
    expect(errorOf("storage", "debug_discard = true").key).toBe("debug_discard");
    expect(errorOf("storage", "plugins = zkaps").message).toContain(
      "storage server plugins are not supported",
    );
    expect(errorOf("client", "storage.plugins = zkaps").message).toContain(
      "storage client plugins are not supported",
    );
    expect(errorOf("storage", "grid_management = true").key).toBe("grid_management");
    expect(one("client", "force_foolscap = false").errors).toEqual([]);
    expect(one("storage", "plugins =").errors).toEqual([]);
  });

  it("suggests the closest key, or the section a key belongs to", () => {
    expect(errorOf("client", "shares.neded = 3")).toMatchObject({
      key: "shares.neded",
      message: 'unknown key "shares.neded" in [client]: did you mean shares.needed?',
      allowed: expect.stringContaining("the keys of [client] are introducer.furl, helper.furl"),
    });
    expect(errorOf("node", "shares.needed = 3").message).toBe(
      'unknown key "shares.needed" in [node]: it belongs in [client]',
    );
    expect(errorOf("node", "frobnicate = 3").message).toBe('unknown key "frobnicate" in [node]');
  });

  it("refuses unknown sections, naming the known ones", () => {
    const e = errorOf("nodes", "nickname = x");
    expect(e).toMatchObject({
      line: 1,
      section: "nodes",
      message: "unknown section [nodes]: did you mean [node]?",
    });
    expect(e.allowed).toContain("[node], [connections], [tor], [i2p], [client], [storage], [helper]");
    expect(errorOf("DEFAULT", "nickname = x").message).toContain("[DEFAULT]");
    expect(errorOf("Node", "nickname = x").message).toContain("did you mean [node]?");
  });

  it("accepts Tahoe's plugin and grid-manager sections with a warning; [sftpd] enabled is an error", () => {
    const r = loadTahoeCfgText(
      "[storageserver.plugins.zkap]\nx = 1\n[storageclient.plugins.zkap]\ny = 2\n[grid_managers]\nalice = pub-v0-x\n[sftpd]\nenabled = false\n",
      { file: F },
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => [w.line, w.section])).toEqual([
      [1, "storageserver.plugins.zkap"],
      [3, "storageclient.plugins.zkap"],
      [5, "grid_managers"],
      [7, "sftpd"],
    ]);
    expect(errorOf("sftpd", "enabled = True")).toMatchObject({
      line: 2,
      key: "enabled",
      message: "the SFTP server is not supported by lafs-ts",
    });
  });

  it("keeps the line of every key, case-insensitively", () => {
    const r = loadTahoeCfgText("\n[node]\nNickName = x\n\n[client]\nshares.total = 10\n", { file: F });
    expect(lineOf(r.config!, "node")).toBe(2);
    expect(lineOf(r.config!, "node", "nickname")).toBe(3);
    expect(lineOf(r.config!, "node", "NICKNAME")).toBe(3);
    expect(lineOf(r.config!, "client", "shares.total")).toBe(6);
    expect(lineOf(r.config!, "client", "shares.needed")).toBeUndefined();
  });
});
