import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizationValue } from "../src/index.js";
import { cancel, enabler, placeSharesInEachState, renew, rtwBody, upload } from "./gbs-requests.js";
import { CBOR_HEADERS, cbor, secretHeader, snapshot, startTestServer, type TestServer } from "./helpers.js";

const SI = "ighrlpdhdzgstz7gq5zhcudp7a";
const MUT = "3vsluq5cq3czj2wcq3lwhk3py4";

/** A small deterministic PRNG, so a failure names the same request on every run. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: Uint8Array;
  /** The one status this case must get, where it is not a 4xx. */
  status?: number;
}

const SECRETS: Record<string, string[]> = {
  lease: [secretHeader("lease-renew-secret", renew), secretHeader("lease-cancel-secret", cancel)],
  allocate: [
    secretHeader("lease-renew-secret", renew),
    secretHeader("lease-cancel-secret", cancel),
    secretHeader("upload-secret", upload),
  ],
  upload: [secretHeader("upload-secret", upload)],
  rtw: [
    secretHeader("write-enabler", enabler),
    secretHeader("lease-renew-secret", renew),
    secretHeader("lease-cancel-secret", cancel),
  ],
  none: [],
};

/** Each endpoint with a well-formed request, which the cases below break one way at a time. */
const ENDPOINTS: {
  method: string;
  path: (si: string, sh: string) => string;
  secrets: string;
  body?: Uint8Array;
}[] = [
  { method: "GET", path: () => "/storage/v1/version", secrets: "none" },
  { method: "PUT", path: (si) => `/storage/v1/lease/${si}`, secrets: "lease" },
  {
    method: "POST",
    path: (si) => `/storage/v1/immutable/${si}`,
    secrets: "allocate",
    body: cbor(
      new Map<string, unknown>([
        ["share-numbers", new Set([9])],
        ["allocated-size", 10],
      ]),
    ),
  },
  {
    method: "PATCH",
    path: (si, sh) => `/storage/v1/immutable/${si}/${sh}`,
    secrets: "upload",
    body: Buffer.alloc(4),
  },
  { method: "PUT", path: (si, sh) => `/storage/v1/immutable/${si}/${sh}/abort`, secrets: "upload" },
  { method: "GET", path: (si) => `/storage/v1/immutable/${si}/shares`, secrets: "none" },
  { method: "GET", path: (si, sh) => `/storage/v1/immutable/${si}/${sh}`, secrets: "none" },
  {
    method: "POST",
    path: (si, sh) => `/storage/v1/immutable/${si}/${sh}/corrupt`,
    secrets: "none",
    body: cbor(new Map([["reason", "x"]])),
  },
  {
    method: "POST",
    path: (si) => `/storage/v1/mutable/${si}/read-test-write`,
    secrets: "rtw",
    body: cbor(
      new Map<string, unknown>([
        ["test-write-vectors", new Map()],
        ["read-vector", []],
      ]),
    ),
  },
  { method: "GET", path: (si) => `/storage/v1/mutable/${si}/shares`, secrets: "none" },
  { method: "GET", path: (si, sh) => `/storage/v1/mutable/${si}/${sh}`, secrets: "none" },
  {
    method: "POST",
    path: (si, sh) => `/storage/v1/mutable/${si}/${sh}/corrupt`,
    secrets: "none",
    body: cbor(new Map([["reason", "x"]])),
  },
];

