import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ConnectionHint,
  formatHint,
  isI2pHost,
  isIpLiteral,
  isOnionHost,
  parseHint,
  parseTubLocation,
} from "../src/index.js";
import { errorOf } from "./error-of.js";

// Real v3 onion addresses (The Tor Project, DuckDuckGo): their checksums are valid.
const ONION = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";
const ONION2 = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion";
const I2P = `${"a".repeat(52)}.b32.i2p`;

const codeOf = (fn: () => unknown) => errorOf(fn).code;

describe("parseHint", () => {
  const good: [string, ConnectionHint][] = [
    ["tcp:example.net:1234", { kind: "tcp", host: "example.net", port: 1234 }],
    ["example.net:1234", { kind: "tcp", host: "example.net", port: 1234 }],
    ["localhost:3456", { kind: "tcp", host: "localhost", port: 3456 }],
    ["tcp:192.0.2.7:65535", { kind: "tcp", host: "192.0.2.7", port: 65535 }],
    ["192.0.2.7:1", { kind: "tcp", host: "192.0.2.7", port: 1 }],
    ["tcp:[2001:db8::1]:443", { kind: "tcp", host: "2001:db8::1", port: 443 }],
    ["[::1]:80", { kind: "tcp", host: "::1", port: 80 }],
    [`tor:${ONION}:3457`, { kind: "tor", host: ONION, port: 3457 }],
    ["tor:example.org:80", { kind: "tor", host: "example.org", port: 80 }],
    [`tcp:${ONION2}:80`, { kind: "tcp", host: ONION2, port: 80 }],
    [`i2p:${I2P}`, { kind: "i2p", host: I2P }],
    [`i2p:${I2P}:8080`, { kind: "i2p", host: I2P, port: 8080 }],
    ["i2p:tahoe.i2p", { kind: "i2p", host: "tahoe.i2p" }],
    ["  tcp:a-b.example:9  ", { kind: "tcp", host: "a-b.example", port: 9 }],
    ["tcp:xn--bcher-kva.example:9", { kind: "tcp", host: "xn--bcher-kva.example", port: 9 }],
  ];
  it.each(good)("parses %s", (text, expected) => {
    expect(parseHint(text)).toEqual(expected);
  });

  const bad: string[] = [
    "",
    "tcp:example.net",
    "example.net",
    "tcp:example.net:0",
    "tcp:example.net:65536",
    "tcp:example.net:http",
    "tcp:example.net:-1",
    "tcp:2001:db8::1:443",
    "tcp:[2001:db8::1:443",
    "tcp:[example.net]:443",
    "tcp:[::1]443",
    "tcp:exa_mple.net:80",
    "tcp:-example.net:80",
    "tcp:example..net:80",
    "tcp:1.2.3.999:80",
    "tcp::80",
    "udp:example.net:80",
    "tor:abcdefghijklmnop.onion:80",
    `tor:${ONION.replace("2gzy", "3gzy")}:80`,
    "tor:example.net",
    "i2p:example.net",
    `i2p:${"a".repeat(50)}.b32.i2p`,
    `i2p:${I2P}:0`,
    `tcp:${"a".repeat(64)}.example:80`,
  ];
  it.each(bad)("refuses %j with TAHOE_ERR_CONFIG_HINT", (text) => {
    expect(codeOf(() => parseHint(text))).toBe("TAHOE_ERR_CONFIG_HINT");
  });

  it("names the hint and the problem in the message, and says what is allowed", () => {
    expect(() => parseHint("tcp:example.net:99999")).toThrow(
      "connection hint 'tcp:example.net:99999': port 99999 is outside 1..65535",
    );
    expect(() => parseHint("tcp:2001:db8::1:443")).toThrow(
      "connection hint 'tcp:2001:db8::1:443' has too many ':' (an IPv6 address must be in brackets)",
    );
    expect(() => parseHint("udp:example.net:80")).toThrow(
      "connection hint 'udp:example.net:80' has unknown type 'udp'",
    );
    const err = errorOf(() => parseHint("tor:abcdefghijklmnop.onion:80"));
    expect(err.message).toBe(
      "connection hint 'tor:abcdefghijklmnop.onion:80': 'abcdefghijklmnop.onion' is not a valid v3 onion address",
    );
    expect(err.hint).toContain("56 base32 characters");
  });
});

