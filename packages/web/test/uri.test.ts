import { formatChkVerifyCap, parseChkReadCap, verifyCapOf } from "@lafs/immutable";
import { TahoeError } from "@lafs/interface";
import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { createWebApp } from "../src/index.js";
import { useMemoryApp } from "./memory-app.js";
import type { MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let app: FastifyInstance;

useMemoryApp((fresh) => ({ node, app } = fresh), { maxUploadBytes: 10 * 1024 * 1024 });

function bytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) % 251;
  return out;
}

async function put(body: Buffer | string): Promise<string> {
  const res = await app.inject({ method: "PUT", url: "/uri", payload: body });
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  return res.body;
}

function multipart(fields: Record<string, string>, file?: { name: string; data: Buffer }) {
  const boundary = "----lafsboundary";
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n` +
          "Content-Type: application/octet-stream\r\n\r\n",
      ),
      file.data,
      Buffer.from("\r\n"),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  };
}

describe("PUT /uri", () => {
  it("answers 200 with the cap as text/plain and passes the size from Content-Length", async () => {
    const cap = await put("hello");
    expect(cap).toBe("URI:LIT:nbswy3dp");
    expect(node.uploadSizes).toEqual([5]);
    const big = await put(bytes(3000));
    expect(big).toMatch(/^URI:CHK:[a-z2-7]{26}:[a-z2-7]{52}:3:10:3000$/);
    expect(node.files.get(big)).toEqual(bytes(3000));
  });

  it("refuses an unknown format= with Tahoe's 400 naming the formats it knows", async () => {
    const res = await app.inject({ method: "PUT", url: "/uri?format=XDMF", payload: "x" });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain("TAHOE_ERR_WEB_BAD_REQUEST");
    expect(res.body).toContain("Unknown format: XDMF, I know CHK, SDMF, MDMF");
    expect(node.uploadSizes).toEqual([]);
    expect(node.mutableWrites).toEqual([]);
  });

  it("answers 413 before reading a body whose Content-Length is over the limit", async () => {
    const small = await createWebApp(node, { maxUploadBytes: 100 });
    const res = await small.inject({ method: "PUT", url: "/uri", payload: bytes(101) });
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain("TAHOE_ERR_WEB_TOO_LARGE");
    expect(res.body).toContain("100 bytes");
    expect(node.uploadSizes).toEqual([]);
    await small.close();
  });

  it("shows a placement refusal with its code, message and hint as 503", async () => {
    node.refuseWith = new TahoeError(
      "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED",
      "uploads disabled: server 'bob' (v0-abc) is required but not connected",
      { hint: "Wait until bob connects, or untick 'required' in the control panel." },
    );
    for (const accept of ["text/html", "*/*"]) {
      const res = await app.inject({ method: "PUT", url: "/uri", payload: "data", headers: { accept } });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain("TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED");
      expect(res.body).toContain("is required but not connected");
      expect(res.body).toContain("Wait until bob connects");
      expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
    const html = await app.inject({
      method: "PUT",
      url: "/uri",
      payload: "d",
      headers: { accept: "text/html" },
    });
    expect(html.headers["content-type"]).toMatch(/^text\/html/);
    expect(html.body).toContain("server &#39;bob&#39;");
  });

  it("hides a non-Tahoe error behind 'internal error' and logs it with its stack", async () => {
    node.upload = async () => {
      throw new Error("secret detail /home/x/file.ts:12");
    };
    const logged: Record<string, unknown>[] = [];
    const log = (fields: unknown) => {
      logged.push(fields as Record<string, unknown>);
    };
    const logger = {
      trace: log,
      debug: log,
      info: log,
      warn: log,
      error: log,
      fatal: log,
      child: () => logger,
    };
    const logging = await createWebApp(node, { logger });
    const res = await logging.inject({
      method: "PUT",
      url: "/uri",
      payload: "x",
      headers: { accept: "text/html" },
    });
    await logging.close();
    expect(logged).toEqual([{ err: expect.stringContaining("secret detail"), method: "PUT" }]);
    expect(String(logged[0]!.err)).toContain("\n    at ");
    expect(res.statusCode).toBe(500);
    expect(res.body).toContain("internal error");
    expect(res.body).not.toContain("secret detail");
    expect(res.body).not.toContain("file.ts");
  });
});

describe("POST /uri?t=upload", () => {
  it("uploads the form's file and answers the cap as text/plain", async () => {
    const form = multipart({}, { name: "a.bin", data: bytes(5000) });
    const res = await app.inject({ method: "POST", url: "/uri?t=upload", ...form });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^URI:CHK:.*:5000$/);
    expect(node.files.get(res.body)).toEqual(bytes(5000));
    expect(node.uploadSizes).toEqual([undefined]);
  });

  it("takes t=upload and redirect_to_result from the form fields too and redirects with 303 to the info page", async () => {
    const form = multipart({ t: "upload" }, { name: "a.txt", data: Buffer.from("hi") });
    form.payload = Buffer.concat([
      form.payload.subarray(0, form.payload.length - "------lafsboundary--\r\n".length),
      Buffer.from(
        '------lafsboundary\r\nContent-Disposition: form-data; name="redirect_to_result"\r\n\r\ntrue\r\n',
      ),
      Buffer.from("------lafsboundary--\r\n"),
    ]);
    const res = await app.inject({ method: "POST", url: "/uri", ...form });
    expect(res.statusCode).toBe(303);
    // Never to the file itself, which a browser would save as URI_CHK_...: to its info page, with its name.
    expect(res.headers.location).toBe(
      `/uri/${encodeURIComponent("URI:LIT:nbuq")}?t=info&uploaded=true&filename=a.txt`,
    );
    const info = await app.inject({ url: res.headers.location as string });
    expect(info.statusCode).toBe(200);
    expect(info.body).toContain('<code id="file-cap">URI:LIT:nbuq</code>');
    expect(info.body).toContain('href="/named/URI%3ALIT%3Anbuq/a.txt?save=true"');
  });

  it("answers a browser with an HTML result page holding the escaped cap and a link", async () => {
    const form = multipart({}, { name: "a.txt", data: Buffer.from("hi") });
    const res = await app.inject({
      method: "POST",
      url: "/uri?t=upload",
      ...form,
      headers: { ...form.headers, accept: "text/html,*/*" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain('<code id="file-cap">URI:LIT:nbuq</code>');
    expect(res.body).toContain('href="/named/URI%3ALIT%3Anbuq/a.txt?save=true"');
  });

  it("follows Tahoe-LAFS's when_done= to a local path with %(uri)s replaced, and ignores one elsewhere", async () => {
    const form = multipart({}, { name: "a.txt", data: Buffer.from("hi") });
    const res = await app.inject({
      method: "POST",
      url: "/uri?t=upload&when_done=/uri/%25(uri)s?t=json",
      ...form,
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/uri/URI%3ALIT%3Anbuq?t=json");
    const away = multipart({}, { name: "a.txt", data: Buffer.from("hi") });
    const off = await app.inject({ method: "POST", url: "/uri?t=upload&when_done=//evil.example/", ...away });
    expect(off.statusCode).toBe(200);
    expect(off.body).toBe("URI:LIT:nbuq");
  });

  it("rejects a form without a file, without t=upload, or a body that is not a form", async () => {
    const noFile = await app.inject({ method: "POST", url: "/uri?t=upload", ...multipart({ x: "1" }) });
    expect(noFile.statusCode).toBe(400);
    expect(noFile.body).toContain("no 'file' field");
    const noT = await app.inject({
      method: "POST",
      url: "/uri",
      ...multipart({}, { name: "a", data: Buffer.from("x") }),
    });
    expect(noT.statusCode).toBe(400);
    expect(noT.body).toContain("t=upload");
    const notForm = await app.inject({ method: "POST", url: "/uri?t=upload", payload: "x" });
    expect(notForm.statusCode).toBe(400);
    expect(notForm.body).toContain("multipart/form-data");
  });
});

describe("GET /uri/CAP", () => {
  it("streams the whole file as application/octet-stream with Accept-Ranges", async () => {
    const cap = await put(bytes(4500));
    const res = await app.inject({ url: `/uri/${encodeURIComponent(cap)}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/octet-stream");
    expect(res.headers["accept-ranges"]).toBe("bytes");
    expect(res.headers["content-length"]).toBe("4500");
    expect(res.rawPayload).toEqual(bytes(4500));
  });

  it("reads a LIT cap without any stored file, and a raw colon cap path", async () => {
    const res = await app.inject({ url: "/uri/URI:LIT:nbswy3dp" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("hello");
  });

  it("serves single ranges with 206 and Content-Range, and 416 when unsatisfiable", async () => {
    const cap = encodeURIComponent(await put(bytes(4500)));
    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 100],
      ["bytes=1000-2999", 1000, 3000],
      ["bytes=4000-", 4000, 4500],
      ["bytes=-10", 4490, 4500],
      ["bytes=4400-9999", 4400, 4500],
      ["bytes=-9999", 0, 4500],
    ];
    for (const [range, start, end] of cases) {
      const res = await app.inject({ url: `/uri/${cap}`, headers: { range } });
      expect(res.statusCode, range).toBe(206);
      expect(res.headers["content-range"], range).toBe(`bytes ${start}-${end - 1}/4500`);
      expect(res.headers["content-length"], range).toBe(String(end - start));
      expect(res.rawPayload, range).toEqual(bytes(4500).subarray(start, end));
    }
    for (const range of ["bytes=4500-", "bytes=9000-9999", "bytes=-0"]) {
      const res = await app.inject({ url: `/uri/${cap}`, headers: { range } });
      expect(res.statusCode, range).toBe(416);
      expect(res.headers["content-range"], range).toBe("bytes */4500");
      expect(res.body).toContain("TAHOE_ERR_WEB_RANGE");
    }
    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=5-2"]) {
      const res = await app.inject({ url: `/uri/${cap}`, headers: { range } });
      expect(res.statusCode, range).toBe(200);
      expect(res.rawPayload.length).toBe(4500);
    }
  });

  it("tells the node whether a request wants part of the file, so a small file is read whole only when it is", async () => {
    const cap = encodeURIComponent(await put(bytes(4500)));
    const asked: [string | undefined, boolean][] = [
      [undefined, false],
      ["bytes=0-", false],
      ["bytes=1000-2999", true],
      ["bytes=-10", true],
    ];
    for (const [range] of asked) {
      const res = await app.inject({ url: `/uri/${cap}`, headers: range === undefined ? {} : { range } });
      expect(res.statusCode, range).toBe(range === undefined ? 200 : 206);
    }
    expect(node.downloadOptions.slice(-asked.length).map((o) => o.partial)).toEqual(asked.map(([, p]) => p));
  });

  it("takes the Content-Type from filename= and sets an attachment with save=true", async () => {
    const cap = encodeURIComponent(await put("<b>hi</b>"));
    const named = await app.inject({ url: `/uri/${cap}?filename=page.html` });
    expect(named.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(named.headers["content-disposition"]).toBeUndefined();
    // The stored file is shown as HTML, but the CSP forbids it any script.
    expect(named.headers["content-security-policy"]).toContain("default-src 'none'");
    const saved = await app.inject({ url: `/uri/${cap}?filename=r%C3%A9sum%C3%A9%22.pdf&save=true` });
    expect(saved.headers["content-type"]).toBe("application/pdf");
    expect(saved.headers["content-disposition"]).toBe(
      `attachment; filename="r_sum__.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%22.pdf`,
    );
    const bare = await app.inject({ url: `/uri/${cap}?save=true` });
    expect(bare.headers["content-disposition"]).toBe("attachment");
    const path = await app.inject({ url: `/named/${cap}/notes.txt` });
    expect(path.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(path.body).toBe("<b>hi</b>");
  });

  it("answers t=json with Tahoe's filenode shape for CHK, LIT and verify caps", async () => {
    const cap = await put(bytes(3000));
    const chk = await app.inject({ url: `/uri/${encodeURIComponent(cap)}?t=json` });
    expect(chk.headers["content-type"]).toMatch(/^application\/json/);
    const verify = formatChkVerifyCap(verifyCapOf(parseChkReadCap(cap)));
    expect(chk.json()).toEqual([
      "filenode",
      { ro_uri: cap, verify_uri: verify, size: 3000, format: "CHK", mutable: false },
    ]);
    const lit = await app.inject({ url: "/uri/URI:LIT:nbswy3dp?t=json" });
    expect(lit.json()).toEqual([
      "filenode",
      { ro_uri: "URI:LIT:nbswy3dp", size: 5, format: "LIT", mutable: false },
    ]);
    const ver = await app.inject({ url: `/uri/${encodeURIComponent(verify)}?t=json` });
    expect(ver.json()).toEqual([
      "filenode",
      { verify_uri: verify, size: 3000, format: "CHK", mutable: false },
    ]);
    const read = await app.inject({ url: `/uri/${encodeURIComponent(verify)}` });
    expect(read.statusCode).toBe(400);
    expect(read.body).toContain("can check a file but not read it");
  });

  it("answers a bad cap with a 400 naming it, as JSON for t=json", async () => {
    const res = await app.inject({ url: "/uri/URI:CHK:nope", headers: { accept: "text/html" } });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain("TAHOE_ERR_WEB_BAD_CAP");
    expect(res.body).toContain("URI:CHK:nope");
    const json = await app.inject({ url: "/uri/URI:XYZ:1?t=json" });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ error: { code: "TAHOE_ERR_WEB_BAD_CAP", hint: expect.any(String) } });
  });

  it("shows a download failure from the node as 410 with the node's code", async () => {
    const missing =
      "URI:CHK:aaaaaaaaaaaaaaaaaaaaaaaaaa:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:3:10:1000";
    const res = await app.inject({ url: `/uri/${missing}` });
    expect(res.statusCode).toBe(410);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.body).toContain("TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES");
    expect(res.body).toContain("Connect to the servers");
  });

  it("redirects /uri?uri=CAP to /uri/CAP keeping the other parameters", async () => {
    const res = await app.inject({ url: "/uri?uri=URI:LIT:nbswy3dp&filename=a.txt&save=true" });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/uri/URI%3ALIT%3Anbswy3dp?filename=a.txt&save=true");
    const none = await app.inject({ url: "/uri" });
    expect(none.statusCode).toBe(400);
  });
});