function authCases(): Case[] {
  const wrong = [
    undefined,
    "",
    "Tahoe-LAFS",
    "Tahoe-LAFS ",
    authorizationValue("fwkpsxr6dvrc5pg5fvqvy23gqbut2su3"),
    authorizationValue("fwkpsxr6dvrc5pg5fvqvy23gqbut2su2").toLowerCase(),
    `Basic ${Buffer.from("fwkpsxr6dvrc5pg5fvqvy23gqbut2su2").toString("base64")}`,
    `${authorizationValue("fwkpsxr6dvrc5pg5fvqvy23gqbut2su2")} `.repeat(2),
  ];
  return ENDPOINTS.flatMap((e) =>
    wrong.map((auth, i) => ({
      name: `auth ${i} ${e.method} ${e.path(SI, "0")}`,
      method: e.method,
      path: e.path(SI, "0"),
      headers: {
        ...CBOR_HEADERS,
        "X-Tahoe-Authorization": SECRETS[e.secrets]!,
        ...(auth === undefined ? {} : { Authorization: auth }),
      },
      ...(auth === undefined ? { noAuth: true } : {}),
      ...(e.body ? { body: e.body } : {}),
    })),
  );
}

function secretCases(): Case[] {
  const variants = (required: string[]): string[][] => [
    required.slice(1),
    [...required, secretHeader("write-enabler", Buffer.alloc(32, 9))].filter(
      (v, i, a) => a.findIndex((x) => x.split(" ")[0] === v.split(" ")[0]) === i,
    ).length === required.length
      ? [...required, secretHeader("upload-secret", Buffer.alloc(20, 9))]
      : [...required, secretHeader("write-enabler", Buffer.alloc(32, 9))],
    [...required, "made-up-secret AAAA"],
    [...required, secretHeader("lease-renew-secret", Buffer.alloc(31))],
    [...required, "upload-secret "],
    [...required, "upload-secret !!!not-base64!!!"],
    [...required, required[0] ?? secretHeader("upload-secret", upload)],
    [...required, "upload-secret"],
    [secretHeader("lease-renew-secret", Buffer.alloc(33)), secretHeader("lease-cancel-secret", cancel)],
  ];
  return ENDPOINTS.flatMap((e) =>
    variants(SECRETS[e.secrets]!)
      // Dropping one of no secrets leaves a well-formed request.
      .filter((secrets) => secrets.join() !== SECRETS[e.secrets]!.join())
      .map((secrets, i) => ({
        name: `secrets ${i} ${e.method} ${e.path(SI, "0")}`,
        method: e.method,
        path: e.path(SI, "0"),
        headers: { ...CBOR_HEADERS, "X-Tahoe-Authorization": secrets },
        ...(e.body ? { body: e.body } : {}),
      })),
  );
}

function pathCases(): Case[] {
  const badSi = [
    "IGHRLPDHDZGSTZ7GQ5ZHCUDP7A",
    "ighrlpdhdzgstz7gq5zhcudp7",
    "ighrlpdhdzgstz7gq5zhcudp7aa",
    "ighrlpdhdzgstz7gq5zhcudp71",
    "ighrlpdhdzgstz7gq5zhcudp7b", // non-zero unused bits
    "..",
    "%2e%2e",
    "..%2f..%2f..%2fetc",
    "%00",
    "ighrlpdhdzgstz7gq5zhcud%2F7a",
    "%C3%A9ghrlpdhdzgstz7gq5zhcudp",
  ];
  const badShare = [
    "-1",
    "256",
    "01",
    "1e3",
    "abc",
    "0x1",
    "%201",
    "..",
    "%2e%2e",
    "99999999999999999999",
    "1.0",
  ];
  const out: Case[] = [];
  for (const e of ENDPOINTS.slice(1)) {
    for (const si of badSi) {
      out.push({
        name: `si ${si} ${e.method}`,
        method: e.method,
        path: e.path(si, "0"),
        headers: { ...CBOR_HEADERS, "X-Tahoe-Authorization": SECRETS[e.secrets]! },
        ...(e.body ? { body: e.body } : {}),
      });
    }
    if (!e.path(SI, "SHNUM").includes("SHNUM")) continue;
    for (const sh of badShare) {
      out.push({
        name: `shnum ${sh} ${e.method}`,
        method: e.method,
        path: e.path(SI, sh),
        headers: { ...CBOR_HEADERS, "X-Tahoe-Authorization": SECRETS[e.secrets]! },
        ...(e.body ? { body: e.body } : {}),
      });
    }
  }
  return out;
}

