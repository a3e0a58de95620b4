import { once } from "node:events";
import { createServer as createTcpServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer } from "node:tls";
import { createTlsIdentity } from "@lafs/crypto";
import { encode as encodeCbor } from "cbor2";
import { afterEach, describe, expect, it } from "vitest";
import { type ConnectFunction, createStorageClient, type StorageClient, tcpConnect } from "../src/index.js";
import { decodeBody as decodeCbor } from "../src/messages.js";
import {
  type FakeServer,
  type Handler,
  headerValues,
  rejectsWith,
  reply,
  SWISSNUM,
  startFakeServer,
  versionBody,
} from "./helpers.js";

const SI = "i5nhq74zw2crkop634ra4hrvzm";
const CBOR = "application/cbor";
const renewSecret = new Uint8Array(32).fill(1);
const cancelSecret = new Uint8Array(32).fill(2);
const uploadSecret = new Uint8Array(20).fill(3);
const writeEnabler = new Uint8Array(32).fill(4);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(handler: Handler, opts: { timeoutMs?: number; connect?: ConnectFunction } = {}) {
  const server = await startFakeServer(handler);
  const client = createStorageClient({ nurl: server.nurl, ...opts });
  cleanups.push(
    () => server.close(),
    () => client.close(),
  );
  return { server, client };
}

