import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode, createTlsIdentity, type TlsIdentity } from "@lafs/crypto";
import {
  createStorageClient,
  isStorageClientError,
  type StorageClient,
  type StorageClientErrorCode,
} from "@lafs/storage-client";
import { createStorageServer, type StorageServer } from "@lafs/storage-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * @lafs/storage-client against @lafs/storage-server over real HTTPS on 127.0.0.1: every GBS
 * endpoint, and every error status the client can provoke.
 */

interface Running {
  server: StorageServer;
  nurl: string;
  dir: string;
}

const identity: TlsIdentity = createTlsIdentity({ commonName: "conformance" });
const swissnum = base32Encode(randomBytes(20));
const running: Running[] = [];
const clients: StorageClient[] = [];

async function startServer(options: { reservedSpace?: number; readonly?: boolean } = {}): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), "lafs-gbs-conformance-"));
  const server = createStorageServer({
    storageDir: join(dir, "storage"),
    swissnum,
    writeEnablerNodeId: randomBytes(20),
    applicationVersion: "lafs-ts/conformance",
    tls: { keyPem: identity.keyPem, certPem: identity.certPem },
    listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
    ...options,
  });
  await server.start();
  const { port } = server.addresses()[0]!;
  const r = { server, dir, nurl: `pb://${identity.spkiHash}@127.0.0.1:${port}/${swissnum}#v=1` };
  running.push(r);
  return r;
}

function clientFor(nurl: string): StorageClient {
  const c = createStorageClient({ nurl, timeoutMs: 10_000 });
  clients.push(c);
  return c;
}

async function rejectsWith(promise: Promise<unknown>, code: StorageClientErrorCode, status?: number) {
  try {
    await promise;
  } catch (err) {
    if (!isStorageClientError(err, code))
      throw new Error(`expected ${code}, got ${String(err)}`, { cause: err });
    if (status !== undefined) expect(err.status).toBe(status);
    return err;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

const secrets = () => ({ renewSecret: randomBytes(32), cancelSecret: randomBytes(32) });
const newSi = () => new Uint8Array(randomBytes(16));

let main: Running;
let client: StorageClient;

beforeAll(async () => {
  main = await startServer();
  client = clientFor(main.nurl);
});

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const r of running) {
    await r.server.stop();
    await rm(r.dir, { recursive: true, force: true });
  }
});