function cborCases(): Case[] {
  const next = prng(0x5eed);
  const randomBody = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);
  const m = (entries: [unknown, unknown][]) => new Map(entries);
  const allocateBodies: Uint8Array[] = [
    new Uint8Array(0),
    Buffer.from("ff", "hex"),
    Buffer.from("a2", "hex"), // truncated map
    Buffer.concat([
      cbor(
        m([
          ["share-numbers", new Set([1])],
          ["allocated-size", 10],
        ]),
      ),
      Buffer.from([0]),
    ]), // trailing
    Buffer.from("bf6d73686172652d6e756d62657273d9010280ff", "hex"), // indefinite map
    Buffer.from("a2616101616102", "hex"), // duplicate keys
    cbor(
      m([
        ["share-numbers", [1, 2]],
        ["allocated-size", 10],
      ]),
    ), // untagged set
    cbor(m([["share-numbers", new Set([1])]])),
    cbor(m([["allocated-size", 10]])),
    cbor(
      m([
        ["share-numbers", new Set([1])],
        ["allocated-size", 10],
        ["extra", 1],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set([1])],
        ["allocated-size", -1],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set([1])],
        ["allocated-size", 1.5],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set([1])],
        ["allocated-size", "10"],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set([1])],
        ["allocated-size", 2n ** 64n - 1n],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set([1])],
        ["allocated-size", 2n ** 53n],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set([256])],
        ["allocated-size", 10],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set([-1])],
        ["allocated-size", 10],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set(["1"])],
        ["allocated-size", 10],
      ]),
    ),
    cbor(
      m([
        ["share-numbers", new Set(Array.from({ length: 257 }, (_, i) => i))],
        ["allocated-size", 10],
      ]),
    ),
    cbor(
      m([
        [Buffer.from("share-numbers"), new Set([1])],
        ["allocated-size", 10],
      ]),
    ),
    cbor(
      m([
        [1, new Set([1])],
        ["allocated-size", 10],
      ]),
    ),
    cbor([1, 2]),
    cbor("share-numbers"),
    cbor(null),
    Buffer.from("c1d90102820102", "hex"), // tag 1 around a set
    Buffer.from("a26d73686172652d6e756d62657273d90102a0", "hex"), // tag 258 around a map
    Buffer.from(`${"81".repeat(64)}00`, "hex"), // deep nesting
    Buffer.from("5bffffffffffffffff", "hex"), // byte string claiming 2^64 bytes
    Buffer.from("7a7fffffff", "hex"), // text string claiming 2 GiB
    Buffer.from("9b00000000ffffffff", "hex"), // array claiming 2^32 items
  ];
  for (let i = 0; i < 40; i++) allocateBodies.push(randomBody(1 + (next() % 64)));

  const tw = (entry: unknown) =>
    m([
      ["test-write-vectors", m([[0, entry]])],
      ["read-vector", []],
    ]);
  const okEntry = () =>
    m([
      ["test", []],
      ["write", []],
      ["new-length", null],
    ]);
  const rtwBodies: Uint8Array[] = [
    cbor(m([["test-write-vectors", m([])]])),
    cbor(m([["read-vector", []]])),
    cbor(
      m([
        ["test-write-vectors", []],
        ["read-vector", []],
      ]),
    ),
    cbor(
      m([
        ["test-write-vectors", m([["0", okEntry()]])],
        ["read-vector", []],
      ]),
    ),
    cbor(
      m([
        ["test-write-vectors", m([[256, okEntry()]])],
        ["read-vector", []],
      ]),
    ),
    cbor(
      m([
        ["test-write-vectors", m([[-1, okEntry()]])],
        ["read-vector", []],
      ]),
    ),
    cbor(
      tw(
        m([
          ["test", []],
          ["write", []],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          ["test", []],
          ["write", []],
          ["new-length", -5],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          ["test", []],
          ["write", []],
          ["new-length", "5"],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          [
            "test",
            [
              m([
                ["offset", 0],
                ["size", 1],
              ]),
            ],
          ],
          ["write", []],
          ["new-length", null],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          [
            "test",
            [
              m([
                ["offset", 0],
                ["size", 1],
                ["specimen", "x"],
              ]),
            ],
          ],
          ["write", []],
          ["new-length", null],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          [
            "test",
            Array(31).fill(
              m([
                ["offset", 0],
                ["size", 0],
                ["specimen", new Uint8Array(0)],
              ]),
            ),
          ],
          ["write", []],
          ["new-length", null],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          ["test", []],
          [
            "write",
            [
              m([
                ["offset", 0],
                ["data", "text"],
              ]),
            ],
          ],
          ["new-length", null],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          ["test", []],
          [
            "write",
            [
              m([
                ["offset", -1],
                ["data", new Uint8Array(1)],
              ]),
            ],
          ],
          ["new-length", null],
        ]),
      ),
    ),
    cbor(
      tw(
        m([
          ["test", []],
          [
            "write",
            [
              m([
                ["offset", 2n ** 60n],
                ["data", new Uint8Array(1)],
              ]),
            ],
          ],
          ["new-length", null],
        ]),
      ),
    ),
    cbor(
      m([
        ["test-write-vectors", m([])],
        [
          "read-vector",
          Array(31).fill(
            m([
              ["offset", 0],
              ["size", 1],
            ]),
          ),
        ],
      ]),
    ),
    cbor(
      m([
        ["test-write-vectors", m([])],
        ["read-vector", [m([["offset", 0]])]],
      ]),
    ),
    cbor(
      m([
        ["test-write-vectors", m([])],
        [
          "read-vector",
          [
            m([
              ["offset", 0],
              ["size", 1.5],
            ]),
          ],
        ],
      ]),
    ),
    cbor(
      m([
        ["test-write-vectors", m([])],
        ["read-vector", new Set()],
      ]),
    ),
    cbor(
      m([
        ["test-write-vectors", m([])],
        ["read-vector", []],
        ["x", 1],
      ]),
    ),
  ];
  for (let i = 0; i < 30; i++) rtwBodies.push(randomBody(1 + (next() % 128)));

  const corruptBodies: Uint8Array[] = [
    cbor(m([])),
    cbor(m([["reason", ""]])),
    cbor(m([["reason", 5]])),
    cbor(m([["reason", Buffer.from("bytes")]])),
    cbor(
      m([
        ["reason", "x"],
        ["extra", "y"],
      ]),
    ),
    cbor(m([["reason", "x".repeat(32766)]])),
    cbor(m([["reason", "x".repeat(40000)]])),
  ];
  for (let i = 0; i < 20; i++) corruptBodies.push(randomBody(1 + (next() % 32)));

  const out: Case[] = [];
  const h = (secrets: string) => ({ ...CBOR_HEADERS, "X-Tahoe-Authorization": SECRETS[secrets]! });
  for (const [i, body] of allocateBodies.entries())
    out.push({
      name: `allocate body ${i}`,
      method: "POST",
      path: `/storage/v1/immutable/${SI}`,
      headers: h("allocate"),
      body,
    });
  for (const [i, body] of rtwBodies.entries())
    out.push({
      name: `rtw body ${i}`,
      method: "POST",
      path: `/storage/v1/mutable/${MUT}/read-test-write`,
      headers: h("rtw"),
      body,
    });
  // A slot grown to a petabyte is no malformed body: the server has no room, and says so as full.
  out.push({
    name: "rtw write at 2^50",
    method: "POST",
    path: `/storage/v1/mutable/${MUT}/read-test-write`,
    headers: h("rtw"),
    body: cbor(
      tw(
        m([
          ["test", []],
          [
            "write",
            [
              m([
                ["offset", 2 ** 50],
                ["data", new Uint8Array(1)],
              ]),
            ],
          ],
          ["new-length", null],
        ]),
      ),
    ),
    status: 507,
  });
  for (const [i, body] of corruptBodies.entries())
    out.push({
      name: `corrupt body ${i}`,
      method: "POST",
      path: `/storage/v1/immutable/${SI}/0/corrupt`,
      headers: h("none"),
      body,
    });
  out.push({
    name: "allocate over 8192 bytes",
    method: "POST",
    path: `/storage/v1/immutable/${SI}`,
    headers: h("allocate"),
    body: cbor(
      m([
        ["share-numbers", new Set([1])],
        ["allocated-size", 10],
        ["pad", "x".repeat(9000)],
      ]),
    ),
  });
  for (const type of [
    "application/json",
    "text/plain",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
  ]) {
    out.push({
      name: `allocate as ${type}`,
      method: "POST",
      path: `/storage/v1/immutable/${SI}`,
      headers: { ...h("allocate"), "Content-Type": type },
      body: allocateBodies[3]!.subarray(0, allocateBodies[3]!.length - 1),
    });
    out.push({
      name: `rtw as ${type}`,
      method: "POST",
      path: `/storage/v1/mutable/${MUT}/read-test-write`,
      headers: { ...h("rtw"), "Content-Type": type },
      body: cbor(
        m([
          ["test-write-vectors", m([])],
          ["read-vector", []],
        ]),
      ),
    });
  }
  for (const accept of [
    "*/*",
    "application/json",
    "text/html",
    "application/cbor;q=0",
    "application/json, application/cbor;q=0.5",
  ]) {
    out.push({
      name: `version accept ${accept}`,
      method: "GET",
      path: "/storage/v1/version",
      headers: { Accept: accept },
    });
    out.push({
      name: `shares accept ${accept}`,
      method: "GET",
      path: `/storage/v1/immutable/${SI}/shares`,
      headers: { Accept: accept },
    });
  }
  return out;
}