describe("host checks", () => {
  it("checks onion v3 checksums and versions", () => {
    expect(isOnionHost(ONION)).toBe(true);
    expect(isOnionHost(ONION2.toUpperCase())).toBe(true);
    expect(isOnionHost(`www.${ONION}`)).toBe(true);
    expect(isOnionHost(ONION.replace("wid.onion", "wia.onion"))).toBe(false);
    expect(isOnionHost("expyuzz4wqqyqhjn.onion")).toBe(false);
    expect(isOnionHost("example.net")).toBe(false);
  });

  it("recognises I2P destinations", () => {
    expect(isI2pHost(I2P)).toBe(true);
    expect(isI2pHost(`${"b".repeat(60)}.b32.i2p`)).toBe(true);
    expect(isI2pHost("stats.i2p")).toBe(true);
    expect(isI2pHost(`${"a".repeat(53)}.b32.i2p`)).toBe(false);
    expect(isI2pHost("stats.example")).toBe(false);
  });

  it("recognises IP literals with and without brackets", () => {
    expect(isIpLiteral("10.0.0.1")).toBe(true);
    expect(isIpLiteral("::1")).toBe(true);
    expect(isIpLiteral("[2001:db8::1]")).toBe(true);
    expect(isIpLiteral("010.0.0.1")).toBe(false);
    expect(isIpLiteral("example.net")).toBe(false);
  });
});

describe("formatHint", () => {
  it("writes typed hints, IPv6 in brackets", () => {
    expect(formatHint({ kind: "tcp", host: "2001:db8::1", port: 443 })).toBe("tcp:[2001:db8::1]:443");
    expect(formatHint({ kind: "tcp", host: "example.net", port: 1 })).toBe("tcp:example.net:1");
    expect(formatHint({ kind: "i2p", host: I2P })).toBe(`i2p:${I2P}`);
    expect(formatHint(parseHint("example.net:80"))).toBe("tcp:example.net:80");
  });

  it("refuses hints no file could contain", () => {
    expect(codeOf(() => formatHint({ kind: "tcp", host: "example.net" }))).toBe("TAHOE_ERR_CONFIG_HINT");
    expect(codeOf(() => formatHint({ kind: "tcp", host: "bad host", port: 80 }))).toBe(
      "TAHOE_ERR_CONFIG_HINT",
    );
    expect(codeOf(() => formatHint({ kind: "tor", host: "example.net", port: 70000 }))).toBe(
      "TAHOE_ERR_CONFIG_HINT",
    );
  });

  it("round-trips any valid hint (property)", () => {
    const port = fc.integer({ min: 1, max: 65535 });
    const host = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.constantFrom(ONION, ONION2, "localhost"));
    const i2pHost = fc.oneof(
      fc.stringMatching(/^[a-z2-7]{52}$/).map((s) => `${s}.b32.i2p`),
      fc.constantFrom("tahoe.i2p", "stats.i2p"),
    );
    const hint: fc.Arbitrary<ConnectionHint> = fc.oneof(
      fc.record({ kind: fc.constantFrom("tcp" as const, "tor" as const), host, port }),
      fc.record(
        { kind: fc.constant("i2p" as const), host: i2pHost, port },
        { requiredKeys: ["kind", "host"] },
      ),
    );
    fc.assert(
      fc.property(hint, (h) => {
        const text = formatHint(h);
        expect(parseHint(text)).toEqual(h);
        expect(formatHint(parseHint(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseTubLocation", () => {
  it("reads disabled, hint lists and AUTO", () => {
    expect(parseTubLocation("disabled")).toEqual({ kind: "disabled" });
    expect(parseTubLocation("AUTO")).toEqual({ kind: "hints", hints: [], auto: true });
    expect(parseTubLocation(`tcp:example.net:3457, tor:${ONION}:3457,AUTO`)).toEqual({
      kind: "hints",
      hints: [
        { kind: "tcp", host: "example.net", port: 3457 },
        { kind: "tor", host: ONION, port: 3457 },
      ],
      auto: true,
    });
    expect(parseTubLocation("example.net:1")).toEqual({
      kind: "hints",
      hints: [{ kind: "tcp", host: "example.net", port: 1 }],
      auto: false,
    });
  });

  it("refuses empty values, empty entries, mixed disabled and bad hints", () => {
    expect(codeOf(() => parseTubLocation(" "))).toBe("TAHOE_ERR_CONFIG_TUB_LOCATION");
    expect(codeOf(() => parseTubLocation("tcp:a.example:1,,AUTO"))).toBe("TAHOE_ERR_CONFIG_TUB_LOCATION");
    expect(codeOf(() => parseTubLocation("disabled,AUTO"))).toBe("TAHOE_ERR_CONFIG_TUB_LOCATION");
    expect(codeOf(() => parseTubLocation("auto"))).toBe("TAHOE_ERR_CONFIG_HINT");
    expect(() => parseTubLocation("tcp:a.example:1,,AUTO")).toThrow(
      "tub.location 'tcp:a.example:1,,AUTO' has an empty entry",
    );
  });
});
