import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatEndpoint,
  isLoopbackEndpoint,
  isLoopbackHost,
  type ListenEndpoint,
  parseEndpoint,
  parseEndpointList,
} from "../src/index.js";
import { errorOf } from "./error-of.js";

describe("parseEndpoint", () => {
  const good: [string, ListenEndpoint][] = [
    ["tcp:3456", { kind: "tcp", port: 3456 }],
    ["3456", { kind: "tcp", port: 3456 }],
    ["tcp:0", { kind: "tcp", port: 0 }],
    ["tcp:3456:interface=127.0.0.1", { kind: "tcp", port: 3456, interface: "127.0.0.1" }],
    ["tcp:port=3456:interface=127.0.0.1", { kind: "tcp", port: 3456, interface: "127.0.0.1" }],
    ["tcp:interface=127.0.0.1:port=3456", { kind: "tcp", port: 3456, interface: "127.0.0.1" }],
    ["tcp:3456:interface=\\:\\:1", { kind: "tcp", port: 3456, interface: "::1" }],
    [
      "tcp:3456:interface=localhost:backlog=5",
      { kind: "tcp", port: 3456, interface: "localhost", backlog: 5 },
    ],
    ["tcp:65535:backlog=50", { kind: "tcp", port: 65535, backlog: 50 }],
    [" tcp:80 ", { kind: "tcp", port: 80 }],
    ["unix:/run/tahoe/web.sock", { kind: "unix", path: "/run/tahoe/web.sock" }],
    ["unix:/run/web.sock:mode=660", { kind: "unix", path: "/run/web.sock", mode: 0o660 }],
    ["unix:address=/run/web.sock:lockfile=1", { kind: "unix", path: "/run/web.sock", lockfile: true }],
    ["unix:/run/a\\:b.sock:lockfile=0", { kind: "unix", path: "/run/a:b.sock", lockfile: false }],
  ];
  it.each(good)("parses %s", (text, expected) => {
    expect(parseEndpoint(text)).toEqual(expected);
  });

  const bad = [
    "",
    "tcp:",
    "tcp:65536",
    "tcp:-1",
    "tcp:http",
    "70000",
    "ssl:443",
    "systemd:domain=INET:index=0",
    "tcp6:3456",
    "tcp:3456:interface=::1",
    "tcp:3456:interface=not an address",
    "tcp:3456:foo=1",
    "tcp:3456:127.0.0.1",
    "tcp:3456:port=3457",
    "tcp:3456:backlog=0",
    "tcp:interface=127.0.0.1",
    "unix:",
    "unix:/x:mode=999",
    "unix:/x:lockfile=yes",
    "unix:/x:owner=root",
    "tcp:3456\\",
    "localhost",
  ];
  it.each(bad)("refuses %j with TAHOE_ERR_CONFIG_ENDPOINT", (text) => {
    expect(errorOf(() => parseEndpoint(text)).code).toBe("TAHOE_ERR_CONFIG_ENDPOINT");
  });

  it("names the string and lists the accepted forms", () => {
    const err = errorOf(() => parseEndpoint("ssl:443:privateKey=k.pem"));
    expect(err.message).toBe("endpoint 'ssl:443:privateKey=k.pem': endpoint type 'ssl' is not supported");
    expect(err.hint).toContain("tcp:PORT:interface=ADDR");
    expect(err.hint).toContain("unix:PATH");
    expect(errorOf(() => parseEndpoint("tcp:99999")).message).toBe(
      "endpoint 'tcp:99999': port 99999 is outside 0..65535",
    );
    expect(errorOf(() => parseEndpoint("tcp:3456:interface=::1")).message).toBe(
      "endpoint 'tcp:3456:interface=::1': the ':' of an IPv6 interface must be escaped, as in interface=\\:\\:1",
    );
    expect(errorOf(() => parseEndpoint("tcp:1:nodelay=1")).message).toBe(
      "endpoint 'tcp:1:nodelay=1': unknown key 'nodelay' for tcp (allowed: port, interface, backlog)",
    );
  });
});