function rangeCases(): Case[] {
  const patch = (range: string | undefined, body: Uint8Array, shnum = 0): Case => ({
    name: `PATCH ${range} (${body.length} bytes) to share ${shnum}`,
    method: "PATCH",
    path: `/storage/v1/immutable/${SI}/${shnum}`,
    headers: {
      Accept: "application/cbor",
      "X-Tahoe-Authorization": SECRETS.upload!,
      ...(range === undefined ? {} : { "Content-Range": range }),
    },
    body,
  });
  const out: Case[] = [
    patch(undefined, Buffer.alloc(4)),
    patch("bytes */100", Buffer.alloc(4)),
    patch("bytes 0-3", Buffer.alloc(4)),
    patch("items 0-3/*", Buffer.alloc(4)),
    patch("bytes 3-0/*", Buffer.alloc(4)),
    patch("bytes -1-2/*", Buffer.alloc(4)),
    patch("bytes 0-99999999999999999999/*", Buffer.alloc(4)),
    patch("bytes 9007199254740990-9007199254740993/*", Buffer.alloc(4)),
    patch("bytes 98-101/*", Buffer.alloc(4)), // past the 100-byte allocation
    patch("bytes 100-100/*", Buffer.alloc(1)),
    patch("bytes 0-9/*", Buffer.alloc(4)), // body shorter than the range
    patch("bytes 0-1/*", Buffer.alloc(4)), // body longer than the range
    patch("bytes 0-0/*", Buffer.alloc(0)),
    patch("bytes 10-19/*", Buffer.alloc(10, 0xee)), // overlaps the 0x11 bytes written in setup
    patch("bytes 15-16/*", Buffer.alloc(2, 0)),
    patch("bytes 0-3/*", Buffer.alloc(4), 5), // share never allocated
    patch("bytes 0-3/*", Buffer.alloc(4), 255),
    patch("bytes 0,3/*", Buffer.alloc(4)),
    patch("bytes 0-3/*, bytes 4-7/*", Buffer.alloc(8)),
    patch(" bytes 0 - 3 /*", Buffer.alloc(4)),
  ];
  for (const range of [
    "bytes=5-",
    "bytes=-5",
    "bytes=0-1,3-4",
    "items=0-1",
    "bytes=9-3",
    "bytes=a-b",
    "bytes=0-99999999999999999999",
    "bytes 0-4",
    "=0-4",
  ]) {
    out.push({
      name: `read ${range}`,
      method: "GET",
      path: `/storage/v1/immutable/${SI}/1`,
      headers: { Range: range },
    });
    out.push({
      name: `mutable read ${range}`,
      method: "GET",
      path: `/storage/v1/mutable/${MUT}/0`,
      headers: { Range: range },
    });
  }
  out.push({
    name: "rtw with the wrong write enabler",
    method: "POST",
    path: `/storage/v1/mutable/${MUT}/read-test-write`,
    headers: {
      ...CBOR_HEADERS,
      "X-Tahoe-Authorization": [secretHeader("write-enabler", Buffer.alloc(32, 8)), ...SECRETS.lease!],
    },
    body: rtwBody({ 0: { write: [[0, Buffer.from("evil")]] } }),
  });
  out.push({
    name: "abort with the wrong secret",
    method: "PUT",
    path: `/storage/v1/immutable/${SI}/0/abort`,
    headers: { "X-Tahoe-Authorization": secretHeader("upload-secret", Buffer.alloc(20, 9)) },
  });
  out.push({
    name: "abort a complete share",
    method: "PUT",
    path: `/storage/v1/immutable/${SI}/1/abort`,
    headers: { "X-Tahoe-Authorization": SECRETS.upload! },
  });
  out.push({
    name: "lease on an empty index",
    method: "PUT",
    path: "/storage/v1/lease/aaaaaaaaaaaaaaaaaaaaaaaaaa",
    headers: { "X-Tahoe-Authorization": SECRETS.lease! },
  });
  out.push({ name: "unknown endpoint", method: "GET", path: "/storage/v1/immutable" });
  out.push({ name: "unknown method", method: "DELETE", path: `/storage/v1/immutable/${SI}/1` });
  out.push({ name: "storage v2", method: "GET", path: "/storage/v2/version" });
  return out;
}