describe("requests look like a Tahoe-LAFS client's", () => {
  it("sends the swissnum, Accept and no SNI; parses the version", async () => {
    const { server, client } = await setup((_req, res) => reply(res, 200, versionBody(5000), CBOR));
    const v = await client.version();
    expect(v).toEqual({
      maximumImmutableShareSize: 5000,
      maximumMutableShareSize: 69105000000000000,
      availableSpace: 5000,
      applicationVersion: "tahoe-lafs/1.20.0",
    });
    const seen = server.seen[0]!;
    expect(seen.method).toBe("GET");
    expect(seen.url).toBe("/storage/v1/version");
    expect(headerValues(seen, "authorization")).toEqual([
      `Tahoe-LAFS ${Buffer.from(SWISSNUM).toString("base64")}`,
    ]);
    expect(headerValues(seen, "accept")).toEqual([CBOR]);
    expect(headerValues(seen, "x-tahoe-authorization")).toEqual([]);
    expect(server.servernames).toEqual([false]);
    expect(client.server).toBe(`pb://${server.identity.spkiHash}@127.0.0.1:${server.port}/<secret>#v=1`);
  });

  it("allocates with the three secrets and a tag-258 set", async () => {
    const { server, client } = await setup((_req, res) =>
      reply(res, 200, encodeCbor({ "already-have": new Set([1]), allocated: new Set([2, 0]) }), CBOR),
    );
    const r = await client.allocate(SI, {
      shareNumbers: [0, 1, 2, 3],
      allocatedSize: 647,
      uploadSecret,
      renewSecret,
      cancelSecret,
    });
    expect(r).toEqual({ alreadyHave: [1], allocated: [0, 2], refused: [3] });
    const seen = server.seen[0]!;
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe(`/storage/v1/immutable/${SI}`);
    expect(headerValues(seen, "x-tahoe-authorization")).toEqual([
      `lease-renew-secret ${Buffer.from(renewSecret).toString("base64")}`,
      `lease-cancel-secret ${Buffer.from(cancelSecret).toString("base64")}`,
      `upload-secret ${Buffer.from(uploadSecret).toString("base64")}`,
    ]);
    expect(headerValues(seen, "content-type")).toEqual([CBOR]);
    expect(decodeCbor(seen.body)).toEqual(
      new Map<unknown, unknown>([
        ["share-numbers", new Set([0, 1, 2, 3])],
        ["allocated-size", 647],
      ]),
    );
  });

  it("writes with Content-Range bytes a-b/* and reports completion on 201", async () => {
    let calls = 0;
    const { server, client } = await setup((_req, res) => {
      calls++;
      if (calls === 1) reply(res, 200, encodeCbor({ required: [{ begin: 5, end: 10 }] }), CBOR);
      else reply(res, 201, encodeCbor({ required: [] }), CBOR);
    });
    const si = new Uint8Array(Buffer.from("475a787f99b6851539fedf220e1e35cb", "hex"));
    expect(await client.write(si, 3, 0, Buffer.from("hello"), uploadSecret)).toEqual({
      complete: false,
      required: [{ begin: 5, end: 10 }],
    });
    expect(await client.write(si, 3, 5, Buffer.from("world"), uploadSecret)).toEqual({
      complete: true,
      required: [],
    });
    const [a, b] = server.seen;
    expect(a!.method).toBe("PATCH");
    expect(a!.url).toBe(`/storage/v1/immutable/${SI}/3`);
    expect(headerValues(a!, "content-range")).toEqual(["bytes 0-4/*"]);
    expect(headerValues(b!, "content-range")).toEqual(["bytes 5-9/*"]);
    expect(headerValues(a!, "x-tahoe-authorization")).toEqual([
      `upload-secret ${Buffer.from(uploadSecret).toString("base64")}`,
    ]);
    expect(b!.body.toString()).toBe("world");
  });

  it("sends read-test-write, lease, abort, corrupt and share-list requests to the right paths", async () => {
    const { server, client } = await setup((req, res) => {
      if (req.url.endsWith("/read-test-write")) {
        reply(res, 200, encodeCbor({ success: true, data: new Map([[0, [new Uint8Array([9])]]]) }), CBOR);
      } else if (req.url.endsWith("/shares")) reply(res, 200, encodeCbor(new Set([4, 2])), CBOR);
      else if (req.url.startsWith("/storage/v1/lease/")) reply(res, 204);
      else reply(res, 200);
    });
    const rtw = await client.readTestWrite(
      SI,
      { writeEnabler, renewSecret, cancelSecret },
      {
        testWriteVectors: { 0: { test: [{ offset: 0, size: 1, specimen: new Uint8Array(0) }] } },
        readVector: [{ offset: 0, size: 1 }],
      },
    );
    expect(rtw).toEqual({ success: true, data: new Map([[0, [new Uint8Array([9])]]]) });
    expect(await client.listMutableShares(SI)).toEqual([2, 4]);
    expect(await client.listImmutableShares(SI)).toEqual([2, 4]);
    await client.addOrRenewLease(SI, { renewSecret, cancelSecret });
    await client.abort(SI, 1, uploadSecret);
    await client.adviseCorrupt("immutable", SI, 1, "bad hash");
    await client.adviseCorrupt("mutable", SI, 2, "bad signature");
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      `POST /storage/v1/mutable/${SI}/read-test-write`,
      `GET /storage/v1/mutable/${SI}/shares`,
      `GET /storage/v1/immutable/${SI}/shares`,
      `PUT /storage/v1/lease/${SI}`,
      `PUT /storage/v1/immutable/${SI}/1/abort`,
      `POST /storage/v1/immutable/${SI}/1/corrupt`,
      `POST /storage/v1/mutable/${SI}/2/corrupt`,
    ]);
    expect(headerValues(server.seen[0]!, "x-tahoe-authorization").map((h) => h.split(" ")[0])).toEqual([
      "lease-renew-secret",
      "lease-cancel-secret",
      "write-enabler",
    ]);
    expect(decodeCbor(server.seen[0]!.body)).toEqual(
      new Map<unknown, unknown>([
        [
          "test-write-vectors",
          new Map([
            [
              0,
              new Map<unknown, unknown>([
                [
                  "test",
                  [
                    new Map<unknown, unknown>([
                      ["offset", 0],
                      ["size", 1],
                      ["specimen", new Uint8Array(0)],
                    ]),
                  ],
                ],
                ["write", []],
                ["new-length", null],
              ]),
            ],
          ]),
        ],
        [
          "read-vector",
          [
            new Map([
              ["offset", 0],
              ["size", 1],
            ]),
          ],
        ],
      ]),
    );
    expect(decodeCbor(server.seen[5]!.body)).toEqual(new Map([["reason", "bad hash"]]));
    expect(headerValues(server.seen[3]!, "x-tahoe-authorization").map((h) => h.split(" ")[0])).toEqual([
      "lease-renew-secret",
      "lease-cancel-secret",
    ]);
  });
});

