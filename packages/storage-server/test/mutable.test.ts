import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blake2b, MUTABLE_DATA_OFFSET, MUTABLE_MAGIC_V2 } from "../src/index.js";
import { cancel, enabler, type MutableVector, renew, rtwBody } from "./gbs-requests.js";
import { CBOR_HEADERS, NODE_ID, secretHeader, startTestServer, type TestServer, uncbor } from "./helpers.js";

const SI = "3vsluq5cq3czj2wcq3lwhk3py4";

describe("mutable shares (read-test-write)", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.close();
  });

  const rtw = async (
    vectors: Record<number, MutableVector>,
    reads: [number, number][] = [],
    we: Uint8Array = enabler,
  ) => {
    const r = await t.request("POST", `/storage/v1/mutable/${SI}/read-test-write`, {
      headers: {
        ...CBOR_HEADERS,
        "X-Tahoe-Authorization": [
          secretHeader("write-enabler", we),
          secretHeader("lease-renew-secret", renew),
          secretHeader("lease-cancel-secret", cancel),
        ],
      },
      body: rtwBody(vectors, reads),
    });
    if (r.status !== 200) return { status: r.status, success: undefined, data: undefined };
    const m = uncbor(r.body) as Map<string, unknown>;
    const data = m.get("data") as Map<number, Uint8Array[]>;
    return {
      status: r.status,
      success: m.get("success") as boolean,
      data: Object.fromEntries([...data].map(([k, v]) => [k, v.map((b) => Buffer.from(b).toString())])),
    };
  };
  const read = (shnum: number, range: string) =>
    t.request("GET", `/storage/v1/mutable/${SI}/${shnum}`, { headers: { Range: range } });
  const list = async () => [
    ...(uncbor((await t.request("GET", `/storage/v1/mutable/${SI}/shares`)).body) as Set<number>),
  ];

  it("creates only if absent, tests, reads before writing, and overwrites", async () => {
    const absent: [number, number, Uint8Array][] = [[0, 1, new Uint8Array(0)]];
    let r = await rtw({
      0: { test: absent, write: [[0, Buffer.from("hello world")]] },
      1: { write: [[0, Buffer.from("one")]] },
    });
    expect(r).toEqual({ status: 200, success: true, data: {} });
    expect(await list()).toEqual([0, 1]);
    // The same create again fails its test and changes nothing, but still reads.
    r = await rtw({ 0: { test: absent, write: [[0, Buffer.from("XXXXX")]] } }, [[0, 5]]);
    expect(r).toEqual({ status: 200, success: false, data: { 0: ["hello"], 1: ["one"] } });
    r = await rtw({ 0: { test: [[0, 5, Buffer.from("hello")]], write: [[6, Buffer.from("there")]] } }, [
      [6, 100],
    ]);
    expect(r).toEqual({ status: 200, success: true, data: { 0: ["world"], 1: [""] } });
    const got = await read(0, "bytes=0-3999");
    expect(got.status).toBe(206);
    expect(got.headers["content-range"]).toBe("bytes 0-10/*");
    expect(got.body.toString()).toBe("hello there");
    expect((await read(0, "bytes=11-20")).status).toBe(204);
    expect((await read(5, "bytes=0-1")).status).toBe(404);
  });

  it("fills holes with zeros, truncates with new-length, and deletes with new-length 0", async () => {
    await rtw({ 0: { write: [[4, Buffer.from("ab")]] } });
    expect((await read(0, "bytes=0-100")).body).toEqual(Buffer.from([0, 0, 0, 0, 0x61, 0x62]));
    await rtw({ 0: { newLength: 5 } });
    expect((await read(0, "bytes=0-100")).body).toEqual(Buffer.from([0, 0, 0, 0, 0x61]));
    // new-length never grows a share; a later write past the end zero-fills again.
    await rtw({ 0: { newLength: 50 } });
    expect((await read(0, "bytes=0-100")).body.length).toBe(5);
    await rtw({ 0: { write: [[7, Buffer.from("z")]] } });
    expect((await read(0, "bytes=0-100")).body).toEqual(Buffer.from([0, 0, 0, 0, 0x61, 0, 0, 0x7a]));
    await rtw({ 0: { newLength: 0 } });
    expect(await list()).toEqual([]);
    expect(await readdir(join(t.storageDir, "shares"))).toEqual(["incoming"]);
  });

  it("refuses a wrong write enabler with 401 and changes nothing", async () => {
    await rtw({ 0: { write: [[0, Buffer.from("mine")]] } });
    const r = await rtw({ 0: { write: [[0, Buffer.from("evil")]] } }, [], Buffer.alloc(32, 9));
    expect(r.status).toBe(401);
    expect((await read(0, "bytes=0-3")).body.toString()).toBe("mine");
  });

  it("writes Tahoe's v2 mutable container with the write enabler, node id and a hashed lease", async () => {
    t.clock.now = 1_700_000_000_000;
    await rtw({ 2: { write: [[0, Buffer.from("data")]] } });
    const file = await readFile(join(t.storageDir, "shares", SI.slice(0, 2), SI, "2"));
    expect(file.subarray(0, 32)).toEqual(MUTABLE_MAGIC_V2);
    expect(file.subarray(0, 27).toString()).toBe("Tahoe mutable container v2\n");
    expect(file.subarray(32, 52)).toEqual(NODE_ID);
    expect(file.subarray(52, 84)).toEqual(enabler);
    expect(file.readBigUInt64BE(84)).toBe(4n);
    expect(file.readBigUInt64BE(92)).toBe(BigInt(MUTABLE_DATA_OFFSET + 4));
    const lease = file.subarray(100, 192);
    expect(lease.readUInt32BE(0)).toBe(1);
    expect(lease.readUInt32BE(4)).toBe(1_700_000_000 + 31 * 86400);
    expect(lease.subarray(8, 40)).toEqual(blake2b(renew));
    expect(lease.subarray(40, 72)).toEqual(blake2b(cancel));
    expect(lease.subarray(72, 92)).toEqual(NODE_ID);
    expect(file.subarray(MUTABLE_DATA_OFFSET, MUTABLE_DATA_OFFSET + 4).toString()).toBe("data");
    expect(file.readUInt32BE(MUTABLE_DATA_OFFSET + 4)).toBe(0);
    expect(file.length).toBe(MUTABLE_DATA_OFFSET + 4 + 4);
  });

  it("keeps more than four leases in the extra-lease area, which moves as the data grows", async () => {
    await rtw({ 0: { write: [[0, Buffer.from("x")]] } });
    for (let i = 10; i < 16; i++) {
      const r = await t.request("PUT", `/storage/v1/lease/${SI}`, {
        headers: {
          "X-Tahoe-Authorization": [
            secretHeader("lease-renew-secret", Buffer.alloc(32, i)),
            secretHeader("lease-cancel-secret", cancel),
          ],
        },
      });
      expect(r.status).toBe(204);
    }
    await rtw({ 0: { write: [[100, Buffer.from("y")]] } });
    const file = await readFile(join(t.storageDir, "shares", SI.slice(0, 2), SI, "0"));
    const extraAt = MUTABLE_DATA_OFFSET + 101;
    expect(file.readBigUInt64BE(92)).toBe(BigInt(extraAt));
    expect(file.readUInt32BE(extraAt)).toBe(3);
    expect(file.length).toBe(extraAt + 4 + 3 * 92);
    expect((await read(0, "bytes=0-200")).body).toEqual(
      Buffer.concat([Buffer.from("x"), Buffer.alloc(99), Buffer.from("y")]),
    );
  });

  it("refuses writes on a read-only server with 403 but still answers reads and tests", async () => {
    await rtw({ 0: { write: [[0, Buffer.from("kept")]] } });
    await t.restart({ readonly: true });
    expect((await rtw({ 0: { write: [[0, Buffer.from("nope")]] } })).status).toBe(403);
    expect(await rtw({ 0: { test: [[0, 4, Buffer.from("kept")]] } }, [[0, 4]])).toEqual({
      status: 200,
      success: true,
      data: { 0: ["kept"] },
    });
  });
});
