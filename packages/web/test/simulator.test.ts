import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlServerInfo, WebControl } from "../src/control/control-node.js";
import { registerSimulatorRoutes } from "../src/control/simulator-page.js";
import { createWebApp } from "../src/index.js";
import { createMemoryNode } from "./memory-node.js";

const SECRET = "s3cr3t-abcdefghijklmnopqrstuvwxyz012345";
const BUNDLE = new URL("../dist/assets/simulator.js", import.meta.url);

function server(id: string, nickname: string, extra: Partial<ControlServerInfo> = {}): ControlServerInfo {
  return {
    id,
    nickname,
    connection: { state: "connected" },
    learnedFrom: ["default"],
    allowed: true,
    required: false,
    decided: true,
    listedOnly: false,
    full: false,
    ...extra,
  };
}

const HOSTILE = `</script><script>alert(1)</script><b>"x'&`;

function memoryControl(): WebControl {
  const servers = [
    server("v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", HOSTILE, {
      permutationSeed: "mfrggzdf",
    }),
    server("v0-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "bob", {
      connection: { state: "disconnected" },
      required: true,
    }),
    server("v0-cccccccccccccccccccccccccccccccccccccccccccccccccccc", "carol", {
      allowed: false,
      full: true,
    }),
  ];
  return {
    secretMatches: async (candidate) => candidate === SECRET,
    servers: async () => ({
      servers,
      newServersAllowed: true,
      newServersAllowedSource: "default",
      issues: [],
    }),
    saveServers: async () => {},
    encoding: async () => ({
      k: 2,
      happy: 3,
      n: 4,
      sources: { k: "tahoe.cfg", happy: "control panel", n: "default" },
    }),
    saveEncoding: async () => {},
  };
}

let app: Awaited<ReturnType<typeof createWebApp>>;

beforeAll(async () => {
  app = await createWebApp(createMemoryNode());
  const control = memoryControl();
  await app.register(
    async (scope) => {
      // The real panel checks the secret in its scope; this stand-in does the same, minimally.
      scope.addHook("onRequest", async (request, reply) => {
        const { secret } = request.params as { secret: string };
        if (!(await control.secretMatches(secret))) return reply.code(404).send("not found");
      });
      registerSimulatorRoutes(scope, control);
    },
    { prefix: "/control/:secret" },
  );
  await app.ready();
});
afterAll(() => app.close());

function expectSimulatorHeaders(headers: Record<string, unknown>): void {
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["cache-control"]).toBe("no-store");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  const csp = String(headers["content-security-policy"]);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).toContain("form-action 'self'");
  expect(csp).not.toMatch(/https?:|\*|unsafe-inline|unsafe-eval/);
}

describe("the simulator page", () => {
  it("embeds the grid as JSON that cannot break out of its script element", async () => {
    const res = await app.inject(`/control/${SECRET}/simulator`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expectSimulatorHeaders(res.headers);
    const match = /<script type="application\/json" id="simulator-data">([^<]*)<\/script>/.exec(res.body);
    expect(match, "the data block").not.toBeNull();
    const data = JSON.parse(match![1]!);
    expect(data).toEqual({
      k: 2,
      happy: 3,
      n: 4,
      servers: [
        {
          id: "v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          nickname: HOSTILE,
          permutationSeed: "mfrggzdf",
          connected: true,
          allowed: true,
          required: false,
          full: false,
        },
        {
          id: "v0-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
          nickname: "bob",
          connected: false,
          allowed: true,
          required: true,
          full: false,
        },
        {
          id: "v0-cccccccccccccccccccccccccccccccccccccccccccccccccccc",
          nickname: "carol",
          connected: true,
          allowed: false,
          required: false,
          full: true,
        },
      ],
    });
  });

  it("escapes nicknames in the table and runs no inline script", async () => {
    const res = await app.inject(`/control/${SECRET}/simulator`);
    expect(res.body).not.toContain("<script>alert(1)");
    expect(res.body).not.toContain("<b>");
    expect(res.body).toContain(
      "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;&quot;x&#39;&amp;",
    );
    const scripts = [...res.body.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim());
    expect(scripts).toEqual([
      'type="application/json" id="simulator-data"',
      'src="assets/simulator.js" defer',
    ]);
    // The read-only table is there for a browser without JavaScript.
    expect(res.body).toContain('id="sim-static-servers"');
    expect(res.body).toContain("<td>bob</td>");
  });

  it("names no other origin and never writes the secret into the page", async () => {
    const res = await app.inject(`/control/${SECRET}/simulator`);
    expect(res.body).not.toMatch(/https?:\/\//);
    expect(res.body).not.toContain(SECRET);
  });

  it("is a plain 404 under a wrong secret", async () => {
    const res = await app.inject("/control/wrong/simulator");
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain("simulator-data");
  });

  it("leaves the other pages without script-src (the welcome page has only its own upload script)", async () => {
    const welcome = await app.inject("/");
    expect(String(welcome.headers["content-security-policy"])).toMatch(
      /; script-src 'self'; connect-src 'self'$/,
    );
    for (const url of ["/status", "/no-such-page", "/static/lafs.css"]) {
      const res = await app.inject(url);
      expect(String(res.headers["content-security-policy"]), url).not.toContain("script-src");
    }
  });
});

describe("the simulator bundle", () => {
  it("is served from the secret scope as JavaScript with the security headers", async () => {
    expect(existsSync(BUNDLE), "dist/assets/simulator.js: run pnpm --filter @lafs/web build").toBe(true);
    const res = await app.inject(`/control/${SECRET}/assets/simulator.js`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/javascript/);
    expectSimulatorHeaders(res.headers);
    expect(res.body).toBe(readFileSync(BUNDLE, "utf8"));
    expect(res.body).toContain("simulator-data");
  });

  it("loads nothing from anywhere and carries no build paths", () => {
    const bundle = readFileSync(BUNDLE, "utf8");
    expect(bundle).not.toMatch(/https?:\/\/|\/\/# sourceMappingURL|\/work\/|\/home\/|\/root\//);
    expect(bundle).not.toMatch(/\bfetch\(|XMLHttpRequest|WebSocket|sendBeacon|EventSource/);
  });

  it("is a 404 under a wrong secret", async () => {
    const res = await app.inject("/control/wrong/assets/simulator.js");
    expect(res.statusCode).toBe(404);
  });
});
