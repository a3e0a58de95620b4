import { describe, expect, it } from "vitest";
import * as der from "../src/der.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("DER encoder", () => {
  it("encodes INTEGERs minimally and non-negative", () => {
    expect(hex(der.integer(0))).toBe("020100");
    expect(hex(der.integer(127))).toBe("02017f");
    expect(hex(der.integer(128))).toBe("02020080");
    expect(hex(der.integer(256))).toBe("02020100");
    expect(hex(der.integer(2))).toBe("020102");
    expect(hex(der.integer(new Uint8Array([0, 0, 0x7f])))).toBe("02017f");
    expect(hex(der.integer(new Uint8Array([0xff])))).toBe("020200ff");
    expect(hex(der.integer(new Uint8Array([0, 0])))).toBe("020100");
    expect(() => der.integer(-1)).toThrow(RangeError);
  });

  it("encodes OIDs", () => {
    expect(hex(der.oid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(hex(der.oid("2.5.4.3"))).toBe("0603550403");
    expect(hex(der.oid("1.3.101.112"))).toBe("06032b6570");
    expect(() => der.oid("1")).toThrow(RangeError);
    expect(() => der.oid("1.40")).toThrow(RangeError);
    expect(() => der.oid("1.x")).toThrow(RangeError);
  });

  it("encodes long lengths in their shortest form", () => {
    expect(hex(der.octetString(new Uint8Array(127))).slice(0, 4)).toBe("047f");
    expect(hex(der.octetString(new Uint8Array(128))).slice(0, 6)).toBe("048180");
    expect(hex(der.octetString(new Uint8Array(256))).slice(0, 8)).toBe("04820100");
  });

  it("encodes the small types", () => {
    expect(hex(der.nullValue())).toBe("0500");
    expect(hex(der.boolean(true))).toBe("0101ff");
    expect(hex(der.boolean(false))).toBe("010100");
    expect(hex(der.bitString(new Uint8Array([1, 2])))).toBe("0303000102");
    expect(hex(der.utf8String("é"))).toBe("0c02c3a9");
    expect(hex(der.explicit(3, der.nullValue()))).toBe("a3020500");
    expect(hex(der.set(der.integer(2), der.integer(1)))).toBe("3106020101020102");
    expect(hex(der.sequence())).toBe("3000");
  });

  it("chooses UTCTime through 2049 and GeneralizedTime after", () => {
    const t = (d: string) => Buffer.from(der.x509Time(new Date(d))).toString("latin1");
    expect(t("2049-12-31T23:59:59.900Z")).toBe("\x17\x0d491231235959Z");
    expect(t("2050-01-01T00:00:00Z")).toBe("\x18\x0f20500101000000Z");
    expect(t("1999-02-03T04:05:06Z")).toBe("\x17\x0d990203040506Z");
    expect(() => der.utcTime(new Date("2050-01-01T00:00:00Z"))).toThrow(RangeError);
    expect(() => der.x509Time(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe("DER reader", () => {
  it("reads an element and its bounds", () => {
    const seq = der.sequence(der.integer(5), der.octetString(new Uint8Array(200)));
    const outer = der.expectElement(seq, 0, der.TAG.SEQUENCE, "seq");
    expect(outer).toEqual({ tag: 0x30, start: 0, contentStart: 3, end: seq.length });
    const first = der.expectElement(seq, outer.contentStart, der.TAG.INTEGER, "int", outer.end);
    expect(first.end).toBe(6);
    expect(der.readElement(seq, first.end, outer.end).contentStart).toBe(9);
  });

  it("rejects malformed DER", () => {
    const bad: [string, RegExp][] = [
      ["30", /truncated element/],
      ["3005020101", /runs past/],
      ["3080020101 0000", /indefinite length/],
      ["3081050201010000", /shortest form/],
      ["308200050201010000", /shortest form/],
      ["3f0100", /multi-byte tag/],
      ["3085ffffffffff", /length of 5 bytes/],
      ["3082ff", /truncated length/],
    ];
    for (const [h, message] of bad) {
      expect(() => der.readElement(Buffer.from(h.replace(/ /g, ""), "hex"), 0)).toThrow(message);
    }
    expect(() => der.expectElement(der.integer(1), 0, der.TAG.SEQUENCE, "seq")).toThrow(
      /expected seq \(tag 0x30\) at byte 0, found tag 0x2/,
    );
  });
});
