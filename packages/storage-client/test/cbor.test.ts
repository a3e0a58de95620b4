import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CborValue, cborSet, decodeCbor, encodeCbor } from "../src/cbor.js";
import {
  encodeAllocate,
  encodeReadTestWrite,
  parseAllocate,
  parseReadTestWrite,
  parseRequired,
  parseShareSet,
  parseVersion,
  type TestWriteVectors,
} from "../src/messages.js";

interface Body {
  length: number;
  base64?: string;
  truncated?: boolean;
}
interface Exchange {
  seq: number;
  method: string;
  path: string;
  request_body: Body;
  response_status: number;
  response_body: Body;
  response_body_cbor?: unknown;
}

const transcript: Exchange[] = readFileSync(
  join(import.meta.dirname, "../../../../shared/vectors/gbs-transcript.jsonl"),
  "utf8",
)
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as Exchange);

function bytesOf(body: Body): Buffer {
  if (body.base64 === undefined) throw new Error("body was truncated in the transcript");
  return Buffer.from(body.base64, "base64");
}

/** Turns the transcript's diagnostic JSON form back into the values our decoder yields. */
function fromDiagnostic(d: unknown): CborValue {
  if (Array.isArray(d)) return d.map(fromDiagnostic);
  if (d !== null && typeof d === "object") {
    const o = d as Record<string, unknown>;
    if ("$map" in o) {
      return new Map(
        (o.$map as [unknown, unknown][]).map(([k, v]) => [fromDiagnostic(k), fromDiagnostic(v)]),
      );
    }
    if ("$bytes" in o) return new Uint8Array(Buffer.from(o.$bytes as string, "base64"));
    if ("$tag" in o) return { tag: o.$tag as number, value: fromDiagnostic(o.value) };
    if ("$int" in o) return BigInt(o.$int as string);
  }
  return d as CborValue;
}

function find(pred: (e: Exchange) => boolean): Exchange {
  const e = transcript.find(pred);
  if (!e) throw new Error("no such exchange in the transcript");
  return e;
}

describe("CBOR codec", () => {
  it("round-trips every kind of value GBS uses", () => {
    const value = new Map<CborValue, CborValue>([
      ["text", "héllo"],
      [new Uint8Array([1, 2]), new Uint8Array(300).fill(7)],
      [7, [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32, 2 ** 53 - 1, -1, -25, -70000]],
      ["big", 69105000000000000n * 100n],
      ["small bigint", 5n],
      ["set", cborSet([3, 1])],
      ["flags", [true, false, null]],
      ["float", 1.5],
    ]);
    const back = decodeCbor(encodeCbor(value)) as Map<CborValue, CborValue>;
    expect(back.get("small bigint")).toBe(5);
    back.set("small bigint", 5n);
    expect(back).toEqual(value);
  });

  it("encodes integers in the shortest form, as cbor2 does", () => {
    expect(Buffer.from(encodeCbor(23)).toString("hex")).toBe("17");
    expect(Buffer.from(encodeCbor(24)).toString("hex")).toBe("1818");
    expect(Buffer.from(encodeCbor(1000)).toString("hex")).toBe("1903e8");
    expect(Buffer.from(encodeCbor(1_000_000)).toString("hex")).toBe("1a000f4240");
    expect(Buffer.from(encodeCbor(2 ** 32)).toString("hex")).toBe("1b0000000100000000");
    expect(Buffer.from(encodeCbor(-500)).toString("hex")).toBe("3901f3");
    expect(Buffer.from(encodeCbor(5n)).toString("hex")).toBe("05");
  });

  it("decodes indefinite-length items and half floats", () => {
    // [_ 1, 2], {_ "a": h'01' (two chunks)}, 1.0 as a half float
    expect(decodeCbor(Buffer.from("9f0102ff", "hex"))).toEqual([1, 2]);
    expect(decodeCbor(Buffer.from("bf6161 5f4101ff ff".replace(/ /g, ""), "hex"))).toEqual(
      new Map([["a", new Uint8Array([1])]]),
    );
    expect(decodeCbor(Buffer.from("f93c00", "hex"))).toBe(1);
  });

  it("refuses truncated input, trailing bytes and bad UTF-8", () => {
    expect(() => decodeCbor(Buffer.from("1903", "hex"))).toThrow(/ends early/);
    expect(() => decodeCbor(Buffer.from("0101", "hex"))).toThrow(/after the first item/);
    expect(() => decodeCbor(Buffer.from("62ffff", "hex"))).toThrow(/not UTF-8/);
    expect(() => decodeCbor(Buffer.from("5b00000000ffffffff", "hex"))).toThrow(/exceeds/);
  });
});