describe("reads", () => {
  const share = Buffer.from("0123456789abcdef");
  const shareServer: Handler = (req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(headerValues(req, "range")[0] ?? "");
    if (!m) return reply(res, 416);
    const first = Number(m[1]);
    const last = Math.min(Number(m[2]), share.length - 1);
    res.setHeader("content-type", "application/octet-stream");
    if (first > last) return reply(res, 204);
    res.setHeader("content-range", `bytes ${first}-${last}/*`);
    reply(res, 206, share.subarray(first, last + 1));
  };

  it("sends one explicit Range and accepts 206, a clipped 206 and 204", async () => {
    const { server, client } = await setup(shareServer);
    expect(Buffer.from(await client.read(SI, 0, 2, 4)).toString()).toBe("2345");
    expect(Buffer.from(await client.read(SI, 0, 10, 100)).toString()).toBe("abcdef");
    expect(await client.read(SI, 0, 16, 10)).toEqual(new Uint8Array(0));
    expect(Buffer.from(await client.readMutable(SI, 1, 0, 3)).toString()).toBe("012");
    expect(server.seen.map((s) => headerValues(s, "range")[0])).toEqual([
      "bytes=2-5",
      "bytes=10-109",
      "bytes=16-25",
      "bytes=0-2",
    ]);
    expect(server.seen[3]!.url).toBe(`/storage/v1/mutable/${SI}/1`);
    expect(await client.read(SI, 0, 3, 0)).toEqual(new Uint8Array(0));
    expect(server.seen).toHaveLength(4);
  });

  it("refuses a 206 whose body or Content-Range does not fit the request", async () => {
    const { client } = await setup((req, res) => {
      res.setHeader("content-type", "application/octet-stream");
      if (req.url.endsWith("/1")) res.setHeader("content-range", "bytes 0-9/*");
      else if (req.url.endsWith("/2")) res.setHeader("content-range", "bytes 1-2/*");
      else res.setHeader("content-range", "bytes 0-1/*");
      reply(res, 206, "abc");
    });
    const a = await rejectsWith(client.read(SI, 1, 0, 3), "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL");
    expect(a.message).toMatch(/not within the requested 0-2/);
    await rejectsWith(client.read(SI, 2, 0, 3), "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL");
    const c = await rejectsWith(client.read(SI, 3, 0, 3), "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL");
    expect(c.message).toMatch(/says 2 bytes but the body has 3/);
  });

  it("treats a 200 (Range ignored) as a protocol error, as Tahoe-LAFS does", async () => {
    const { client } = await setup((_req, res) => reply(res, 200, "whole share", "application/octet-stream"));
    await rejectsWith(client.read(SI, 0, 0, 4), "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL");
  });
});

