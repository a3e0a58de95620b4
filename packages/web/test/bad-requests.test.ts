import type { LogLine } from "@lafs/interface";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebServer, type WebServer } from "../src/index.js";
import { createMemoryNode, type MemoryNode } from "./memory-node.js";
import { httpRequest, multipartBody, rawRequest, startRecordedWebServer } from "./raw-http.js";

/** Issue 15, defects 7 and 10: every refusal is a 4xx in our format, and a user's mistake is no ERROR. */

let node: MemoryNode;
let server: WebServer;
let port: number;
let lines: LogLine[];

beforeAll(async () => {
  node = createMemoryNode();
  ({ server, port, lines } = await startRecordedWebServer({ node }));
});
afterAll(() => server.stop());

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** Sends the bytes, expects STATUS with CODE in the text error format, and no WARN or ERROR logged. */
async function refused(data: string, status: number, code: string, words?: RegExp, end = false) {
  const from = lines.length;
  const response = await rawRequest(port, data, { end });
  expect(response.status, response.body).toBe(status);
  expect(response.body).toMatch(new RegExp(`^Error ${status}: ${code}\\n`));
  expect(response.body).not.toMatch(/FST_|This is a bug/);
  if (words) expect(response.body).toMatch(words);
  await settle();
  expect(lines.slice(from).filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
  return response;
}

function form(boundary: string, body: string, path = "/uri?t=upload") {
  return httpRequest(
    "POST",
    path,
    {
      "Content-Type": `multipart/form-data; boundary=${boundary}`,
      "Content-Length": Buffer.byteLength(body),
    },
    body,
  );
}

const fileForm = (boundary = "XyZ") =>
  multipartBody(boundary, [{ name: "file", filename: "a.txt", value: "hello" }]);

describe("multipart forms the parser rejects (defect 7)", () => {
  it("a boundary over 256 characters is a 400, not a 500", async () => {
    const boundary = "b".repeat(300);
    await refused(
      form(boundary, fileForm(boundary)),
      400,
      "TAHOE_ERR_WEB_BAD_FORM",
      /boundary is 300 characters/,
    );
  });

  it("a form cut short inside its file (Content-Length honest, closing boundary missing) is a 400", async () => {
    const body = fileForm().slice(0, -13);
    expect(body.endsWith("\r\n\r\nhel")).toBe(true);
    await refused(form("XyZ", body), 400, "TAHOE_ERR_WEB_BAD_FORM", /cut short/);
  });

  it("a form cut short inside a part's headers is a 400 (the part never started)", async () => {
    const body = fileForm().slice(0, 40);
    await refused(form("XyZ", body), 400, "TAHOE_ERR_WEB_BAD_REQUEST", /no 'file' field/);
  });

  it("a part whose header is malformed is skipped, and the form without a file is a 400", async () => {
    const body = "--XyZ\r\nbogus header line\r\n\r\nhello\r\n--XyZ--\r\n";
    await refused(form("XyZ", body), 400, "TAHOE_ERR_WEB_BAD_REQUEST", /no 'file' field/);
  });

  it("no boundary at all is a 400", async () => {
    await refused(
      httpRequest(
        "POST",
        "/uri?t=upload",
        { "Content-Type": "multipart/form-data", "Content-Length": 3 },
        "abc",
      ),
      400,
      "TAHOE_ERR_WEB_BAD_FORM",
      /no boundary/,
    );
  });

  it("more than 50 fields is a 400 naming the limit", async () => {
    const parts = Array.from({ length: 60 }, (_, i) => ({ name: `f${i}`, value: "x" }));
    await refused(
      form("XyZ", multipartBody("XyZ", parts)),
      400,
      "TAHOE_ERR_WEB_BAD_FORM",
      /more than 50 fields/,
    );
  });

  it("a field over 64 KiB is a 400 naming the field", async () => {
    const body = multipartBody("XyZ", [{ name: "t", value: "u".repeat(70_000) }]);
    await refused(form("XyZ", body), 400, "TAHOE_ERR_WEB_BAD_FORM", /'t' is longer than 65536 bytes/);
  });

  it("two 'file' fields answer 'more than one file field', not 'upload a smaller file'", async () => {
    const body = multipartBody("XyZ", [
      { name: "file", filename: "a", value: "first" },
      { name: "file", filename: "b", value: "second" },
    ]);
    const response = await refused(
      form("XyZ", body),
      400,
      "TAHOE_ERR_WEB_BAD_FORM",
      /the form has more than one 'file' field/,
    );
    expect(response.body).not.toMatch(/smaller/);
  });
});

describe("clients that disconnect mid-request (defect 7)", () => {
  it("a PUT cut off by the client is one INFO line, no ERROR, and the node's upload ends", async () => {
    const from = lines.length;
    const started = node.uploadSizes.length;
    const stored = node.files.size;
    const head = httpRequest("PUT", "/uri", { "Content-Length": 1_000_000 }, "x".repeat(1000));
    const response = await rawRequest(port, head, { destroyAfterMs: 50 });
    expect(response.status).toBeUndefined();
    await settle();
    await settle();
    const logged = lines.slice(from);
    expect(logged.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
    expect(logged.some((l) => l.level === "info" && /disconnected/.test(l.msg))).toBe(true);
    expect(node.uploadSizes.length).toBe(started + 1);
    expect(node.files.size).toBe(stored);
  });

  it("a form cut off by the client is one INFO line, no ERROR", async () => {
    const from = lines.length;
    const body = fileForm();
    const data = form("XyZ", body).replace(/Content-Length: \d+/, "Content-Length: 100000");
    await rawRequest(port, data, { destroyAfterMs: 50 });
    await settle();
    await settle();
    const logged = lines.slice(from);
    expect(logged.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
    expect(logged.some((l) => l.level === "info" && /disconnected/.test(l.msg))).toBe(true);
  });

  it("a body that ends short of its Content-Length (client half-closes) is a 400 in our format", async () => {
    await refused(
      httpRequest("PUT", "/uri", { "Content-Length": 100 }, "abc"),
      400,
      "TAHOE_ERR_WEB_BAD_REQUEST",
      /before the request's body was complete/,
      true,
    );
  });
});

describe("framework and HTTP-parser errors in our format (defect 10)", () => {
  it("headers over 16 KiB are a 431 TAHOE_ERR_WEB_HEADERS_TOO_LARGE, not fastify's JSON", async () => {
    await refused(
      httpRequest("GET", "/", { "X-Big": "a".repeat(20_000) }),
      431,
      "TAHOE_ERR_WEB_HEADERS_TOO_LARGE",
    );
  });

  it("a path segment over 4096 characters is a 414 TAHOE_ERR_WEB_URL_TOO_LONG", async () => {
    await refused(httpRequest("GET", `/uri/URI:CHK:${"a".repeat(5000)}`), 414, "TAHOE_ERR_WEB_URL_TOO_LONG");
  });

  it("bytes that are not HTTP are a 400 in our format", async () => {
    await refused("GARBAGE\r\n\r\n", 400, "TAHOE_ERR_WEB_BAD_REQUEST");
  });

  it("a Content-Length that is not a number is a 400 in our format", async () => {
    await refused(
      httpRequest("PUT", "/uri", { "Content-Length": "12abc" }),
      400,
      "TAHOE_ERR_WEB_BAD_REQUEST",
    );
  });

  it("a malformed chunked body is a 400 in our format", async () => {
    await refused(
      httpRequest("PUT", "/uri", { "Transfer-Encoding": "chunked" }, "ZZ\r\nabc\r\n0\r\n\r\n"),
      400,
      "TAHOE_ERR_WEB_BAD_REQUEST",
    );
  });

  it("a malformed percent-encoding in the path is a 400 in our words", async () => {
    await refused(httpRequest("GET", "/uri/%E0%A4%A"), 400, "TAHOE_ERR_WEB_BAD_REQUEST", /percent-encoded/);
  });

  it("CONNECT is a 405 in our format, not a connection closed without a word", async () => {
    await refused(
      "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
      405,
      "TAHOE_ERR_WEB_BAD_REQUEST",
      /not a proxy/,
    );
  });

  it("a request without Host is served, as Tahoe-LAFS (Twisted) does", async () => {
    const response = await rawRequest(port, "GET /?t=json HTTP/1.1\r\nConnection: close\r\n\r\n");
    expect(response.status).toBe(200);
  });
});

describe("t= values /uri does not implement (defect 10)", () => {
  it("PUT /uri?t=mkdir on a node without directories is a 501 saying so, and uploads nothing", async () => {
    const before = node.uploadSizes.length;
    await refused(
      httpRequest("PUT", "/uri?t=mkdir", { "Content-Length": 5 }, "hello"),
      501,
      "TAHOE_ERR_WEB_NOT_SUPPORTED",
      /directories are not supported by this node/,
    );
    expect(node.uploadSizes.length).toBe(before);
  });

  it("POST /uri?t=mkdir, t=mkdir-with-children and t=mkdir-immutable are 501s on a node without directories", async () => {
    for (const t of ["mkdir", "mkdir-with-children", "mkdir-immutable"]) {
      await refused(
        httpRequest("POST", `/uri?t=${t}`, { "Content-Length": 0 }),
        501,
        "TAHOE_ERR_WEB_NOT_SUPPORTED",
        /directories are not supported by this node/,
      );
    }
  });

  it("t=mkdir in the form (not the query) is a 501 too", async () => {
    const body = multipartBody("XyZ", [{ name: "t", value: "mkdir" }]);
    await refused(form("XyZ", body, "/uri"), 501, "TAHOE_ERR_WEB_NOT_SUPPORTED");
  });

  it("an unknown t= is a 400 naming the allowed ones, as Tahoe-LAFS does", async () => {
    await refused(
      httpRequest("PUT", "/uri?t=frobnicate", { "Content-Length": 0 }),
      400,
      "TAHOE_ERR_WEB_BAD_REQUEST",
      /\/uri accepts only PUT, PUT\?t=mkdir, POST\?t=upload, and POST\?t=mkdir/,
    );
    await refused(
      httpRequest("POST", "/uri?t=frobnicate", { "Content-Length": 0 }),
      400,
      "TAHOE_ERR_WEB_BAD_REQUEST",
      /accepts only/,
    );
  });

  it("a t= given twice counts by its first value", async () => {
    await refused(
      httpRequest("PUT", "/uri?t=mkdir&t=x", { "Content-Length": 0 }),
      501,
      "TAHOE_ERR_WEB_NOT_SUPPORTED",
    );
  });
});

describe("an upload body that stalls", () => {
  it("is dropped with 408 TAHOE_ERR_WEB_TIMEOUT once no byte came for the idle time, PUT or form", async () => {
    const stallNode = createMemoryNode();
    const {
      server: stalling,
      port: stallPort,
      lines: stallLines,
    } = await startRecordedWebServer({ node: stallNode, uploadIdleTimeoutMs: 300 });
    try {
      const put = httpRequest("PUT", "/uri", { "Content-Length": 1000 }, "only ten b");
      const started = Date.now();
      const answer = await rawRequest(stallPort, put, { timeoutMs: 5_000 });
      expect(answer.status).toBe(408);
      expect(answer.body).toMatch(/^Error 408: TAHOE_ERR_WEB_TIMEOUT\nno bytes of the request body arrived/);
      expect(Date.now() - started).toBeLessThan(4_000);

      const body = fileForm().slice(0, -13);
      const stalledForm = form("XyZ", body).replace(/Content-Length: \d+/, "Content-Length: 5000");
      const formAnswer = await rawRequest(stallPort, stalledForm, { timeoutMs: 5_000 });
      expect(formAnswer.status).toBe(408);
      expect(formAnswer.body).toMatch(/^Error 408: TAHOE_ERR_WEB_TIMEOUT\n/);
      // The node saw both uploads start and end without a file.
      expect(stallNode.uploadSizes).toHaveLength(2);
      expect(stallNode.files.size).toBe(0);
      expect(stallLines.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
    } finally {
      await stalling.stop();
    }
  });

  it("is not dropped while its bytes keep coming, however slowly in all", async () => {
    const slowNode = createMemoryNode();
    const slow = createWebServer({
      node: slowNode,
      listen: { kind: "tcp", port: 0, interface: "127.0.0.1" },
      // Each gap is well under this: a loaded machine must not make a working client look hung.
      uploadIdleTimeoutMs: 1_000,
    });
    await slow.start();
    try {
      const pieces = Array.from({ length: 8 }, (_, i) => Buffer.alloc(100, 65 + i));
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const piece = pieces.shift();
          if (piece === undefined) return controller.close();
          await new Promise((resolve) => setTimeout(resolve, 150));
          // 8 gaps of 150 ms: 1.2 s in all, more than the idle time, each gap well under it.
          controller.enqueue(piece);
        },
      });
      const response = await fetch(`${slow.url()}uri`, {
        method: "PUT",
        body,
        duplex: "half",
      } as RequestInit);
      expect(response.status).toBe(200);
      expect(slowNode.files.get(await response.text())?.length).toBe(800);
    } finally {
      await slow.stop();
    }
  });
});
