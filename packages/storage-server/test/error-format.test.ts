import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODE_HEADER } from "../src/error-answers.js";
import { authorizationValue } from "../src/index.js";
import { startTestServer, type TestServer } from "./helpers.js";

const SI = "ighrlpdhdzgstz7gq5zhcudp7a";

interface Parsed {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Splits a raw HTTP/1.1 response (one, with a Content-Length or chunked body) into its parts. */
function parse(raw: Buffer): Parsed {
  const text = raw.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = text.slice(end + 4);
  if (headers.get("transfer-encoding") === "chunked") {
    let out = "";
    for (let at = 0; ; ) {
      const lineEnd = body.indexOf("\r\n", at);
      const size = Number.parseInt(body.slice(at, lineEnd), 16);
      if (!(size > 0)) break;
      out += body.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
    body = out;
  }
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: Buffer.from(body, "latin1").toString("utf8"),
  };
}

describe("error answers on the storage port", () => {
  let t: TestServer;
  let auth: string;
  beforeAll(async () => {
    t = await startTestServer();
    auth = `Authorization: ${authorizationValue(t.swissnum)}\r\n`;
  });
  afterAll(async () => {
    await t.close();
  });
  const send = async (text: string) => parse((await t.raw(text)).body);
  const get = (target: string, extra = "") =>
    send(`GET ${target} HTTP/1.1\r\nHost: x\r\n${auth}${extra}Connection: close\r\n\r\n`);

  /** Our format: the status, our code in its header, a plain-text message, nothing of fastify's JSON. */
  function expectOurs(r: Parsed, status: number, code: string, words: RegExp) {
    expect(r.status, r.body).toBe(status);
    expect(r.headers.get(ERROR_CODE_HEADER)).toBe(code);
    expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(r.body).toMatch(words);
    expect(r.body).not.toMatch(/FST_ERR|^\{/);
  }

  it("answers 401 and 406 exactly as Tahoe-LAFS does: its body, no Content-Type", async () => {
    const unauthorized = await send(
      "GET /storage/v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body).toBe("Wrong Authorization header");
    expect(unauthorized.headers.has("content-type")).toBe(false);
    expect(unauthorized.headers.get(ERROR_CODE_HEADER)).toBe("TAHOE_ERR_STORAGE_SERVER_UNAUTHORIZED");

    const notAcceptable = await get("/storage/v1/version", "Accept: */*\r\n");
    expect(notAcceptable.status).toBe(406);
    expect(notAcceptable.body).toBe("");
    expect(notAcceptable.headers.has("content-type")).toBe(false);
    expect(notAcceptable.headers.get(ERROR_CODE_HEADER)).toBe("TAHOE_ERR_STORAGE_SERVER_NOT_ACCEPTABLE");
  });

  it("answers a %-escape that does not decode with 400 in its own words", async () => {
    expectOurs(
      await get(`/storage/v1/immutable/${SI}/%zz`),
      400,
      "TAHOE_ERR_STORAGE_SERVER_BAD_REQUEST",
      /has a %-escape that does not decode/,
    );
  });

  it("answers a path segment too long to be a storage index with 414", async () => {
    expectOurs(
      await get(`/storage/v1/immutable/${"a".repeat(300)}/0`),
      414,
      "TAHOE_ERR_STORAGE_SERVER_URL_TOO_LONG",
      /path segment .* is too long/,
    );
  });

  it("answers a URL longer than the parser reads with 414, and headers over it with 431", async () => {
    expectOurs(
      await get(`/storage/v1/${"a".repeat(20_000)}`),
      414,
      "TAHOE_ERR_STORAGE_SERVER_URL_TOO_LONG",
      /URL is longer than the 16 KiB/,
    );
    expectOurs(
      await get("/storage/v1/version", "X-Pad: yyyyyyyy\r\n".repeat(2000)),
      431,
      "TAHOE_ERR_STORAGE_SERVER_HEADERS_TOO_LARGE",
      /headers are over the 16 KiB/,
    );
  });

  it("answers a request Node's parser refuses (bad method, bad header bytes) with 400", async () => {
    expectOurs(
      await send("BREW /storage/v1/version HTCPCP/1.0\r\n\r\n"),
      400,
      "TAHOE_ERR_STORAGE_SERVER_BAD_REQUEST",
      /^malformed HTTP request/,
    );
    expectOurs(
      await send(`GET /storage/v1/version HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n${auth}\r\n`),
      400,
      "TAHOE_ERR_STORAGE_SERVER_BAD_REQUEST",
      /^malformed HTTP request/,
    );
  });

  it("answers paths outside the protocol with 404 (401 without the swissnum), never reading their bodies", async () => {
    expectOurs(await get("/"), 404, "TAHOE_ERR_STORAGE_SERVER_NOT_FOUND", /^no storage endpoint GET \/$/);
    expectOurs(
      await send(
        `POST /api HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{bad}`,
      ),
      404,
      "TAHOE_ERR_STORAGE_SERVER_NOT_FOUND",
      /no storage endpoint POST \/api/,
    );
    const unauthorized = await send("GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body).toBe("Wrong Authorization header");
    const deleted = await send(
      `DELETE /storage/v1/immutable/${SI}/1 HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
    );
    expectOurs(deleted, 404, "TAHOE_ERR_STORAGE_SERVER_NOT_FOUND", /no storage endpoint DELETE/);
  });

  it("keeps answering /version after all of them", async () => {
    const r = await t.request("GET", "/storage/v1/version", { headers: { Accept: "application/cbor" } });
    expect(r.status).toBe(200);
  });
});