describe("GBS conformance: @lafs/storage-client against @lafs/storage-server", () => {
  it("GET /version", async () => {
    const v = await client.version();
    expect(v.applicationVersion).toBe("lafs-ts/conformance");
    expect(v.availableSpace).toBeGreaterThan(0);
    expect(v.maximumImmutableShareSize).toBeGreaterThan(0);
    expect(v.maximumMutableShareSize).toBeGreaterThan(0);
  });

  it("uploads an immutable share in pieces, lists it and reads it back with clipped ranges", async () => {
    const si = newSi();
    const share = randomBytes(5000);
    const uploadSecret = randomBytes(20);
    expect(await client.listImmutableShares(si)).toEqual([]);
    const alloc = await client.allocate(si, {
      shareNumbers: [0, 1],
      allocatedSize: share.length,
      uploadSecret,
      ...secrets(),
    });
    expect(alloc).toEqual({ alreadyHave: [], allocated: [0, 1], refused: [] });

    const w1 = await client.write(si, 0, 3000, share.subarray(3000), uploadSecret);
    expect(w1).toEqual({ complete: false, required: [{ begin: 0, end: 3000 }] });
    // A rewrite of identical bytes is allowed (Tahoe clients retry that way).
    await client.write(si, 0, 3000, share.subarray(3000, 3100), uploadSecret);
    const w2 = await client.write(si, 0, 0, share.subarray(0, 1000), uploadSecret);
    expect(w2.required).toEqual([{ begin: 1000, end: 3000 }]);
    // Unfinished shares are invisible.
    expect(await client.listImmutableShares(si)).toEqual([]);
    await rejectsWith(client.read(si, 0, 0, 10), "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND", 404);
    const w3 = await client.write(si, 0, 1000, share.subarray(1000, 3000), uploadSecret);
    expect(w3).toEqual({ complete: true, required: [] });

    expect(await client.listImmutableShares(si)).toEqual([0]);
    expect(Buffer.from(await client.read(si, 0, 0, share.length))).toEqual(share);
    expect(Buffer.from(await client.read(si, 0, 4990, 100))).toEqual(share.subarray(4990));
    expect(await client.read(si, 0, 5000, 10)).toEqual(new Uint8Array(0));

    const again = await client.allocate(si, {
      shareNumbers: [0, 1, 2],
      allocatedSize: share.length,
      uploadSecret: randomBytes(20),
      ...secrets(),
    });
    // 0 is complete; 1 is another upload's, in progress; 2 is new.
    expect(again).toEqual({ alreadyHave: [0], allocated: [2], refused: [1] });
  });

  it("maps write errors: wrong upload secret 401, no upload 404, different bytes 409, past the end", async () => {
    const si = newSi();
    const uploadSecret = randomBytes(20);
    await client.allocate(si, { shareNumbers: [0], allocatedSize: 100, uploadSecret, ...secrets() });
    await client.write(si, 0, 0, Buffer.alloc(10, 1), uploadSecret);
    await rejectsWith(
      client.write(si, 0, 10, Buffer.alloc(10), randomBytes(20)),
      "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED",
      401,
    );
    await rejectsWith(
      client.write(si, 5, 0, Buffer.alloc(10), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND",
      404,
    );
    await rejectsWith(
      client.write(si, 0, 5, Buffer.alloc(10, 2), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_CONFLICT",
      409,
    );
    const past = await rejectsWith(
      client.write(si, 0, 95, Buffer.alloc(10), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_HTTP",
    );
    expect(past.status).toBeGreaterThanOrEqual(400);
  });

  it("aborts uploads: wrong secret 401, then abort, re-allocate, finish; complete share 405; none 404", async () => {
    const si = newSi();
    const uploadSecret = randomBytes(20);
    const lease = secrets();
    await client.allocate(si, { shareNumbers: [3], allocatedSize: 8, uploadSecret, ...lease });
    await client.write(si, 3, 0, Buffer.from("abcd"), uploadSecret);
    await rejectsWith(client.abort(si, 3, randomBytes(20)), "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED", 401);
    await client.abort(si, 3, uploadSecret);
    await rejectsWith(client.abort(si, 3, uploadSecret), "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND", 404);
    const second = randomBytes(20);
    const r = await client.allocate(si, {
      shareNumbers: [3],
      allocatedSize: 8,
      uploadSecret: second,
      ...lease,
    });
    expect(r.allocated).toEqual([3]);
    expect((await client.write(si, 3, 0, Buffer.from("12345678"), second)).complete).toBe(true);
    await rejectsWith(client.abort(si, 3, second), "TAHOE_ERR_STORAGE_CLIENT_HTTP", 405);
    expect(Buffer.from(await client.read(si, 3, 0, 8)).toString()).toBe("12345678");
  });

  it("adds and renews leases (204), 404 for a storage index without shares", async () => {
    const si = newSi();
    const uploadSecret = randomBytes(20);
    await client.allocate(si, { shareNumbers: [0], allocatedSize: 4, uploadSecret, ...secrets() });
    await rejectsWith(client.addOrRenewLease(si, secrets()), "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND", 404);
    await client.write(si, 0, 0, Buffer.from("data"), uploadSecret);
    await client.addOrRenewLease(si, secrets());
    await client.addOrRenewLease(si, secrets());
  });

  it("takes corruption advice for existing shares, 404 otherwise", async () => {
    const si = newSi();
    const uploadSecret = randomBytes(20);
    await client.allocate(si, { shareNumbers: [1], allocatedSize: 4, uploadSecret, ...secrets() });
    await client.write(si, 1, 0, Buffer.from("data"), uploadSecret);
    await client.adviseCorrupt("immutable", si, 1, "block hash mismatch in segment 0");
    await rejectsWith(
      client.adviseCorrupt("immutable", si, 2, "x"),
      "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND",
      404,
    );
    await rejectsWith(client.adviseCorrupt("mutable", si, 1, "x"), "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND", 404);
  });

  it("mutable shares: create if absent, test-and-set, read vectors, wrong write enabler, delete", async () => {
    const si = newSi();
    const mutable = { writeEnabler: randomBytes(32), ...secrets() };
    const create = await client.readTestWrite(si, mutable, {
      testWriteVectors: new Map([
        [
          0,
          {
            test: [{ offset: 0, size: 1, specimen: new Uint8Array(0) }],
            write: [{ offset: 0, data: Buffer.from("version-1") }],
          },
        ],
        [1, { write: [{ offset: 0, data: Buffer.from("version-1") }] }],
      ]),
      readVector: [{ offset: 0, size: 7 }],
    });
    expect(create).toEqual({ success: true, data: new Map() });
    expect(await client.listMutableShares(si)).toEqual([0, 1]);
    expect(Buffer.from(await client.readMutable(si, 0, 0, 100)).toString()).toBe("version-1");
    expect(await client.readMutable(si, 0, 9, 5)).toEqual(new Uint8Array(0));

    const failed = await client.readTestWrite(si, mutable, {
      testWriteVectors: {
        0: {
          test: [{ offset: 0, size: 9, specimen: Buffer.from("version-X") }],
          write: [{ offset: 0, data: Buffer.from("nope") }],
        },
      },
      readVector: [{ offset: 8, size: 1 }],
    });
    expect(failed.success).toBe(false);
    expect(failed.data).toEqual(
      new Map([
        [0, [new Uint8Array(Buffer.from("1"))]],
        [1, [new Uint8Array(Buffer.from("1"))]],
      ]),
    );
    expect(Buffer.from(await client.readMutable(si, 0, 0, 100)).toString()).toBe("version-1");

    const swapped = await client.readTestWrite(si, mutable, {
      testWriteVectors: {
        0: {
          test: [{ offset: 0, size: 9, specimen: Buffer.from("version-1") }],
          write: [{ offset: 8, data: Buffer.from("2") }],
        },
      },
    });
    expect(swapped.success).toBe(true);
    expect(Buffer.from(await client.readMutable(si, 0, 0, 100)).toString()).toBe("version-2");

    await rejectsWith(
      client.readTestWrite(
        si,
        { ...mutable, writeEnabler: randomBytes(32) },
        { testWriteVectors: { 0: { write: [{ offset: 0, data: Buffer.from("evil") }] } } },
      ),
      "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED",
      401,
    );
    await client.addOrRenewLease(si, secrets());
    await client.adviseCorrupt("mutable", si, 1, "bad signature");

    const deleted = await client.readTestWrite(si, mutable, { testWriteVectors: { 1: { newLength: 0 } } });
    expect(deleted.success).toBe(true);
    expect(await client.listMutableShares(si)).toEqual([0]);
    await rejectsWith(client.readMutable(si, 1, 0, 1), "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND", 404);
  });

  it("refuses a wrong swissnum (401) and a wrong key pin", async () => {
    const wrongSwiss = clientFor(main.nurl.replace(swissnum, base32Encode(randomBytes(20))));
    await rejectsWith(wrongSwiss.version(), "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED", 401);
    const wrongPin = clientFor(main.nurl.replace(identity.spkiHash, createTlsIdentity().spkiHash));
    await rejectsWith(wrongPin.version(), "TAHOE_ERR_STORAGE_CLIENT_WRONG_PIN");
  });

  it("reports SERVER_FULL when reserved space leaves no room", async () => {
    const full = await startServer({ reservedSpace: Number.MAX_SAFE_INTEGER });
    const c = clientFor(full.nurl);
    const err = await rejectsWith(
      c.allocate(newSi(), {
        shareNumbers: [0, 1],
        allocatedSize: 1000,
        uploadSecret: randomBytes(20),
        ...secrets(),
      }),
      "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL",
    );
    expect(err.message).toContain("1000 bytes per share wanted");
    // An empty share set is legal: Tahoe renews leases on full servers that way.
    expect(
      await c.allocate(newSi(), {
        shareNumbers: [],
        allocatedSize: 1000,
        uploadSecret: randomBytes(20),
        ...secrets(),
      }),
    ).toEqual({ alreadyHave: [], allocated: [], refused: [] });
  });

  it("cancels and times out calls against the real server", async () => {
    await rejectsWith(client.version({ signal: AbortSignal.abort() }), "TAHOE_ERR_STORAGE_CLIENT_ABORTED");
    await rejectsWith(client.version({ timeoutMs: 0 }), "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT");
  });
});
