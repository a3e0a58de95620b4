import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkAcceptsCbor } from "../src/auth.js";
import { encodeCbor, encodeRequired } from "../src/cbor.js";
import { blake2b } from "../src/index.js";
import { parseShareNumber, parseStorageIndex } from "../src/paths.js";
import { IntervalSet, parseContentRange, parseRange } from "../src/ranges.js";

describe("blake2b", () => {
  it("matches the RFC 7693 / reference BLAKE2b-256 digests", () => {
    expect(blake2b(new Uint8Array(0)).toString("hex")).toBe(
      "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
    );
    expect(blake2b(Buffer.from("abc")).toString("hex")).toBe(
      "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
    );
  });

  it("agrees with OpenSSL's BLAKE2b-512 on many lengths", () => {
    for (const length of [0, 1, 31, 32, 127, 128, 129, 256, 1000]) {
      const data = randomBytes(length);
      expect(blake2b(data, 64)).toEqual(createHash("blake2b512").update(data).digest());
    }
  });
});

describe("ranges", () => {
  it("tracks written spans and reports what is missing", () => {
    const s = new IntervalSet();
    s.add(10, 20);
    s.add(30, 40);
    expect(s.missing(50)).toEqual([
      { begin: 0, end: 10 },
      { begin: 20, end: 30 },
      { begin: 40, end: 50 },
    ]);
    expect(s.overlaps(15, 35)).toEqual([
      [15, 20],
      [30, 35],
    ]);
    s.add(20, 30);
    s.add(0, 10);
    s.add(40, 50);
    expect(s.missing(50)).toEqual([]);
  });

  it("parses Content-Range and Range as Tahoe does", () => {
    expect(parseContentRange("bytes 0-646/*")).toEqual({ first: 0, last: 646 });
    expect(parseContentRange("bytes 5-9/100")).toEqual({ first: 5, last: 9 });
    expect(parseRange("bytes=153668-155881")).toEqual({ first: 153668, last: 155881 });
    for (const bad of ["bytes */10", "bytes 9-5/*", "bytes 0-99999999999999999/*", "bits 0-1/*"]) {
      expect(() => parseContentRange(bad), bad).toThrow(expect.objectContaining({ status: 416 }));
    }
  });
});

describe("path segments", () => {
  it("accepts only well-formed storage indexes and share numbers", () => {
    expect(parseStorageIndex("6dnr6lbq6l7dxjr4bcgyzev7rq")).toBe("6dnr6lbq6l7dxjr4bcgyzev7rq");
    for (const bad of ["6dnr6lbq6l7dxjr4bcgyzev7rr", "../../etc/passwd", "6DNR6LBQ6L7DXJR4BCGYZEV7RQ", ""]) {
      expect(() => parseStorageIndex(bad), bad).toThrow(
        expect.objectContaining({ code: "TAHOE_ERR_STORAGE_SERVER_BAD_PATH", status: 400 }),
      );
    }
    expect(parseShareNumber("255")).toBe(255);
    for (const bad of ["256", "01", "-1", "1.0", ""]) expect(() => parseShareNumber(bad), bad).toThrow();
  });
});

describe("Accept", () => {
  it("needs application/cbor to be the best entry", () => {
    for (const ok of [
      undefined,
      "",
      "application/cbor",
      "application/json;q=0.5, application/cbor",
      "APPLICATION/CBOR",
    ]) {
      expect(() => checkAcceptsCbor(ok), ok).not.toThrow();
    }
    for (const bad of ["*/*", "application/json", "application/cbor;q=0", "application/*"]) {
      expect(() => checkAcceptsCbor(bad), bad).toThrow(expect.objectContaining({ status: 406 }));
    }
  });
});

describe("the PATCH reply encoder", () => {
  it("gives the bytes cbor2 gives, for every integer width and list length", () => {
    const edges = [
      0,
      1,
      23,
      24,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 40 + 3,
      Number.MAX_SAFE_INTEGER,
    ];
    const lists: { begin: number; end: number }[][] = [[], ...edges.map((n) => [{ begin: n, end: n + 1 }])];
    lists.push(Array.from({ length: 30 }, (_, i) => ({ begin: i * 1000, end: i * 1000 + 24 })));
    for (const required of lists) {
      const expected = encodeCbor(
        new Map([
          [
            "required",
            required.map(
              (r) =>
                new Map([
                  ["begin", r.begin],
                  ["end", r.end],
                ]),
            ),
          ],
        ]),
      );
      expect(encodeRequired(required).toString("hex"), JSON.stringify(required)).toBe(
        expected.toString("hex"),
      );
    }
  });
});
