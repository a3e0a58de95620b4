import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);
// A fresh process, so no other test has loaded undici's entry already; the built module is used.
const DIST = join(import.meta.dirname, "..", "dist", "undici-pool.js");

describe("loadPool: undici's Pool without the rest of undici", () => {
  it("gives a Pool whose request reaches a real server, and never loads undici's entry", async () => {
    const script = `
      import { createServer } from "node:http";
      import { createRequire } from "node:module";
      const { loadPool } = await import(${JSON.stringify(DIST)});
      const server = createServer((req, res) => res.end("pong " + req.method + " " + req.url));
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const Pool = await loadPool();
      const pool = new Pool("http://127.0.0.1:" + server.address().port, { connections: 1 });
      const reply = await pool.request({ path: "/ping", method: "GET" });
      const text = await reply.body.text();
      await pool.close();
      server.close();
      const require = createRequire(import.meta.url);
      const loaded = Object.keys(require.cache).filter((p) => p.includes("/undici/"));
      console.log(JSON.stringify({ status: reply.statusCode, text, loaded }));
    `;
    const { stdout } = await execFileAsync(process.execPath, ["--input-type=module", "-e", script]);
    const result = JSON.parse(stdout) as { status: number; text: string; loaded: string[] };
    expect(result.status).toBe(200);
    expect(result.text).toBe("pong GET /ping");
    expect(result.loaded.some((p) => p.endsWith("/lib/dispatcher/pool.js"))).toBe(true);
    expect(result.loaded.filter((p) => /\/undici\/index\.js$/.test(p))).toEqual([]);
    // fetch, WebSocket and the mocks are what the entry would have brought in.
    expect(result.loaded.filter((p) => /\/lib\/(web|mock)\//.test(p))).toEqual([]);
  });
});