describe("error statuses", () => {
  it("maps 401, 404, 409, 405, 500 and 406 to typed errors naming server and operation", async () => {
    const status: Record<string, number> = { "/0": 401, "/1": 404, "/2": 409, "/3": 500, "/4": 406 };
    const { server, client } = await setup((req, res) => {
      const key = Object.keys(status).find((k) => req.url.endsWith(k));
      reply(res, key ? status[key]! : 405, "Wrong Authorization header");
    });
    const e401 = await rejectsWith(
      client.write(SI, 0, 0, Buffer.from("x"), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED",
    );
    expect(e401.message).toContain(
      `storage server pb://${server.identity.spkiHash}@127.0.0.1:${server.port}/<secret>#v=1`,
    );
    expect(e401.message).toContain(`write immutable share ${SI}/0 at 0`);
    expect(e401.message).toContain("Wrong Authorization header");
    expect(e401.message).not.toContain(SWISSNUM);
    expect(e401.hint).toMatch(/upload secret/);
    expect(e401.status).toBe(401);
    const e404 = await rejectsWith(
      client.write(SI, 1, 0, Buffer.from("x"), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND",
    );
    expect(e404.hint).toMatch(/allocate it first/);
    const e409 = await rejectsWith(
      client.write(SI, 2, 0, Buffer.from("x"), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_CONFLICT",
    );
    expect(e409.hint).toMatch(/abort/);
    const e500 = await rejectsWith(client.read(SI, 3, 0, 1), "TAHOE_ERR_STORAGE_CLIENT_HTTP");
    expect(e500.status).toBe(500);
    await rejectsWith(client.read(SI, 4, 0, 1), "TAHOE_ERR_STORAGE_CLIENT_HTTP");
    const e405 = await rejectsWith(client.abort(SI, 7, uploadSecret), "TAHOE_ERR_STORAGE_CLIENT_HTTP");
    expect(e405.status).toBe(405);
  });

  it("a wrong swissnum is UNAUTHORIZED with a hint about the NURL", async () => {
    const { client } = await setup((_req, res) => reply(res, 401, "Wrong Authorization header"));
    const err = await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED");
    expect(err.hint).toMatch(/swissnum/);
  });

  it("accepts CBOR replies only as application/cbor, and only well-formed", async () => {
    const { client } = await setup((req, res) => {
      if (req.url.includes("mutable")) reply(res, 200, encodeCbor(new Set([1])), "application/json");
      else if (req.url.endsWith("/shares")) reply(res, 200, Buffer.from("ff", "hex"), CBOR);
      else reply(res, 200, encodeCbor([1, 2]), CBOR);
    });
    const a = await rejectsWith(client.listMutableShares(SI), "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL");
    expect(a.message).toMatch(/Content-Type 'application\/json'/);
    await rejectsWith(client.listImmutableShares(SI), "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL");
    const c = await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL");
    expect(c.message).toMatch(/not a CBOR map/);
  });

  it("reports SERVER_FULL when nothing is allocated and the server lacks the space", async () => {
    const { server, client } = await setup((req, res) => {
      if (req.url === "/storage/v1/version") reply(res, 200, versionBody(100), CBOR);
      else reply(res, 200, encodeCbor({ "already-have": new Set([]), allocated: new Set([]) }), CBOR);
    });
    const request = { shareNumbers: [0, 1], allocatedSize: 1000, uploadSecret, renewSecret, cancelSecret };
    const err = await rejectsWith(client.allocate(SI, request), "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL");
    expect(err.message).toMatch(/1000 bytes per share wanted, the server has room for 100/);
    expect(server.seen.map((s) => s.url)).toEqual([`/storage/v1/immutable/${SI}`, "/storage/v1/version"]);
    // With room enough, shares in neither list are another upload's: refused, not an error.
    const ok = await client.allocate(SI, { ...request, allocatedSize: 50 });
    expect(ok.refused).toEqual([0, 1]);
  });

  it("refuses bad arguments before sending anything", async () => {
    const { server, client } = await setup((_req, res) => reply(res, 500));
    await rejectsWith(client.listImmutableShares("not-a-storage-index"), "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT");
    await rejectsWith(client.read(new Uint8Array(15), 0, 0, 1), "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT");
    await rejectsWith(
      client.allocate(SI, {
        shareNumbers: [0],
        allocatedSize: 1,
        uploadSecret,
        renewSecret: new Uint8Array(31),
        cancelSecret,
      }),
      "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT",
    );
    await rejectsWith(
      client.write(SI, 0, 0, new Uint8Array(0), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT",
    );
    await rejectsWith(
      client.write(SI, 0, -1, new Uint8Array(1), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT",
    );
    await rejectsWith(client.adviseCorrupt("immutable", SI, 0, ""), "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT");
    await rejectsWith(
      client.readTestWrite(
        SI,
        { writeEnabler, renewSecret, cancelSecret },
        { testWriteVectors: { 300: {} } },
      ),
      "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT",
    );
    expect(server.seen).toEqual([]);
  });
});

describe("connections", () => {
  it("refuses a server with another key before sending a byte", async () => {
    const server = await startFakeServer((_req, res) => reply(res, 200, versionBody(1), CBOR));
    cleanups.push(() => server.close());
    const other = createTlsIdentity();
    const client = createStorageClient({
      nurl: server.nurl.replace(server.identity.spkiHash, other.spkiHash),
    });
    cleanups.push(() => client.close());
    const err = await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_WRONG_PIN");
    expect(err.message).toContain(server.identity.spkiHash);
    expect(err.message).toContain(other.spkiHash);
    expect(err.message).not.toContain(SWISSNUM);
    // The client connected and saw the key, but no HTTP request reached the server.
    expect(server.connections()).toBeGreaterThan(0);
    expect(server.seen).toEqual([]);
  });

  it("writes no application byte on a TLS connection to a server with another key", async () => {
    const identity = createTlsIdentity();
    const received: Buffer[] = [];
    const tls = createTlsServer({ key: identity.keyPem, cert: identity.certPem }, (socket) => {
      socket.on("data", (d: Buffer) => received.push(d));
      socket.on("error", () => {});
    });
    tls.listen(0, "127.0.0.1");
    await once(tls, "listening");
    const port = (tls.address() as { port: number }).port;
    cleanups.push(async () => {
      tls.close();
    });
    const client = createStorageClient({
      nurl: `pb://${createTlsIdentity().spkiHash}@127.0.0.1:${port}/${SWISSNUM}#v=1`,
    });
    cleanups.push(() => client.close());
    await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_WRONG_PIN");
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(received).length).toBe(0);
  });

  it("reports an unreachable server", async () => {
    const tcp = createTcpServer();
    tcp.listen(0, "127.0.0.1");
    await once(tcp, "listening");
    const port = (tcp.address() as { port: number }).port;
    tcp.close();
    await once(tcp, "close");
    const client = createStorageClient({
      nurl: `pb://${createTlsIdentity().spkiHash}@127.0.0.1:${port}/${SWISSNUM}#v=1`,
    });
    cleanups.push(() => client.close());
    const err = await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE");
    expect(err.message).toContain(`tcp:127.0.0.1:${port}`);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it("gets its sockets from the caller's connect function, and tries the next hint", async () => {
    const server = await startFakeServer((_req, res) => reply(res, 200, versionBody(1), CBOR));
    cleanups.push(() => server.close());
    const asked: string[] = [];
    const connect: ConnectFunction = (hint, signal) => {
      asked.push(`${hint.kind}:${hint.host}:${hint.port}`);
      if (hint.kind === "tor") return Promise.reject(new Error("no Tor here"));
      return tcpConnect(hint, signal);
    };
    const onion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";
    const client = createStorageClient({
      nurl: `pb://${server.identity.spkiHash}@tor:${onion}:80,tcp:127.0.0.1:${server.port}/${SWISSNUM}#v=1`,
      connect,
    });
    cleanups.push(() => client.close());
    await client.version();
    expect(asked).toEqual([`tor:${onion}:80`, `tcp:127.0.0.1:${server.port}`]);
  });

  it("the default connect function refuses tor hints instead of dialing them", async () => {
    const onion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";
    const client = createStorageClient({
      nurl: `pb+tor://${createTlsIdentity().spkiHash}@${onion}:80/${SWISSNUM}#v=1`,
    });
    cleanups.push(() => client.close());
    const err = await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE");
    expect(err.message).toMatch(/only dials tcp hints, not tor/);
  });

  it("times out a server that never answers, and a TCP peer that never does TLS", async () => {
    const { client } = await setup(() => {}, { timeoutMs: 300 });
    const err = await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT");
    expect(err.message).toMatch(/within 300 ms/);

    const sockets: Socket[] = [];
    const silent = createTcpServer((s) => sockets.push(s));
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const c2 = createStorageClient({
      nurl: `pb://${createTlsIdentity().spkiHash}@127.0.0.1:${port}/${SWISSNUM}#v=1`,
      timeoutMs: 300,
    });
    cleanups.push(() => c2.close());
    await rejectsWith(c2.version(), "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT");
  });

  it("gives a write or read over 1 MB as long again per megabyte, as Tahoe gives its 1 MB PATCHes 60 s", async () => {
    const { client } = await setup(() => {}, { timeoutMs: 300 });
    const small = await rejectsWith(
      client.write(SI, 0, 0, new Uint8Array(500_000), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
    );
    expect(small.message).toMatch(/within 300 ms/);
    const large = await rejectsWith(
      client.write(SI, 0, 0, [new Uint8Array(1_500_000), new Uint8Array(1_500_000)], uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
    );
    expect(large.message).toMatch(/within 900 ms/);
    const own = await rejectsWith(
      client.write(SI, 0, 0, new Uint8Array(3_000_000), uploadSecret, { timeoutMs: 100 }),
      "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT",
    );
    expect(own.message).toMatch(/within 100 ms/);
    const read = await rejectsWith(client.read(SI, 0, 0, 2_000_000), "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT");
    expect(read.message).toMatch(/within 600 ms/);
  });

  it("cancels a call when the caller's signal fires, and the per-call timeout wins over the default", async () => {
    const { client } = await setup(() => {});
    const controller = new AbortController();
    const pending = client.version({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await rejectsWith(pending, "TAHOE_ERR_STORAGE_CLIENT_ABORTED");
    await rejectsWith(client.version({ signal: AbortSignal.abort() }), "TAHOE_ERR_STORAGE_CLIENT_ABORTED");
    await rejectsWith(client.version({ timeoutMs: 100 }), "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT");
  });

  it("reuses connections, and refuses calls after close", async () => {
    const { server, client } = await setup((_req, res) => reply(res, 200, versionBody(1), CBOR));
    for (let i = 0; i < 10; i++) await client.version();
    // undici may open a second connection while the first finishes its reply; never one per call.
    expect(server.servernames.length).toBeLessThanOrEqual(2);
    await client.close();
    await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_CLOSED");
  });

  it("reports a connection the server drops mid-call as UNREACHABLE", async () => {
    const { client } = await setup((_req, res) => {
      res.socket?.destroy();
    });
    const err = await rejectsWith(client.version(), "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE");
    expect(err.message).toMatch(/connection failed/);
  });
});

// A type-level check that a Duplex-returning function fits ConnectFunction.
export const _typecheck: ConnectFunction = async (): Promise<Duplex> => {
  throw new Error("unused");
};
export type _unused = StorageClient | FakeServer;