/** Requests a well-behaved HTTP client library refuses to send, written on the socket. */
function rawCases(swissnum: string): string[] {
  const auth = `Authorization: ${authorizationValue(swissnum)}\r\n`;
  const req = (line: string, extra = "") => `${line}\r\nHost: x\r\n${auth}${extra}Connection: close\r\n\r\n`;
  return [
    req("GET /storage/v1/immutable/../../../../etc/passwd HTTP/1.1"),
    req(`GET /storage/v1/immutable/${SI}/../../../shares HTTP/1.1`),
    req(`GET /storage/v1/immutable/${SI}/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1`),
    req("GET /storage/v1/immutable/%2e%2e%2f%2e%2e/0 HTTP/1.1"),
    req("GET /storage/v1/immutable/%zz/0 HTTP/1.1"),
    req(`GET /storage/v1/mutable/${MUT}/%00 HTTP/1.1`),
    req(`GET /storage/v1/immutable/${SI}/0\\..\\..\\x HTTP/1.1`),
    req("GET //storage//v1//version HTTP/1.1"),
    `GET /storage/v1/version HTTP/1.1\r\nHost: x\r\nAuthorization: Tahoe-LAFS \xff\xfe\r\nConnection: close\r\n\r\n`,
    `GET /storage/v1/version HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorizationValue(swissnum)}\xff\r\nConnection: close\r\n\r\n`,
    req(
      `POST /storage/v1/immutable/${SI} HTTP/1.1`,
      `X-Tahoe-Authorization: ${SECRETS.allocate!.join("\r\nX-Tahoe-Authorization: ")}\r\nContent-Type: application/cbor\r\nContent-Length: 99999999999\r\n`,
    ),
    req(
      `POST /storage/v1/mutable/${MUT}/read-test-write HTTP/1.1`,
      `X-Tahoe-Authorization: ${SECRETS.rtw!.join("\r\nX-Tahoe-Authorization: ")}\r\nContent-Type: application/cbor\r\nContent-Length: 999999999999999\r\n`,
    ),
    req(
      `PATCH /storage/v1/immutable/${SI}/0 HTTP/1.1`,
      `X-Tahoe-Authorization: ${SECRETS.upload!.join("")}\r\nContent-Range: bytes 0-3/*\r\nContent-Length: 99999999999\r\n`,
    ),
    req(`PATCH /storage/v1/immutable/${SI}/0 HTTP/1.1`, "Content-Length: -1\r\n"),
    req(`POST /storage/v1/immutable/${SI} HTTP/1.1`, "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
    `GET /storage/v1/version HTTP/1.1\r\nHost: x\r\n${"X-Pad: y\r\n".repeat(3000)}${auth}Connection: close\r\n\r\n`,
    `GET /storage/v1/${"a".repeat(20000)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
    "BREW /storage/v1/version HTCPCP/1.0\r\n\r\n",
    "\x16\x03\x01garbage\r\n\r\n",
  ];
}

describe("malformed requests", () => {
  let t: TestServer;
  let before: Map<string, string>;
  const onlyIncoming = (path: string) => path.includes("/shares/incoming");

  beforeAll(async () => {
    t = await startTestServer();
    await placeSharesInEachState(t, SI, MUT);
    before = await snapshot(t.dir, onlyIncoming);
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers 500+ malformed requests with a 4xx, stays up, and writes nothing outside incoming/", async () => {
    const cases = [...authCases(), ...secretCases(), ...pathCases(), ...cborCases(), ...rangeCases()];
    const raw = rawCases(t.swissnum);
    expect(cases.length + raw.length).toBeGreaterThanOrEqual(500);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < cases.length; i += 8) {
      await Promise.all(
        cases.slice(i, i + 8).map(async (c) => {
          const noAuth = (c as { noAuth?: boolean }).noAuth === true;
          const r = await t.request(c.method, c.path, {
            headers: c.headers ?? {},
            ...(c.body ? { body: c.body } : {}),
            ...(noAuth ? { auth: false } : {}),
          });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (c.status !== undefined ? r.status !== c.status : r.status < 400 || r.status > 499)
            failures.push(`${c.name}: ${r.status} ${r.body.toString().slice(0, 120)}`);
          if (r.status >= 400 && r.headers["content-type"]?.includes("cbor"))
            failures.push(`${c.name}: CBOR error body`);
        }),
      );
    }
    for (const text of raw) {
      const r = await t.raw(text);
      // 0: the server closed the connection without a response (e.g. not TLS at all).
      if (r.status !== 0 && (r.status < 400 || r.status > 499)) {
        failures.push(`raw ${JSON.stringify(text.slice(0, 60))}: ${r.status}`);
      }
    }
    expect(failures).toEqual([]);
    // Every family of refusal is exercised.
    for (const status of [400, 401, 404, 405, 406, 409, 413, 415, 416])
      expect(statuses.get(status), `${status}`).toBeGreaterThan(0);

    const version = await t.request("GET", "/storage/v1/version", {
      headers: { Accept: "application/cbor" },
    });
    expect(version.status).toBe(200);
    expect(await snapshot(t.dir, onlyIncoming)).toEqual(before);
    // The upload in progress survived, and its bytes were not changed by the conflicting write.
    const finish = await t.request("PATCH", `/storage/v1/immutable/${SI}/0`, {
      headers: { "Content-Range": "bytes 0-99/*", "X-Tahoe-Authorization": SECRETS.upload! },
      body: Buffer.concat([Buffer.alloc(10), Buffer.alloc(10, 0x11), Buffer.alloc(80)]),
    });
    expect(finish.status).toBe(201);
  });
});
