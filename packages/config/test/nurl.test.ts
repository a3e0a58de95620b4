import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatNurl, isSpkiHash, type Nurl, parseNurl } from "../src/index.js";
import { errorOf } from "./error-of.js";

const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../../../shared/vectors/spki-hash.json"), "utf8"),
) as { vector: { "expected-hash": string }[] };
const HASH = vectors.vector[0]!["expected-hash"];
const ONION = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";
const TUBID = "v67jiisoty6ooyxlql5fuucitqiok2ic";

describe("parseNurl", () => {
  it("accepts every SPKI hash of the published vectors", () => {
    expect(vectors.vector.length).toBeGreaterThan(0);
    for (const v of vectors.vector) expect(isSpkiHash(v["expected-hash"])).toBe(true);
  });

  const good: [string, Nurl][] = [
    [
      `pb://${HASH}@example.net:8443/eqpwqtzm3ikyw6mjlqz5vvnqoj3jtrsq#v=1`,
      {
        spkiHash: HASH,
        hints: [{ kind: "tcp", host: "example.net", port: 8443 }],
        swissnum: "eqpwqtzm3ikyw6mjlqz5vvnqoj3jtrsq",
        version: 1,
      },
    ],
    [
      `pb://${HASH}@[2001:db8::7]:443/s#v=1`,
      { spkiHash: HASH, hints: [{ kind: "tcp", host: "2001:db8::7", port: 443 }], swissnum: "s", version: 1 },
    ],
    [
      `pb+tor://${HASH}@${ONION}:80/s#v=1`,
      { spkiHash: HASH, hints: [{ kind: "tor", host: ONION, port: 80 }], swissnum: "s", version: 1 },
    ],
    [
      `pb+i2p://${HASH}@${"b".repeat(52)}.b32.i2p:3457/s#v=1`,
      {
        spkiHash: HASH,
        hints: [{ kind: "i2p", host: `${"b".repeat(52)}.b32.i2p`, port: 3457 }],
        swissnum: "s",
        version: 1,
      },
    ],
    [
      `pb://${HASH}@tcp:192.0.2.1:1,tor:${ONION}:80,i2p:tahoe.i2p/s-_.~#v=1`,
      {
        spkiHash: HASH,
        hints: [
          { kind: "tcp", host: "192.0.2.1", port: 1 },
          { kind: "tor", host: ONION, port: 80 },
          { kind: "i2p", host: "tahoe.i2p" },
        ],
        swissnum: "s-_.~",
        version: 1,
      },
    ],
    [
      `pb+tor://${HASH}@${ONION}:80,tcp:example.net:1/s#v=1`,
      {
        spkiHash: HASH,
        hints: [
          { kind: "tor", host: ONION, port: 80 },
          { kind: "tcp", host: "example.net", port: 1 },
        ],
        swissnum: "s",
        version: 1,
      },
    ],
  ];
  it.each(good)("parses %s", (text, expected) => {
    expect(parseNurl(text)).toEqual(expected);
  });

  it.each([
    "",
    `http://${HASH}@example.net:1/s#v=1`,
    `pb://${HASH}@example.net:1/s#v=2`,
    `pb://${HASH}@example.net:1/s`,
    `pb://${HASH}@example.net:1/#v=1`,
    `pb://${HASH}@/s#v=1`,
    `pb://${HASH}@example.net/s#v=1`,
    `pb://${HASH}@example.net:1/s/t#v=1`,
    `pb://${HASH.slice(1)}@example.net:1/s#v=1`,
    `pb://${HASH.slice(0, 42)}B@example.net:1/s#v=1`,
    `pb://${HASH.replace("_", "/")}@example.net:1/s#v=1`,
    `pb://${HASH}=@example.net:1/s#v=1`,
    `pb://${HASH}@example.net:1,/s#v=1`,
  ])("refuses %j with TAHOE_ERR_CONFIG_NURL", (text) => {
    expect(errorOf(() => parseNurl(text)).code).toBe("TAHOE_ERR_CONFIG_NURL");
  });

  it("explains that a Foolscap fURL is not enough", () => {
    const err = errorOf(() => parseNurl(`pb://${TUBID}@tcp:example.net:44801/introducersecret`));
    expect(err.code).toBe("TAHOE_ERR_CONFIG_NURL");
    expect(err.message).toBe(
      `'pb://${TUBID}@tcp:example.net:44801/<secret>' is a Foolscap fURL, not a NURL: this node speaks only the HTTP storage protocol (GBS)`,
    );
    expect(err.hint).toContain("pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1");
  });

  it("names the problem without the swissnum", () => {
    const err = errorOf(() => parseNurl(`pb://${HASH}@example.net:1/hidden#v=2`));
    expect(err.message).toBe(
      `NURL 'pb://${HASH}@example.net:1/<secret>#v=2' has '#v=2'; only NURL version 1 (#v=1) is known`,
    );
    expect(errorOf(() => parseNurl(`pb://${HASH.slice(1)}@example.net:1/hidden#v=1`)).message).toBe(
      `NURL 'pb://${HASH.slice(1)}@example.net:1/<secret>#v=1' has key hash '${HASH.slice(1)}', which is not 43 base64url characters encoding 32 bytes`,
    );
  });
});

