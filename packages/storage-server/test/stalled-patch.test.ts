import { randomBytes } from "node:crypto";
import type { ClientRequest } from "node:http";
import https from "node:https";
import { describe, expect, it } from "vitest";
import { UNUSED_UPLOAD_TIMEOUT_MS } from "../src/immutable-store.js";
import { authorizationValue } from "../src/index.js";
import { cancel, enabler, type Gbs, renew, serverPerTest } from "./gbs-requests.js";
import { CBOR_HEADERS, collectResponse, type Response, secretHeader, type TestServer } from "./helpers.js";

// Issue 15, defect 14: a PATCH waiting for its body holds only its own byte range, not the
// share's lock, and a body that stops arriving fails after the idle timeout (408).
const SI = "vu7wf3mtubcqpvdqyuzbr2zboi";
const IDLE_MS = 600;

describe("request bodies that stall", () => {
  let t: TestServer;
  let g: Gbs;
  serverPerTest(
    (server, requests) => {
      t = server;
      g = requests;
    },
    { bodyIdleTimeoutMs: IDLE_MS },
  );

  /** Sends the headers and `sent` of the body's bytes, then nothing: a client that hung. */
  function stalledPatch(shnum: number, first: number, length: number, sent: Uint8Array, upload: Uint8Array) {
    return stalled("PATCH", `/storage/v1/immutable/${SI}/${shnum}`, sent, {
      Accept: "application/cbor",
      "Content-Length": String(length),
      "Content-Range": `bytes ${first}-${first + length - 1}/*`,
      "X-Tahoe-Authorization": secretHeader("upload-secret", upload),
    });
  }

  function stalled(
    method: string,
    path: string,
    sent: Uint8Array,
    headers: Record<string, string | string[]>,
  ) {
    let request: ClientRequest | undefined;
    const response = new Promise<Response>((resolve, reject) => {
      request = https.request(
        {
          host: "127.0.0.1",
          port: t.port,
          method,
          path,
          agent: new https.Agent({ rejectUnauthorized: false }),
          headers: { Authorization: authorizationValue(t.swissnum), ...headers },
        },
        (res) => collectResponse(res).then(resolve, reject),
      );
      request.on("error", reject);
      request.write(sent);
    });
    return {
      response,
      destroy: () => request?.destroy(),
      finish: (rest: Uint8Array) => request?.end(rest),
    };
  }

  it("lets a disjoint PATCH through, refuses an overlapping one with 409, and times the stalled one out", async () => {
    const upload = randomBytes(20);
    const data = randomBytes(2000);
    expect(await g.allocated(await g.allocate(SI, [0], data.length, upload))).toEqual([0]);
    const stalled = stalledPatch(0, 0, 1000, data.subarray(0, 100), upload);
    try {
      // Give the stalled request time to claim its range.
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      const disjoint = await g.patch(SI, 0, 1000, data.subarray(1000), upload);
      expect(disjoint.status).toBe(200);
      // It did not wait for the stalled body (the old server held the share's lock until then).
      expect(Date.now() - started).toBeLessThan(IDLE_MS);
      const overlapping = await g.patch(SI, 0, 500, data.subarray(500, 1500), upload);
      expect(overlapping.status).toBe(409);
      expect(overlapping.body.toString()).toContain("another PATCH is still sending");

      const timedOut = await stalled.response;
      expect(timedOut.status).toBe(408);
      expect(timedOut.body.toString()).toContain(`no body bytes arrived for ${IDLE_MS} ms`);
    } finally {
      stalled.destroy();
    }
    // The range is free again; the 100 bytes that did arrive were never counted as written.
    const done = await g.patch(SI, 0, 0, data.subarray(0, 1000), upload);
    expect(done.status).toBe(201);
    expect((await g.read(SI, "immutable", 0)).body).toEqual(data);
  });

  it("never expires an upload while a PATCH is receiving, even an unused one past its timeout", async () => {
    const upload = randomBytes(20);
    const data = randomBytes(1000);
    expect(await g.allocated(await g.allocate(SI, [2], data.length, upload))).toEqual([2]);
    const slow = stalledPatch(2, 0, 1000, data.subarray(0, 400), upload);
    try {
      await new Promise((r) => setTimeout(r, 100));
      t.clock.now += UNUSED_UPLOAD_TIMEOUT_MS + 1;
      // /version runs the expiry; the upload's reservation is still counted, not dropped.
      await g.version();
      slow.finish(data.subarray(400));
      expect((await slow.response).status).toBe(201);
    } finally {
      slow.destroy();
    }
    expect((await g.read(SI, "immutable", 2)).body).toEqual(data);
  });

  it("times out a read-test-write body that stops arriving, and the slot stays writable", async () => {
    const body = g.rtwBody({ 0: { write: [[0, Buffer.from("complete")]] } });
    const slow = stalled("POST", `/storage/v1/mutable/${SI}/read-test-write`, body.subarray(0, 10), {
      ...CBOR_HEADERS,
      "Content-Length": String(body.length),
      "X-Tahoe-Authorization": [
        secretHeader("write-enabler", enabler),
        secretHeader("lease-renew-secret", renew),
        secretHeader("lease-cancel-secret", cancel),
      ],
    });
    try {
      expect(g.rtwReply(await g.rtw(SI, { 1: { write: [[0, Buffer.from("other")]] } })).success).toBe(true);
      const timedOut = await slow.response;
      expect(timedOut.status).toBe(408);
      expect(timedOut.body.toString()).toContain("read-test-write request: no body bytes arrived");
    } finally {
      slow.destroy();
    }
    expect(await g.list(SI, "mutable")).toEqual([1]);
  });

  it("compares a PATCH over written bytes with the disk as it arrives: same bytes pass, different ones are a 409", async () => {
    const upload = randomBytes(20);
    const size = 3 * 1024 * 1024 + 1;
    const data = randomBytes(size);
    expect(await g.allocated(await g.allocate(SI, [1], size, upload))).toEqual([1]);
    expect((await g.patch(SI, 1, 0, data.subarray(0, size - 1), upload)).status).toBe(200);
    const changed = Buffer.from(data.subarray(0, size - 1));
    changed[2_500_000]! ^= 1;
    const conflict = await g.patch(SI, 1, 0, changed, upload);
    expect(conflict.status).toBe(409);
    expect(conflict.body.toString()).toContain("byte 2500000 of share 1");
    // Resending the same bytes, with the missing last one, completes the share unchanged.
    expect((await g.patch(SI, 1, 0, data, upload)).status).toBe(201);
    expect((await g.read(SI, "immutable", 1)).body.equals(data)).toBe(true);
  });
});
