import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  authorizationValue,
  blake2b,
  IMMUTABLE_HEADER_SIZE,
  IMMUTABLE_LEASE_SIZE,
  UPLOAD_IDLE_TIMEOUT_MS,
} from "../src/index.js";
import { PATCH_WRITE_BATCH } from "../src/plugin.js";
import { cancel, gbs, renew } from "./gbs-requests.js";
import { CBOR_HEADERS, cbor, secretHeader, startTestServer, type TestServer, uncbor } from "./helpers.js";

const SI = "6dnr6lbq6l7dxjr4bcgyzev7rq";

describe("immutable shares", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.close();
  });

  const allocate = (shares: number[], size: number, upload: Uint8Array, si = SI) =>
    gbs(t).allocate(si, shares, size, upload);
  const patch = (shnum: number, first: number, data: Uint8Array, upload: Uint8Array, si = SI) =>
    gbs(t).patch(si, shnum, first, data, upload);
  const read = (shnum: number, range?: string, si = SI) =>
    t.request("GET", `/storage/v1/immutable/${si}/${shnum}`, { headers: range ? { Range: range } : {} });
  const list = async (si = SI) => {
    const r = await t.request("GET", `/storage/v1/immutable/${si}/shares`, {
      headers: { Accept: "application/cbor" },
    });
    expect(r.status).toBe(200);
    expect(r.body[0]).toBe(0xd9); // tag 258
    return [...(uncbor(r.body) as Set<number>)];
  };

  it("allocates, takes chunks out of order and repeated, completes with 201, reads back by range", async () => {
    const upload = randomBytes(20);
    const share = randomBytes(1000);
    const a = await allocate([0, 1], share.length, upload);
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("application/cbor");
    const body = uncbor(a.body) as Map<string, Set<number>>;
    expect([...body.get("already-have")!]).toEqual([]);
    expect([...body.get("allocated")!]).toEqual([0, 1]);

    let r = await patch(0, 500, share.subarray(500, 800), upload);
    expect(r.status).toBe(200);
    const required = (uncbor(r.body) as Map<string, Map<string, number>[]>).get("required")!;
    expect(required.map((m) => [m.get("begin"), m.get("end")])).toEqual([
      [0, 500],
      [800, 1000],
    ]);
    // A repeat of the same bytes is fine; an overlap must match.
    expect((await patch(0, 500, share.subarray(500, 800), upload)).status).toBe(200);
    const bad = Buffer.from(share.subarray(700, 900));
    bad[50] = bad[50]! ^ 1;
    expect((await patch(0, 700, bad, upload)).status).toBe(409);
    expect(await list()).toEqual([]);
    expect((await read(0, "bytes=0-10")).status).toBe(404);

    expect((await patch(0, 0, share.subarray(0, 600), upload)).status).toBe(200);
    r = await patch(0, 600, share.subarray(600), upload);
    expect(r.status).toBe(201);
    expect(uncbor(r.body)).toEqual(new Map([["required", []]]));
    expect(await list()).toEqual([0]);

    r = await read(0, "bytes=10-19");
    expect(r.status).toBe(206);
    expect(r.headers["content-type"]).toBe("application/octet-stream");
    expect(r.headers["content-range"]).toBe("bytes 10-19/*");
    expect(r.body).toEqual(share.subarray(10, 20));
    r = await read(0, "bytes=990-5000");
    expect(r.status).toBe(206);
    expect(r.headers["content-range"]).toBe("bytes 990-999/*");
    expect(r.body).toEqual(share.subarray(990));
    r = await read(0, "bytes=1000-1005");
    expect(r.status).toBe(204);
    expect(r.headers["content-type"]).toBe("application/octet-stream");
    expect(r.body.length).toBe(0);
    r = await read(0);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(share);
    for (const bad of ["bytes=5-", "bytes=-5", "bytes=0-1,3-4", "items=0-1", "bytes=9-3"]) {
      expect((await read(0, bad)).status, bad).toBe(416);
    }

    // The container on disk: Tahoe's v2 header, the data, then the lease with hashed secrets.
    const file = await readFile(join(t.storageDir, "shares", SI.slice(0, 2), SI, "0"));
    expect(file.length).toBe(IMMUTABLE_HEADER_SIZE + 1000 + IMMUTABLE_LEASE_SIZE);
    expect(file.readUInt32BE(0)).toBe(2);
    expect(file.readUInt32BE(4)).toBe(1000);
    expect(file.readUInt32BE(8)).toBe(1);
    expect(file.subarray(12, 1012)).toEqual(share);
    const lease = file.subarray(1012);
    expect(lease.readUInt32BE(0)).toBe(0);
    expect(lease.subarray(4, 36)).toEqual(blake2b(renew));
    expect(lease.subarray(36, 68)).toEqual(blake2b(cancel));
    expect(lease.readUInt32BE(68)).toBe(Math.floor(t.clock.now / 1000) + 31 * 86400);
    // Share 1 is still incoming, and kept apart.
    expect(await readdir(join(t.storageDir, "shares", "incoming", SI.slice(0, 2), SI))).toEqual(["1"]);
  });

  it("answers a repeated allocate with already-have and leaves in-progress shares out of both sets", async () => {
    const upload = randomBytes(20);
    await allocate([0, 1], 10, upload);
    expect((await patch(0, 0, Buffer.alloc(10, 9), upload)).status).toBe(201);
    const again = uncbor((await allocate([1, 2], 10, randomBytes(20))).body) as Map<string, Set<number>>;
    expect([...again.get("already-have")!]).toEqual([0]);
    expect([...again.get("allocated")!]).toEqual([2]);
    // The original secret still writes share 1; another does not.
    expect((await patch(1, 0, Buffer.alloc(10, 9), randomBytes(20))).status).toBe(401);
    expect((await patch(1, 0, Buffer.alloc(10, 9), upload)).status).toBe(201);
  });

  it("checks the Content-Range against the allocation and the body length", async () => {
    const upload = randomBytes(20);
    await allocate([3], 100, upload);
    expect((await patch(3, 95, Buffer.alloc(10), upload)).status).toBe(416);
    const headers = {
      "X-Tahoe-Authorization": secretHeader("upload-secret", upload),
      Accept: "application/cbor",
    };
    const url = `/storage/v1/immutable/${SI}/3`;
    expect((await t.request("PATCH", url, { headers, body: Buffer.alloc(5) })).status).toBe(416);
    for (const range of ["bytes 0-9/*", "bytes 0-3/*"]) {
      const r = await t.request("PATCH", url, {
        headers: { ...headers, "Content-Range": range },
        body: Buffer.alloc(5),
      });
      expect(r.status, range).toBe(400);
    }
    expect((await patch(4, 0, Buffer.alloc(5), upload)).status).toBe(404);
  });

  it("aborts: 401 with the wrong secret, 200 and re-allocatable with the right one, 405 once complete, 404 otherwise", async () => {
    const upload = randomBytes(20);
    await allocate([0, 1], 10, upload);
    const abort = (shnum: number, secret: Uint8Array) =>
      t.request("PUT", `/storage/v1/immutable/${SI}/${shnum}/abort`, {
        headers: { "X-Tahoe-Authorization": secretHeader("upload-secret", secret) },
      });
    expect((await abort(0, randomBytes(20))).status).toBe(401);
    await patch(0, 0, Buffer.alloc(4), upload);
    expect((await abort(0, upload)).status).toBe(200);
    expect(await readdir(join(t.storageDir, "shares", "incoming", SI.slice(0, 2), SI))).toEqual(["1"]);
    expect((await patch(0, 0, Buffer.alloc(4), upload)).status).toBe(404);
    const again = uncbor((await allocate([0], 10, upload)).body) as Map<string, Set<number>>;
    expect([...again.get("allocated")!]).toEqual([0]);
    expect((await patch(1, 0, Buffer.alloc(10), upload)).status).toBe(201);
    expect((await abort(1, upload)).status).toBe(405);
    expect((await abort(7, upload)).status).toBe(404);
  });

  it("expires uploads idle for 30 minutes and frees their space", async () => {
    const upload = randomBytes(20);
    await allocate([0], 10, upload);
    await patch(0, 0, Buffer.alloc(4), upload);
    t.clock.now += UPLOAD_IDLE_TIMEOUT_MS - 1000;
    expect((await patch(0, 4, Buffer.alloc(2), upload)).status).toBe(200);
    t.clock.now += UPLOAD_IDLE_TIMEOUT_MS;
    expect((await patch(0, 6, Buffer.alloc(4), upload)).status).toBe(404);
    expect(await readdir(join(t.storageDir, "shares", "incoming"))).toEqual([]);
    const again = uncbor((await allocate([0], 10, randomBytes(20))).body) as Map<string, Set<number>>;
    expect([...again.get("allocated")!]).toEqual([0]);
  });

  it("never shows a half-written share after a restart, and clears incoming/", async () => {
    const upload = randomBytes(20);
    await allocate([0], 100, upload);
    await patch(0, 0, Buffer.alloc(99, 1), upload);
    await t.restart();
    expect(await list()).toEqual([]);
    expect((await read(0, "bytes=0-10")).status).toBe(404);
    expect(await readdir(join(t.storageDir, "shares", "incoming"))).toEqual([]);
    expect((await patch(0, 99, Buffer.alloc(1), upload)).status).toBe(404);
  });

  it("renews leases with PUT /lease and adds a lease for a new renew secret", async () => {
    const upload = randomBytes(20);
    await allocate([0], 10, upload);
    await patch(0, 0, Buffer.alloc(10), upload);
    const lease = (r: Uint8Array, c: Uint8Array, si = SI) =>
      t.request("PUT", `/storage/v1/lease/${si}`, {
        headers: {
          "X-Tahoe-Authorization": [
            secretHeader("lease-renew-secret", r),
            secretHeader("lease-cancel-secret", c),
          ],
        },
      });
    t.clock.now += 86_400_000;
    expect((await lease(renew, cancel)).status).toBe(204);
    const path = join(t.storageDir, "shares", SI.slice(0, 2), SI, "0");
    let file = await readFile(path);
    expect(file.readUInt32BE(8)).toBe(1);
    expect(file.readUInt32BE(file.length - 4)).toBe(Math.floor(t.clock.now / 1000) + 31 * 86400);
    const other = Buffer.alloc(32, 5);
    expect((await lease(other, other)).status).toBe(204);
    file = await readFile(path);
    expect(file.readUInt32BE(8)).toBe(2);
    expect(file.length).toBe(12 + 10 + 2 * 72);
    expect(file.readUInt32BE(12 + 10 + 72)).toBe(1); // owner 1 for add-lease
    expect((await lease(renew, cancel, "aaaaaaaaaaaaaaaaaaaaaaaaaa")).status).toBe(404);
  });

  it("honours reserved space and readonly, and reports them in /version", async () => {
    await t.restart({ reservedSpace: Number.MAX_SAFE_INTEGER });
    const version = async () => {
      const r = await t.request("GET", "/storage/v1/version", { headers: { Accept: "application/cbor" } });
      const outer = uncbor(r.body) as Map<Uint8Array, unknown>;
      const inner = [...outer.values()][0] as Map<Uint8Array, number>;
      return Object.fromEntries([...inner].map(([k, v]) => [Buffer.from(k).toString(), v]));
    };
    expect((await version())["available-space"]).toBe(0);
    let a = uncbor((await allocate([0], 10, randomBytes(20))).body) as Map<string, Set<number>>;
    expect([...a.get("allocated")!]).toEqual([]);
    await t.restart({ readonly: true, reservedSpace: 0 });
    expect((await version())["maximum-immutable-share-size"]).toBe(0);
    a = uncbor((await allocate([0], 1, randomBytes(20))).body) as Map<string, Set<number>>;
    expect([...a.get("allocated")!]).toEqual([]);
    await t.restart({ readonly: false, reservedSpace: 0 });
    const free = (await version())["available-space"]!;
    expect(free).toBeGreaterThan(1000);
    // Outstanding allocations count against free space, and one upload secret may take at
    // most half of what is free to it: 0.3 of the space fits once, not twice.
    a = uncbor((await allocate([0, 1], Math.floor(free * 0.3), randomBytes(20))).body) as Map<
      string,
      Set<number>
    >;
    expect([...a.get("allocated")!]).toEqual([0]);
    a = uncbor((await allocate([1, 2], Math.floor(free * 0.3), randomBytes(20))).body) as Map<
      string,
      Set<number>
    >;
    expect([...a.get("allocated")!]).toEqual([1]);
    // 0.4 of the space is left and a new secret may take half of it: 0.3 does not fit.
    a = uncbor((await allocate([2], Math.floor(free * 0.3), randomBytes(20))).body) as Map<
      string,
      Set<number>
    >;
    expect([...a.get("allocated")!]).toEqual([]);
  });

  it("counts nothing from a PATCH cut short, though some of its bytes reached the file", async () => {
    const upload = randomBytes(20);
    const size = PATCH_WRITE_BATCH + 512 * 1024;
    await allocate([0], size, upload);
    // More than one write batch arrives before the client goes away.
    const head =
      `PATCH /storage/v1/immutable/${SI}/0 HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: ${authorizationValue(t.swissnum)}\r\n` +
      `X-Tahoe-Authorization: ${secretHeader("upload-secret", upload)}\r\n` +
      `Accept: application/cbor\r\nContent-Range: bytes 0-${size - 1}/*\r\nContent-Length: ${size}\r\n\r\n`;
    const r = await t.raw(
      Buffer.concat([Buffer.from(head, "latin1"), Buffer.alloc(PATCH_WRITE_BATCH + 256 * 1024, 0xaa)]),
    );
    // Node answers a body cut off by the client's end of stream with a bare 400, or not at all.
    expect([0, 400]).toContain(r.status);
    const incoming = join(t.storageDir, "shares", "incoming", SI.slice(0, 2), SI, "0");
    const firstBatch = async () =>
      (await readFile(incoming)).subarray(IMMUTABLE_HEADER_SIZE, IMMUTABLE_HEADER_SIZE + PATCH_WRITE_BATCH);
    for (let i = 0; i < 100 && !(await firstBatch()).equals(Buffer.alloc(PATCH_WRITE_BATCH, 0xaa)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await firstBatch()).equals(Buffer.alloc(PATCH_WRITE_BATCH, 0xaa))).toBe(true);
    const share = randomBytes(size);
    // Different bytes over the same range: no conflict, since none of it was counted as written.
    expect((await patch(0, 0, share, upload)).status).toBe(201);
    // Buffer.equals: toEqual walks a megabyte byte by byte.
    expect((await read(0)).body.equals(share)).toBe(true);
  });

  it("reads a share in one piece or streamed, and keeps reading right after its leases change", async () => {
    const upload = randomBytes(20);
    const mib = 1024 * 1024;
    const share = randomBytes(9 * mib + 5);
    await allocate([1], share.length, upload);
    for (let at = 0; at < share.length; at += mib) {
      const r = await patch(1, at, share.subarray(at, at + mib), upload);
      expect(r.status).toBe(at + mib >= share.length ? 201 : 200);
    }
    // Longer than one read buffer: streamed.
    let r = await read(1);
    expect(r.status).toBe(200);
    expect(r.headers["content-length"]).toBe(String(share.length));
    expect(r.body.equals(share)).toBe(true);
    expect((await read(1, "bytes=100-199")).body).toEqual(share.subarray(100, 200));
    // A second lease grows the file behind the open handle; the share data stays the same.
    const other = Buffer.alloc(32, 9);
    const lease = await t.request("PUT", `/storage/v1/lease/${SI}`, {
      headers: {
        "X-Tahoe-Authorization": [
          secretHeader("lease-renew-secret", other),
          secretHeader("lease-cancel-secret", other),
        ],
      },
    });
    expect(lease.status).toBe(204);
    r = await read(1, `bytes=${share.length - 10}-${share.length + 100}`);
    expect(r.status).toBe(206);
    expect(r.headers["content-range"]).toBe(`bytes ${share.length - 10}-${share.length - 1}/*`);
    expect(r.body).toEqual(share.subarray(share.length - 10));
    expect((await read(1, `bytes=${share.length}-${share.length + 5}`)).status).toBe(204);
  });

  it("answers many one-piece reads at once with the right bytes while each reply's buffer is freed once sent", async () => {
    const upload = randomBytes(20);
    const mib = 1024 * 1024;
    const share = randomBytes(4 * mib);
    await allocate([0], share.length, upload);
    for (let at = 0; at < share.length; at += mib) await patch(0, at, share.subarray(at, at + mib), upload);
    const ranges = Array.from({ length: 24 }, (_, i) => {
      const first = (i * 170_003) % (3 * mib);
      return [first, first + 512 * 1024 - 1 + (i % 3)] as const;
    });
    for (let round = 0; round < 2; round++) {
      const replies = await Promise.all(ranges.map(([first, last]) => read(0, `bytes=${first}-${last}`)));
      replies.forEach((r, i) => {
        const [first, last] = ranges[i]!;
        expect(r.status).toBe(206);
        expect(r.body.equals(share.subarray(first, last + 1))).toBe(true);
      });
    }
  });

  it("stores corruption advisories, 404 for an unknown share before reading the body", async () => {
    const upload = randomBytes(20);
    await allocate([2], 4, upload);
    await patch(2, 0, Buffer.alloc(4), upload);
    const advise = (shnum: number, body: Uint8Array) =>
      t.request("POST", `/storage/v1/immutable/${SI}/${shnum}/corrupt`, { headers: CBOR_HEADERS, body });
    expect((await advise(3, cbor(new Map([["reason", "x"]])))).status).toBe(404);
    expect((await advise(2, cbor(new Map([["reason", ""]])))).status).toBe(400);
    expect((await advise(2, cbor(new Map([["reason", "block hash mismatch"]])))).status).toBe(200);
    const files = await readdir(join(t.storageDir, "corruption-advisories"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`--${SI}-2$`));
    const text = await readFile(join(t.storageDir, "corruption-advisories", files[0]!), "utf8");
    expect(text).toContain("type: immutable\n");
    expect(text).toContain("block hash mismatch");
  });
});
