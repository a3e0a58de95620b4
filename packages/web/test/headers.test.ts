import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebServer, type WebServer } from "../src/index.js";
import { createMemoryNode, type MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let server: WebServer;

beforeAll(async () => {
  node = createMemoryNode();
  server = createWebServer({ node, listen: { kind: "tcp", port: 0, interface: "127.0.0.1" } });
  await server.start();
});
afterAll(() => server.stop());

function expectSecurityHeaders(headers: Headers, what: string): void {
  expect(headers.get("referrer-policy"), what).toBe("no-referrer");
  expect(headers.get("cache-control"), what).toBe("no-store");
  expect(headers.get("x-frame-options"), what).toBe("DENY");
  const csp = headers.get("content-security-policy") ?? "";
  expect(csp, what).toContain("default-src 'none'");
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).not.toMatch(/https?:|\*|unsafe-inline/);
}

describe("every response", () => {
  it("carries the security headers and no stack trace, errors and 404s included", async () => {
    const base = server.url();
    const lit = "URI:LIT:nbswy3dp";
    const cases: [string, RequestInit, number][] = [
      ["", {}, 200],
      ["?t=json", {}, 200],
      ["?t=bad", {}, 400],
      ["nowhere", { headers: { accept: "text/html" } }, 404],
      ["nowhere", {}, 404],
      [`uri/${lit}`, {}, 200],
      [`uri/${lit}?t=json`, {}, 200],
      [`uri/${lit}`, { headers: { range: "bytes=1-2" } }, 206],
      [`uri/${lit}`, { headers: { range: "bytes=99-" } }, 416],
      ["uri/URI:BAD", {}, 400],
      [`uri/URI:LIT:${"a".repeat(5000)}`, {}, 414],
      [`uri?uri=${lit}`, { redirect: "manual" }, 303],
      ["uri", { method: "PUT", body: "hello" }, 200],
      ["uri?t=upload", { method: "POST", body: "x" }, 400],
      ["uri", { method: "DELETE" }, 404],
      [`uri/${lit}`, { method: "HEAD" }, 200],
    ];
    for (const [path, init, status] of cases) {
      const what = `${init.method ?? "GET"} /${path}`;
      const res = await fetch(`${base}${path}`, init);
      const text = await res.text();
      expect(res.status, what).toBe(status);
      expectSecurityHeaders(res.headers, what);
      expect(text, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    }
  });

  it("answers a malformed URL with a Tahoe error page, not fastify's JSON", async () => {
    const url = new URL(server.url());
    const res = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
      (resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: "/uri/%E0%A4%A" }, (r) => {
          let body = "";
          r.setEncoding("utf8");
          r.on("data", (c: string) => {
            body += c;
          });
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body, headers: r.headers }));
        });
        req.on("error", reject);
        req.end();
      },
    );
    expect(res.status).toBe(400);
    expect(res.body).toContain("TAHOE_ERR_WEB_BAD_REQUEST");
    expect(res.headers["x-frame-options"]).toBe("DENY");
  });
});