describe("formatNurl", () => {
  it("writes a single location the way Tahoe-LAFS does", () => {
    const tcp = `pb://${HASH}@example.net:8443/swiss#v=1`;
    expect(formatNurl(parseNurl(tcp))).toBe(tcp);
    expect(formatNurl(parseNurl(`pb://${HASH}@tcp:example.net:8443/swiss#v=1`))).toBe(tcp);
    const tor = `pb+tor://${HASH}@${ONION}:80/swiss#v=1`;
    expect(formatNurl(parseNurl(tor))).toBe(tor);
    // I2P by analogy with pb+tor://; without a port it stays a typed hint.
    const i2p = `pb+i2p://${HASH}@${"b".repeat(52)}.b32.i2p:3457/swiss#v=1`;
    expect(formatNurl(parseNurl(i2p))).toBe(i2p);
    expect(formatNurl(parseNurl(`pb://${HASH}@i2p:${"b".repeat(52)}.b32.i2p:3457/swiss#v=1`))).toBe(i2p);
    expect(formatNurl(parseNurl(`pb://${HASH}@i2p:tahoe.i2p/swiss#v=1`))).toBe(
      `pb://${HASH}@i2p:tahoe.i2p/swiss#v=1`,
    );
    expect(formatNurl(parseNurl(`pb://${HASH}@[::1]:80/swiss#v=1`))).toBe(`pb://${HASH}@[::1]:80/swiss#v=1`);
  });

  it("writes several locations as typed hints and round-trips", () => {
    const n: Nurl = {
      spkiHash: HASH,
      hints: [
        { kind: "tcp", host: "2001:db8::1", port: 1 },
        { kind: "tor", host: ONION, port: 80 },
      ],
      swissnum: "abc",
      version: 1,
    };
    const text = formatNurl(n);
    expect(text).toBe(`pb://${HASH}@tcp:[2001:db8::1]:1,tor:${ONION}:80/abc#v=1`);
    expect(parseNurl(text)).toEqual(n);
  });

  it("refuses what parseNurl would refuse", () => {
    const base: Nurl = {
      spkiHash: HASH,
      hints: [{ kind: "tcp", host: "example.net", port: 1 }],
      swissnum: "s",
      version: 1,
    };
    expect(errorOf(() => formatNurl({ ...base, swissnum: "a/b" })).code).toBe("TAHOE_ERR_CONFIG_NURL");
    expect(errorOf(() => formatNurl({ ...base, spkiHash: "short" })).code).toBe("TAHOE_ERR_CONFIG_NURL");
    expect(errorOf(() => formatNurl({ ...base, hints: [] })).code).toBe("TAHOE_ERR_CONFIG_NURL");
    expect(errorOf(() => formatNurl({ ...base, hints: [{ kind: "tcp", host: "example.net" }] })).code).toBe(
      "TAHOE_ERR_CONFIG_HINT",
    );
  });
});