describe("GBS bodies against a Tahoe-LAFS 1.20 transcript", () => {
  it("writes the allocate body byte for byte as a Tahoe client does", () => {
    const e = find((x) => x.method === "POST" && /\/immutable\/[a-z2-7]{26}$/.test(x.path));
    const diag = fromDiagnostic(
      (JSON.parse(readLine(e.seq)) as { request_body_cbor: unknown }).request_body_cbor,
    ) as Map<string, CborValue>;
    const shares = (diag.get("share-numbers") as { value: number[] }).value;
    const encoded = encodeCbor(encodeAllocate(shares, diag.get("allocated-size") as number));
    expect(Buffer.from(encoded).toString("base64")).toBe(e.request_body.base64);
  });

  it("writes read-test-write bodies byte for byte as a Tahoe client does", () => {
    const writes = transcript.filter(
      (x) => x.path.endsWith("/read-test-write") && x.request_body.base64 !== undefined,
    );
    expect(writes.length).toBeGreaterThan(3);
    for (const e of writes) {
      const diag = fromDiagnostic(
        (JSON.parse(readLine(e.seq)) as { request_body_cbor: unknown }).request_body_cbor,
      ) as Map<string, CborValue>;
      const vectors = new Map<number, TestWriteVectors>();
      for (const [shnum, tw] of diag.get("test-write-vectors") as Map<number, Map<string, CborValue>>) {
        const plain = (list: CborValue) =>
          (list as Map<string, CborValue>[]).map((m) => Object.fromEntries(m) as never);
        vectors.set(shnum, {
          test: plain(tw.get("test")!),
          write: plain(tw.get("write")!),
          newLength: tw.get("new-length") as number | null,
        });
      }
      const readVector = (diag.get("read-vector") as Map<string, number>[]).map(
        (m) => Object.fromEntries(m) as never,
      );
      const encoded = encodeCbor(encodeReadTestWrite({ testWriteVectors: vectors, readVector }));
      expect(Buffer.from(encoded).toString("base64"), `seq ${e.seq}`).toBe(e.request_body.base64);
    }
  });

  it("reads every CBOR reply of the transcript", () => {
    let checked = 0;
    for (const e of transcript) {
      if (e.response_body_cbor === undefined || e.response_body.base64 === undefined) continue;
      const value = decodeCbor(bytesOf(e.response_body));
      const expected = fromDiagnostic(e.response_body_cbor);
      expect(normalise(value), `seq ${e.seq}`).toEqual(normalise(expected));
      if (e.path === "/storage/v1/version") {
        const v = parseVersion(value);
        expect(v.applicationVersion).toMatch(/^tahoe-lafs\/1\.20/);
        expect(v.maximumMutableShareSize).toBe(69105000000000000);
        expect(v.availableSpace).toBeGreaterThan(0);
      } else if (e.path.endsWith("/shares")) {
        expect(Array.isArray(parseShareSet(value))).toBe(true);
      } else if (e.method === "POST" && e.path.includes("/immutable/")) {
        const r = parseAllocate(value, [0]);
        expect(r.allocated.length + r.alreadyHave.length).toBeGreaterThan(0);
      } else if (e.method === "PATCH") {
        expect(parseRequired(value)).toEqual([]);
      } else if (e.path.endsWith("/read-test-write")) {
        expect(parseReadTestWrite(value).success).toBe(true);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });
});

const lines = readFileSync(
  join(import.meta.dirname, "../../../../shared/vectors/gbs-transcript.jsonl"),
  "utf8",
)
  .trim()
  .split("\n");
function readLine(seq: number): string {
  return lines.find((l) => (JSON.parse(l) as Exchange).seq === seq)!;
}

/** Small integers decode as numbers, the diagnostic form gives bigints only for huge ones. */
function normalise(v: CborValue): unknown {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return String(v);
  if (v instanceof Map) return [...v].map(([k, x]) => [normalise(k), normalise(x)]);
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (v !== null && typeof v === "object" && "tag" in v)
    return { tag: v.tag, value: normalise(v.value as CborValue) };
  return v;
}
