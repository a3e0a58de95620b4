import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorageClient, type StorageClient, type TestWriteVectors } from "../src/index.js";
import {
  type CborValue,
  decodeBody,
  encodeBody,
  encodeReadTestWrite,
  parseAllocate,
  parseReadTestWrite,
  parseRequired,
  parseShareSet,
  parseVersion,
} from "../src/messages.js";
import { type FakeServer, headerValues, reply, startFakeServer } from "./helpers.js";

interface Body {
  length: number;
  base64?: string;
}
interface Exchange {
  seq: number;
  method: string;
  path: string;
  request_headers: [string, string][];
  request_body: Body;
  request_body_cbor?: unknown;
  response_status: number;
  response_headers: [string, string][];
  response_body: Body;
  response_body_cbor?: unknown;
}

/** What a Tahoe-LAFS 1.20 client sent to its storage servers (../shared/vectors). */
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

/** Turns the transcript's diagnostic JSON form into plain values, without our decoder. */
function fromDiagnostic(d: unknown): CborValue {
  if (Array.isArray(d)) return d.map(fromDiagnostic);
  if (d !== null && typeof d === "object") {
    const o = d as Record<string, unknown>;
    if ("$map" in o) {
      return new Map(
        (o.$map as [unknown, unknown][]).map(([k, v]) => [fromDiagnostic(k), fromDiagnostic(v)]),
      );
    }
    // A Buffer on purpose: the client must send Node Buffers as byte strings too.
    if ("$bytes" in o) return Buffer.from(o.$bytes as string, "base64");
    if ("$tag" in o) return { tag: o.$tag as number, value: fromDiagnostic(o.value) };
    if ("$int" in o) return BigInt(o.$int as string);
  }
  return d;
}

/** The secret of one kind from a recorded X-Tahoe-Authorization header. */
function secretOf(e: Exchange, kind: string): Uint8Array {
  const header = e.request_headers.find(
    ([name, value]) => name.toLowerCase() === "x-tahoe-authorization" && value.startsWith(`${kind} `),
  );
  if (!header) throw new Error(`seq ${e.seq} has no ${kind}`);
  return Buffer.from(header[1].slice(kind.length + 1), "base64");
}

function siOf(e: Exchange): string {
  return /\/(?:immutable|mutable)\/([a-z2-7]{26})/.exec(e.path)![1]!;
}