describe("formatEndpoint", () => {
  it("writes the canonical form", () => {
    expect(formatEndpoint(parseEndpoint("tcp:interface=127.0.0.1:port=3456"))).toBe(
      "tcp:3456:interface=127.0.0.1",
    );
    expect(formatEndpoint(parseEndpoint("3456"))).toBe("tcp:3456");
    expect(formatEndpoint({ kind: "tcp", port: 1, interface: "::1", backlog: 9 })).toBe(
      "tcp:1:interface=\\:\\:1:backlog=9",
    );
    expect(formatEndpoint({ kind: "unix", path: "/a:b=c", mode: 0o600 })).toBe("unix:/a\\:b\\=c:mode=600");
  });

  it("refuses values that cannot be configured", () => {
    expect(errorOf(() => formatEndpoint({ kind: "tcp", port: 70000 })).code).toBe(
      "TAHOE_ERR_CONFIG_ENDPOINT",
    );
    expect(errorOf(() => formatEndpoint({ kind: "unix", path: "" })).code).toBe("TAHOE_ERR_CONFIG_ENDPOINT");
  });

  it("round-trips any endpoint (property)", () => {
    const tcp = fc.record(
      {
        kind: fc.constant("tcp" as const),
        port: fc.integer({ min: 0, max: 65535 }),
        interface: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant("localhost"), fc.domain()),
        backlog: fc.integer({ min: 1, max: 4096 }),
      },
      { requiredKeys: ["kind", "port"] },
    );
    const unix = fc.record(
      {
        kind: fc.constant("unix" as const),
        path: fc.stringMatching(/^\/[a-z0-9:=\\._\-/]{1,30}$/),
        mode: fc.integer({ min: 0, max: 0o7777 }),
        lockfile: fc.boolean(),
      },
      { requiredKeys: ["kind", "path"] },
    );
    fc.assert(
      fc.property(fc.oneof(tcp, unix), (e: ListenEndpoint) => {
        const text = formatEndpoint(e);
        expect(parseEndpoint(text)).toEqual(e);
        expect(formatEndpoint(parseEndpoint(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseEndpointList", () => {
  it("splits tub.port on commas", () => {
    expect(parseEndpointList("tcp:3457,tcp:3458:interface=127.0.0.1")).toEqual([
      { kind: "tcp", port: 3457 },
      { kind: "tcp", port: 3458, interface: "127.0.0.1" },
    ]);
    expect(parseEndpointList("3457")).toEqual([{ kind: "tcp", port: 3457 }]);
  });

  it("refuses empty entries and bad endpoints", () => {
    expect(errorOf(() => parseEndpointList("tcp:1,,tcp:2")).message).toBe(
      "endpoint list 'tcp:1,,tcp:2' has an empty entry",
    );
    expect(errorOf(() => parseEndpointList("")).code).toBe("TAHOE_ERR_CONFIG_ENDPOINT");
    expect(errorOf(() => parseEndpointList("tcp:1,ssl:2")).message).toContain("'ssl:2'");
  });
});

describe("loopback", () => {
  it.each([
    ["localhost", true],
    ["127.0.0.1", true],
    ["127.255.3.4", true],
    ["::1", true],
    ["[::1]", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["128.0.0.1", false],
    ["::2", false],
    ["::ffff:10.0.0.1", false],
    ["example.net", false],
    ["localhost.example.net", false],
  ])("isLoopbackHost(%s) = %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });

  it("counts loopback interfaces and unix sockets as local, no interface as public", () => {
    expect(isLoopbackEndpoint(parseEndpoint("tcp:3456:interface=127.0.0.1"))).toBe(true);
    expect(isLoopbackEndpoint(parseEndpoint("tcp:3456:interface=\\:\\:1"))).toBe(true);
    expect(isLoopbackEndpoint(parseEndpoint("unix:/run/web.sock"))).toBe(true);
    expect(isLoopbackEndpoint(parseEndpoint("tcp:3456"))).toBe(false);
    expect(isLoopbackEndpoint(parseEndpoint("tcp:3456:interface=0.0.0.0"))).toBe(false);
    expect(isLoopbackEndpoint(parseEndpoint("tcp:3456:interface=192.0.2.1"))).toBe(false);
  });
});
