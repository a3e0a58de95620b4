import { afterEach, beforeEach, expect } from "vitest";
import type { StorageServerOptions } from "../src/index.js";
import {
  CBOR_HEADERS,
  cbor,
  type Response,
  secretHeader,
  startTestServer,
  type TestServer,
  uncbor,
} from "./helpers.js";

/** GBS requests as a Tahoe client sends them, for the tests of issue 15's storage defects. */
export const renew = Buffer.alloc(32, 1);
export const cancel = Buffer.alloc(32, 2);
/** An upload secret for tests that need only one. */
export const upload = Buffer.alloc(20, 3);
export const enabler = Buffer.alloc(32, 4);

export interface MutableVector {
  test?: [number, number, Uint8Array][];
  write?: [number, Uint8Array][];
  newLength?: number | null;
}

/** A read-test-write body: test-and-write vectors by share number, and the read vector. */
export function rtwBody(vectors: Record<number, MutableVector>, reads: [number, number][] = []): Uint8Array {
  return cbor(
    new Map<string, unknown>([
      [
        "test-write-vectors",
        new Map(
          Object.entries(vectors).map(([n, v]) => [
            Number(n),
            new Map<string, unknown>([
              [
                "test",
                (v.test ?? []).map(
                  ([offset, size, specimen]) =>
                    new Map<string, unknown>([
                      ["offset", offset],
                      ["size", size],
                      ["specimen", specimen],
                    ]),
                ),
              ],
              [
                "write",
                (v.write ?? []).map(
                  ([offset, data]) =>
                    new Map<string, unknown>([
                      ["offset", offset],
                      ["data", data],
                    ]),
                ),
              ],
              ["new-length", v.newLength ?? null],
            ]),
          ]),
        ),
      ],
      [
        "read-vector",
        reads.map(
          ([offset, size]) =>
            new Map([
              ["offset", offset],
              ["size", size],
            ]),
        ),
      ],
    ]),
  );
}

/** The requests, sent with `t.request` (a TestServer, or a server in another process). */
export function gbs(t: Pick<TestServer, "request">) {
  const allocate = (si: string, shares: number[], size: number, upload: Uint8Array) =>
    t.request("POST", `/storage/v1/immutable/${si}`, {
      headers: {
        ...CBOR_HEADERS,
        "X-Tahoe-Authorization": [
          secretHeader("lease-renew-secret", renew),
          secretHeader("lease-cancel-secret", cancel),
          secretHeader("upload-secret", upload),
        ],
      },
      body: cbor(
        new Map<string, unknown>([
          ["share-numbers", new Set(shares)],
          ["allocated-size", size],
        ]),
      ),
    });
  const allocated = async (r: Response) => {
    if (r.status !== 200) throw new Error(`allocate answered ${r.status}: ${r.body}`);
    return [...(uncbor(r.body) as Map<string, Set<number>>).get("allocated")!];
  };
  const patch = (si: string, shnum: number, first: number, data: Uint8Array, upload: Uint8Array) =>
    t.request("PATCH", `/storage/v1/immutable/${si}/${shnum}`, {
      headers: {
        Accept: "application/cbor",
        "Content-Range": `bytes ${first}-${first + data.length - 1}/*`,
        "X-Tahoe-Authorization": secretHeader("upload-secret", upload),
      },
      body: data,
    });
  const rtw = (si: string, vectors: Record<number, MutableVector>, reads: [number, number][] = []) =>
    t.request("POST", `/storage/v1/mutable/${si}/read-test-write`, {
      headers: {
        ...CBOR_HEADERS,
        "X-Tahoe-Authorization": [
          secretHeader("write-enabler", enabler),
          secretHeader("lease-renew-secret", renew),
          secretHeader("lease-cancel-secret", cancel),
        ],
      },
      body: rtwBody(vectors, reads),
    });
  const rtwReply = (r: Response) => {
    if (r.status !== 200) throw new Error(`read-test-write answered ${r.status}: ${r.body}`);
    const m = uncbor(r.body) as Map<string, unknown>;
    return { success: m.get("success") as boolean, data: m.get("data") as Map<number, Uint8Array[]> };
  };
  const list = async (si: string, kind: "immutable" | "mutable") => {
    const r = await t.request("GET", `/storage/v1/${kind}/${si}/shares`, {
      headers: { Accept: "application/cbor" },
    });
    if (r.status !== 200) throw new Error(`listing answered ${r.status}`);
    return [...(uncbor(r.body) as Set<number>)].sort((a, b) => a - b);
  };
  const read = (si: string, kind: "immutable" | "mutable", shnum: number, range?: string) =>
    t.request("GET", `/storage/v1/${kind}/${si}/${shnum}`, { headers: range ? { Range: range } : {} });
  const version = async () => {
    const r = await t.request("GET", "/storage/v1/version", { headers: { Accept: "application/cbor" } });
    const outer = uncbor(r.body) as Map<Uint8Array, unknown>;
    const inner = [...outer.values()][0] as Map<Uint8Array, number>;
    return Object.fromEntries([...inner].map(([k, v]) => [Buffer.from(k).toString(), Number(v)]));
  };
  return { allocate, allocated, patch, rtw, rtwBody, rtwReply, list, read, version };
}

export type Gbs = ReturnType<typeof gbs>;

/**
 * Well-formed requests that leave the server holding an upload in progress (share 0 of `si`,
 * 100 bytes, bytes 10..19 written), a complete share 1 of `si` (4 bytes) and a mutable share 0
 * of `mut`: what the malformed-request tests then try to damage.
 */
export async function placeSharesInEachState(t: Pick<TestServer, "request">, si: string, mut: string) {
  const g = gbs(t);
  expect((await g.allocate(si, [0], 100, upload)).status).toBe(200);
  expect((await g.allocate(si, [1], 4, upload)).status).toBe(200);
  expect((await g.patch(si, 0, 10, Buffer.alloc(10, 0x11), upload)).status).toBe(200);
  expect((await g.patch(si, 1, 0, Buffer.from("abcd"), upload)).status).toBe(201);
  expect((await g.rtw(mut, { 0: { write: [[0, Buffer.from("mutable!")]] } })).status).toBe(200);
}

/**
 * A fresh server for each test of the calling describe block, handed to `use` with its
 * requests, and closed after the test (even when it fails).
 */
export function serverPerTest(
  use: (t: TestServer, g: Gbs) => void,
  overrides: Partial<StorageServerOptions> = {},
): void {
  let running: TestServer | undefined;
  beforeEach(async () => {
    running = await startTestServer(overrides);
    use(running, gbs(running));
  });
  afterEach(async () => {
    const closing = running;
    running = undefined;
    await closing?.close();
  });
}