describe("the client's request bodies against a Tahoe-LAFS 1.20 transcript", () => {
  let server: FakeServer;
  let client: StorageClient;
  /** Each POST answers with the reply Tahoe's server gave to the same request. */
  const replies = new Map<string, Exchange>();
  beforeAll(async () => {
    server = await startFakeServer((req, res) => {
      const e = replies.get(req.body.toString("base64"));
      if (!e) return reply(res, 400, Buffer.from("not in the transcript"), "text/plain");
      reply(res, e.response_status, bytesOf(e.response_body), "application/cbor");
    });
    client = createStorageClient({ nurl: server.nurl });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  const posts = (pattern: RegExp) =>
    transcript.filter(
      (x) => x.method === "POST" && pattern.test(x.path) && x.request_body.base64 !== undefined,
    );

  it("sends every allocate body and its lease secrets byte for byte as Tahoe did", async () => {
    const allocates = posts(/\/immutable\/[a-z2-7]{26}$/);
    expect(allocates.length).toBeGreaterThanOrEqual(16);
    for (const e of allocates) {
      replies.set(e.request_body.base64!, e);
      const diag = fromDiagnostic(e.request_body_cbor) as Map<string, CborValue>;
      const shares = (diag.get("share-numbers") as { value: number[] }).value;
      const before = server.seen.length;
      await client.allocate(siOf(e), {
        shareNumbers: shares,
        allocatedSize: diag.get("allocated-size") as number,
        renewSecret: secretOf(e, "lease-renew-secret"),
        cancelSecret: secretOf(e, "lease-cancel-secret"),
        uploadSecret: secretOf(e, "upload-secret"),
      });
      const sent = server.seen[before]!;
      expect(sent.body.toString("base64"), `seq ${e.seq}`).toBe(e.request_body.base64);
      expect(headerValues(sent, "content-type")).toEqual(["application/cbor"]);
      expect(headerValues(sent, "x-tahoe-authorization"), `seq ${e.seq}`).toEqual(
        e.request_headers.filter(([n]) => n.toLowerCase() === "x-tahoe-authorization").map(([, v]) => v),
      );
    }
  });

  it("sends every read-test-write body byte for byte as Tahoe did", async () => {
    const writes = posts(/\/read-test-write$/);
    expect(writes.length).toBeGreaterThanOrEqual(16);
    for (const e of writes) {
      replies.set(e.request_body.base64!, e);
      const diag = fromDiagnostic(e.request_body_cbor) as Map<string, CborValue>;
      const vectors = new Map<number, TestWriteVectors>();
      for (const [shnum, tw] of diag.get("test-write-vectors") as Map<number, Map<string, CborValue>>) {
        const plain = (list: CborValue) =>
          (list as Map<string, CborValue>[]).map((m) => Object.fromEntries(m) as never);
        vectors.set(shnum, {
          test: plain(tw.get("test")),
          write: plain(tw.get("write")),
          newLength: tw.get("new-length") as number | null,
        });
      }
      const readVector = (diag.get("read-vector") as Map<string, number>[]).map(
        (m) => Object.fromEntries(m) as never,
      );
      const before = server.seen.length;
      const result = await client.readTestWrite(
        siOf(e),
        {
          writeEnabler: secretOf(e, "write-enabler"),
          renewSecret: secretOf(e, "lease-renew-secret"),
          cancelSecret: secretOf(e, "lease-cancel-secret"),
        },
        { testWriteVectors: vectors, readVector },
      );
      expect(result.success, `seq ${e.seq}`).toBe(true);
      expect(server.seen[before]!.body.toString("base64"), `seq ${e.seq}`).toBe(e.request_body.base64);
    }
  });
});

describe("the client's CBOR decoding (cbor2)", () => {
  it("reads every CBOR reply of the transcript as its diagnostic form says", () => {
    let checked = 0;
    for (const e of transcript) {
      if (e.response_body_cbor === undefined || e.response_body.base64 === undefined) continue;
      const value = decodeBody(bytesOf(e.response_body));
      expect(normalise(value), `seq ${e.seq}`).toEqual(normalise(fromDiagnostic(e.response_body_cbor)));
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

  it("takes indefinite lengths and half floats, which other servers may send", () => {
    // [_ 1, 2], {_ "a": h'01' (two chunks)}, 1.0 as a half float
    expect(decodeBody(Buffer.from("9f0102ff", "hex"))).toEqual([1, 2]);
    const map = decodeBody(Buffer.from("bf61615f4101ffff", "hex")) as Map<string, Uint8Array>;
    expect([...map.keys()]).toEqual(["a"]);
    expect([...map.get("a")!]).toEqual([1]);
    expect(decodeBody(Buffer.from("f93c00", "hex"))).toBe(1);
  });

  it("refuses truncated input, trailing bytes, bad UTF-8 and huge lengths with one message", () => {
    for (const hex of ["1903", "0101", "62ffff", "5b00000000ffffffff", ""]) {
      expect(() => decodeBody(Buffer.from(hex, "hex")), hex).toThrow(/^not valid CBOR \(.+\)$/);
    }
  });

  it("gives tag 258 meaning only over an array, and no other tag any", () => {
    expect(decodeBody(Buffer.from("d90102820301", "hex"))).toEqual(new Set([3, 1]));
    expect(() => decodeBody(Buffer.from("d9010201", "hex"))).toThrow(/not valid CBOR/);
    // tag 1 (epoch time) would be a Date with cbor2's global tags; here it is no number.
    expect(() => parseShareSet(decodeBody(Buffer.from("c11a5f5e1000", "hex")))).toThrow(/not a CBOR set/);
  });

  it("copies read-test-write data out of the reply", () => {
    const body = Buffer.from("a26773756363657373f56464617461a1008142090a", "hex");
    const data = parseReadTestWrite(decodeBody(body)).data.get(0)![0]!;
    expect([...data]).toEqual([9, 10]);
    body.fill(0);
    expect([...data]).toEqual([9, 10]);
  });

  it("encodes Buffers in test-write vectors as byte strings", () => {
    const value = encodeReadTestWrite({
      testWriteVectors: new Map([[0, { write: [{ offset: 0, data: Buffer.from([7]) }] }]]),
    });
    const back = decodeBody(encodeBody(value)) as Map<string, Map<number, Map<string, unknown>>>;
    const write = back.get("test-write-vectors")!.get(0)!.get("write") as Map<string, unknown>[];
    expect(write[0]!.get("data")).toBeInstanceOf(Uint8Array);
    expect([...(write[0]!.get("data") as Uint8Array)]).toEqual([7]);
  });
});

/** Small integers decode as numbers, the diagnostic form gives bigints only for huge ones. */
function normalise(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return String(v);
  if (v instanceof Map) return [...v].map(([k, x]) => [normalise(k), normalise(x)]);
  if (v instanceof Set) return { tag: 258, value: [...v].map(normalise) };
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (v !== null && typeof v === "object" && "tag" in v) {
    const tagged = v as unknown as { tag: number; value: unknown };
    return { tag: tagged.tag, value: normalise(tagged.value) };
  }
  return v;
}
