import { describe, expect, it } from "vitest";
import { parseFurl, redactUrlSecret } from "../src/index.js";
import { errorOf } from "./error-of.js";

// The tub id of the lease-secret vector in wire-formats §2.13.
const TUBID = "v67jiisoty6ooyxlql5fuucitqiok2ic";

describe("parseFurl", () => {
  it("parses a storage fURL with several hints", () => {
    const f = parseFurl(
      `pb://${TUBID}@tcp:192.0.2.5:44801,example.net:44801/eqpwqtzm3ikyw6mjlqz5vvnqoj3jtrsq`,
    );
    expect(f.tubId).toBe(TUBID);
    expect(f.tubIdBytes).toHaveLength(20);
    expect(f.hints).toEqual([
      { kind: "tcp", host: "192.0.2.5", port: 44801 },
      { kind: "tcp", host: "example.net", port: 44801 },
    ]);
    expect(f.swissnum).toBe("eqpwqtzm3ikyw6mjlqz5vvnqoj3jtrsq");
  });

  it("decodes the tub id as RFC 4648 base32", () => {
    // RFC 4648: base32("fooba") = "MZXW6YTB"
    const f = parseFurl(`pb://${"mzxw6ytb".repeat(4)}@example.net:1/s`);
    expect(Buffer.from(f.tubIdBytes).toString("latin1")).toBe("fooba".repeat(4));
    expect(Array.from(parseFurl(`pb://${"a".repeat(32)}@example.net:1/s`).tubIdBytes)).toEqual(
      Array(20).fill(0),
    );
    expect(Array.from(parseFurl(`pb://${"7".repeat(32)}@example.net:1/s`).tubIdBytes)).toEqual(
      Array(20).fill(255),
    );
  });

  it("allows a fURL without location hints (an unreachable tub)", () => {
    expect(parseFurl(`pb://${TUBID}@/swiss`).hints).toEqual([]);
  });

  it.each([
    "",
    "http://example.net/",
    `pb://${TUBID}example.net:1/s`,
    `pb://${TUBID}@example.net:1`,
    `pb://${TUBID}@example.net:1/`,
    `pb://${TUBID.toUpperCase()}@example.net:1/s`,
    `pb://${TUBID.slice(1)}@example.net:1/s`,
    `pb://${TUBID}x@example.net:1/s`,
    `pb://${TUBID}@example.net/s`,
    `pb://${TUBID}@example.net:1/s/t`,
    `pb://${TUBID}@example.net:1/s%20`,
    `pb://${TUBID}@example.net:1/s#x`,
    `pb+tor://${TUBID}@example.net:1/s`,
  ])("refuses %j with TAHOE_ERR_CONFIG_FURL", (text) => {
    expect(errorOf(() => parseFurl(text)).code).toBe("TAHOE_ERR_CONFIG_FURL");
  });

  it("hides the swissnum in messages", () => {
    const err = errorOf(() => parseFurl(`pb://${TUBID.slice(1)}@example.net:1/topsecret`));
    expect(err.message).toBe(
      `fURL 'pb://${TUBID.slice(1)}@example.net:1/<secret>' has tub id '${TUBID.slice(1)}', which is not 32 base32 characters (a-z, 2-7)`,
    );
    expect(err.message).not.toContain("topsecret");
    const hintErr = errorOf(() => parseFurl(`pb://${TUBID}@example.net:0/topsecret`));
    expect(hintErr.message).toBe(
      `fURL 'pb://${TUBID}@example.net:0/<secret>' has a bad location hint: connection hint 'example.net:0': port 0 is outside 1..65535`,
    );
  });

  it("says when it was given a NURL", () => {
    const nurl = "pb://JIj6ezHkdSBlHhrnezAgIC_mrVQHy4KAFyL-8ZNPGPM@example.net:1/s#v=1";
    expect(errorOf(() => parseFurl(nurl)).message).toContain(
      "is a NURL (it ends in #v=1), not a Foolscap fURL",
    );
  });

  it("redacts only the secret path", () => {
    expect(redactUrlSecret("pb://id@h:1,h2:2/secret#v=1")).toBe("pb://id@h:1,h2:2/<secret>#v=1");
    expect(redactUrlSecret("pb://id@h:1")).toBe("pb://id@h:1");
  });
});
