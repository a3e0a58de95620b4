import { TahoeError } from "@lafs/interface";
import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { createWebApp } from "../src/index.js";
import { useMemoryApp } from "./memory-app.js";
import type { MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let app: FastifyInstance;

useMemoryApp((fresh) => ({ node, app } = fresh), { maxUploadBytes: 1024 * 1024 });

function bytes(n: number, seed = 3): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) % 251;
  return out;
}

const WRITE = /^URI:(SSK|MDMF):[a-z2-7]{26}:[a-z2-7]{52}$/;

async function create(query: string, body: Buffer | string): Promise<string> {
  const res = await app.inject({ method: "PUT", url: `/uri?${query}`, payload: body });
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  expect(res.body).toMatch(WRITE);
  return res.body;
}

const url = (cap: string, query = "") => `/uri/${encodeURIComponent(cap)}${query}`;

function form(fields: Record<string, string>, data?: Buffer) {
  const boundary = "----mutableboundary";
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  if (data !== undefined) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n` +
          "Content-Type: application/octet-stream\r\n\r\n",
      ),
      data,
      Buffer.from("\r\n"),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  };
}

describe("creating mutable files", () => {
  it("PUT /uri: format= picks SDMF or MDMF in any case, mutable=true means SDMF, format wins", async () => {
    expect(await create("format=SDMF", "a")).toMatch(/^URI:SSK:/);
    expect(await create("format=mdmf", "b")).toMatch(/^URI:MDMF:/);
    expect(await create("mutable=true", "c")).toMatch(/^URI:SSK:/);
    expect(await create("mutable=true&format=MDMF", "d")).toMatch(/^URI:MDMF:/);
    // format=CHK wins over mutable=true, as Tahoe's get_format: an immutable upload.
    const chk = await app.inject({ method: "PUT", url: "/uri?mutable=true&format=CHK", payload: "e" });
    expect(chk.body).toBe("URI:LIT:mu");
    expect(node.mutableWrites.map((w) => w.size)).toEqual([1, 1, 1, 1]);
    expect([...node.mutables.values()].map((m) => Buffer.from(m.data).toString())).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("passes Tahoe's private-key= (URL-safe base64 of PKCS#8 DER) to the node; refuses what is not base64", async () => {
    const key = Buffer.from([0x30, 0x82, 0xff, 0xfe, 0x01]);
    const given: (Uint8Array | undefined)[] = [];
    const create = node.createMutable;
    node.createMutable = (body, options) => {
      given.push(options.privateKey);
      return create(body, options);
    };
    const ok = await app.inject({
      method: "PUT",
      url: `/uri?format=SDMF&private-key=${key.toString("base64url")}=`,
      payload: "x",
    });
    expect(ok.statusCode).toBe(200);
    expect(given).toEqual([new Uint8Array(key)]);
    const bad = await app.inject({
      method: "PUT",
      url: "/uri?mutable=true&private-key=a%2Bb%2F",
      payload: "x",
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("private-key= is not URL-safe base64");
    expect(node.mutableWrites).toHaveLength(1);
  });

  it("POST /uri?t=upload with format or mutable in the query or the form", async () => {
    const inQuery = await app.inject({
      method: "POST",
      url: "/uri?t=upload&format=MDMF",
      ...form({}, bytes(3000)),
    });
    expect(inQuery.statusCode).toBe(200);
    expect(inQuery.body).toMatch(/^URI:MDMF:/);
    const inForm = await app.inject({
      method: "POST",
      url: "/uri",
      ...form({ t: "upload", mutable: "true" }, bytes(10)),
    });
    expect(inForm.statusCode).toBe(200);
    expect(inForm.body).toMatch(/^URI:SSK:/);
    const bad = await app.inject({
      method: "POST",
      url: "/uri",
      ...form({ t: "upload", format: "zz" }, bytes(10)),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("Unknown format: zz");
    expect(node.mutables.size).toBe(2);
  });
});

describe("reading mutable files", () => {
  it("GET /uri/CAP serves the newest contents by write and read cap, with ranges", async () => {
    const data = bytes(5000);
    const cap = await create("format=MDMF", data);
    const entry = [...node.mutables.values()][0]!;
    for (const c of [cap, entry.readCap]) {
      const whole = await app.inject({ method: "GET", url: url(c) });
      expect(whole.statusCode).toBe(200);
      expect(whole.headers["accept-ranges"]).toBe("bytes");
      expect(whole.rawPayload).toEqual(data);
    }
    const part = await app.inject({
      method: "GET",
      url: url(entry.readCap),
      headers: { range: "bytes=1000-1999" },
    });
    expect(part.statusCode).toBe(206);
    expect(part.headers["content-range"]).toBe("bytes 1000-1999/5000");
    expect(part.rawPayload).toEqual(data.subarray(1000, 2000));
    const outside = await app.inject({ method: "GET", url: url(cap), headers: { range: "bytes=5000-" } });
    expect(outside.statusCode).toBe(416);
    expect(outside.headers["content-range"]).toBe("bytes */5000");
  });

  it("t=json gives Tahoe's filenode JSON: rw_uri only with the write cap, no size for a verify cap", async () => {
    const cap = await create("format=SDMF", bytes(77));
    const entry = [...node.mutables.values()][0]!;
    const rw = await app.inject({ method: "GET", url: url(cap, "?t=json") });
    expect(rw.statusCode).toBe(200);
    expect(rw.json()).toEqual([
      "filenode",
      {
        mutable: true,
        format: "SDMF",
        size: 77,
        rw_uri: cap,
        ro_uri: entry.readCap,
        verify_uri: entry.verifyCap,
      },
    ]);
    const ro = await app.inject({ method: "GET", url: url(entry.readCap, "?t=json") });
    expect(ro.json()).toEqual([
      "filenode",
      { mutable: true, format: "SDMF", size: 77, ro_uri: entry.readCap, verify_uri: entry.verifyCap },
    ]);
    const verify = await app.inject({ method: "GET", url: url(entry.verifyCap, "?t=json") });
    expect(verify.json()).toEqual([
      "filenode",
      { mutable: true, format: "SDMF", verify_uri: entry.verifyCap },
    ]);
  });

  it("refuses to download with a verify cap, and answers 410 for a file with no shares", async () => {
    await create("format=MDMF", "x");
    const entry = [...node.mutables.values()][0]!;
    const verify = await app.inject({ method: "GET", url: url(entry.verifyCap) });
    expect(verify.statusCode).toBe(400);
    expect(verify.body).toContain("TAHOE_ERR_WEB_BAD_CAP");
    expect(verify.body).toContain("URI:MDMF-Verifier: cap can check a file but not read it");
    node.mutables.clear();
    const gone = await app.inject({ method: "GET", url: url(entry.writeCap) });
    expect(gone.statusCode).toBe(410);
    expect(gone.body).toContain("TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES");
  });

  it("answers a malformed mutable cap with a 400 that says which field is wrong", async () => {
    const res = await app.inject({ method: "GET", url: url("URI:SSK:abc:def") });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain("TAHOE_ERR_WEB_BAD_CAP");
    expect(res.body).toContain("writekey field");
  });
});

describe("writing mutable files", () => {
  it("PUT /uri/WRITECAP overwrites in place and answers 200 with the same cap", async () => {
    const cap = await create("format=SDMF", "old contents");
    const res = await app.inject({ method: "PUT", url: url(cap), payload: "new contents, longer" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(cap);
    const entry = [...node.mutables.values()][0]!;
    expect(Buffer.from(entry.data).toString()).toBe("new contents, longer");
    expect(entry.seqnum).toBe(2);
  });

  it("PUT /uri/WRITECAP?offset=N writes at N; offset=size appends; past the end is a 400", async () => {
    const cap = await create("format=MDMF", "0123456789");
    expect((await app.inject({ method: "PUT", url: url(cap, "?offset=3"), payload: "abc" })).statusCode).toBe(
      200,
    );
    expect((await app.inject({ method: "PUT", url: url(cap, "?offset=10"), payload: "XY" })).statusCode).toBe(
      200,
    );
    const entry = [...node.mutables.values()][0]!;
    expect(Buffer.from(entry.data).toString()).toBe("012abc6789XY");
    expect(node.mutableWrites.slice(1).map((w) => [w.op, w.offset])).toEqual([
      ["update", 3],
      ["update", 10],
    ]);
    const past = await app.inject({ method: "PUT", url: url(cap, "?offset=13"), payload: "z" });
    expect(past.statusCode).toBe(400);
    expect(past.body).toContain("TAHOE_ERR_MUTABLE_UPDATE");
    expect(Buffer.from(entry.data).toString()).toBe("012abc6789XY");
  });

  it("refuses a negative or non-numeric offset, Content-Range and t=uri before touching the file", async () => {
    const cap = await create("format=MDMF", "data");
    const negative = await app.inject({ method: "PUT", url: url(cap, "?offset=-1"), payload: "z" });
    expect(negative.statusCode).toBe(400);
    expect(negative.body).toContain("Invalid offset");
    const word = await app.inject({ method: "PUT", url: url(cap, "?offset=ten"), payload: "z" });
    expect(word.statusCode).toBe(400);
    expect(word.body).toContain("not a whole number of bytes");
    const ranged = await app.inject({
      method: "PUT",
      url: url(cap),
      payload: "z",
      headers: { "content-range": "bytes 0-0/4" },
    });
    expect(ranged.statusCode).toBe(501);
    expect(ranged.body).toContain("Content-Range in PUT not yet supported");
    const t = await app.inject({ method: "PUT", url: url(cap, "?t=uri"), payload: "z" });
    expect(t.statusCode).toBe(400);
    expect(t.body).toContain("PUT to a file: bad t=uri");
    expect(node.mutableWrites.map((w) => w.op)).toEqual(["create"]);
  });

  it("read-only, verify and immutable caps refuse writes with a 400 that names the cap needed", async () => {
    await create("format=SDMF", "data");
    const entry = [...node.mutables.values()][0]!;
    const chk = (await app.inject({ method: "PUT", url: "/uri", payload: bytes(100) })).body;
    const cases: [string, string, string][] = [
      [entry.readCap, "", "replace or update requested with read-only cap"],
      [entry.readCap, "?offset=0", "replace or update requested with read-only cap"],
      [entry.verifyCap, "", "replace or update requested with verify cap"],
      [chk, "", "is an immutable file, which cannot be changed"],
      [chk, "?offset=0", "append operation invoked on an immutable cap"],
      ["URI:LIT:mu", "", "is an immutable file"],
    ];
    for (const [cap, query, words] of cases) {
      const res = await app.inject({ method: "PUT", url: url(cap, query), payload: "new" });
      expect(res.statusCode, `${cap} ${query}`).toBe(400);
      expect(res.body).toContain("TAHOE_ERR_WEB_NOT_WRITABLE");
      expect(res.body).toContain(words);
    }
    expect(Buffer.from(entry.data).toString()).toBe("data");
    expect(node.mutableWrites.map((w) => w.op)).toEqual(["create"]);
  });

  it("POST /uri/WRITECAP?t=upload overwrites from a form; a read cap is refused", async () => {
    const cap = await create("format=MDMF", "data");
    const entry = [...node.mutables.values()][0]!;
    const res = await app.inject({ method: "POST", url: url(cap, "?t=upload"), ...form({}, bytes(2000)) });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(cap);
    expect(Buffer.from(entry.data)).toEqual(bytes(2000));
    const ro = await app.inject({
      method: "POST",
      url: url(entry.readCap, "?t=upload"),
      ...form({}, bytes(5)),
    });
    expect(ro.statusCode).toBe(400);
    expect(ro.body).toContain("TAHOE_ERR_WEB_NOT_WRITABLE");
    const badT = await app.inject({ method: "POST", url: url(cap, "?t=frobnicate"), ...form({}, bytes(5)) });
    expect(badT.statusCode).toBe(400);
    expect(badT.body).toContain("POST to file: bad t=frobnicate");
    // t=check is the checker's; this in-memory node has none: 501, not a 400 for the client.
    const check = await app.inject({ method: "POST", url: url(cap, "?t=check") });
    expect(check.statusCode).toBe(501);
    const badFlag = await app.inject({ method: "POST", url: url(cap, "?t=check&repair=maybe") });
    expect(badFlag.statusCode).toBe(400);
    expect(badFlag.body).toContain("repair=");
  });

  it("shows another writer's collision as 409 and the grid's refusal as 503, keeping the old contents", async () => {
    const cap = await create("format=SDMF", "data");
    const entry = [...node.mutables.values()][0]!;
    node.collideWith = new TahoeError(
      "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE",
      "another writer changed the file while this one was writing",
      { hint: "Read the file again and redo the change." },
    );
    const res = await app.inject({ method: "PUT", url: url(cap), payload: "mine" });
    expect(res.statusCode).toBe(409);
    expect(res.body).toContain("TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE");
    expect(Buffer.from(entry.data).toString()).toBe("data");
    node.refuseWith = new TahoeError("TAHOE_ERR_PLACEMENT_NOT_ENOUGH_SERVERS", "only 1 server connected", {
      hint: "Wait for servers.",
    });
    const refused = await app.inject({ method: "PUT", url: "/uri?format=MDMF", payload: "x" });
    expect(refused.statusCode).toBe(503);
  });

  it("needs the upload token for mutable writes on a node whose uploads are private", async () => {
    const cap = await create("format=SDMF", "data");
    const locked = await createWebApp(node, {
      uploadAuthority: { mode: "private", token: async () => "tok" },
    });
    try {
      for (const [method, target] of [
        ["PUT", "/uri?format=MDMF"],
        ["PUT", url(cap)],
        ["PUT", url(cap, "?offset=0")],
      ] as const) {
        const res = await locked.inject({ method, url: target, payload: "x" });
        expect(res.statusCode).toBe(403);
        expect(res.body).toContain("TAHOE_ERR_WEB_UPLOAD_FORBIDDEN");
      }
      const ok = await locked.inject({
        method: "PUT",
        url: url(cap),
        payload: "y",
        headers: { authorization: "tahoe-bearer tok" },
      });
      expect(ok.statusCode).toBe(200);
    } finally {
      await locked.close();
    }
  });
});
