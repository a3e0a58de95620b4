import { TahoeError } from "@lafs/interface";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWebApp } from "../src/index.js";
import { createMemoryControl, createMemoryNode, type MemoryControl, type MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let control: MemoryControl;
let app: FastifyInstance;
const MINUTE = 60_000;

async function makeApp(options: { idleTimeoutMs?: number; private?: boolean } = {}): Promise<void> {
  await app?.close();
  node = createMemoryNode();
  control = createMemoryControl(
    node,
    options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs },
  );
  app = await createWebApp(node, {
    control,
    ...(options.private
      ? { uploadAuthority: { mode: "private" as const, token: async () => "the-token" } }
      : {}),
  });
}

beforeEach(() => makeApp());
afterEach(() => app.close());

const base = () => `/control/${control.secret}`;
const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: "GET", url, headers: { accept: "text/html", ...headers } });
const postForm = (url: string, fields: [string, string][], headers: Record<string, string> = {}) =>
  app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/x-www-form-urlencoded", host: "127.0.0.1:3456", ...headers },
    payload: new URLSearchParams(fields).toString(),
  });

function expectSecurityHeaders(res: LightMyRequestResponse, what: string): void {
  expect(res.headers["referrer-policy"], what).toBe("no-referrer");
  expect(res.headers["cache-control"], what).toBe("no-store");
  expect(res.headers["x-frame-options"], what).toBe("DENY");
  const csp = String(res.headers["content-security-policy"]);
  expect(csp, what).toContain("default-src 'none'");
  expect(csp, what).not.toMatch(/https?:|\*|unsafe-inline/);
  expect(res.headers["set-cookie"], what).toBeUndefined();
}

const [bob, carol] = [
  "v0-server1server1server1server1server1server1server1se",
  "v0-server2server2server2server2server2server2server2se",
];

describe("the secret URL", () => {
  it("serves every page with the right secret, with the security headers and a nav", async () => {
    for (const path of ["/", "/encoding", "/upload", "/simulator"]) {
      const res = await get(`${base()}${path}`);
      expect(res.statusCode, path).toBe(200);
      expectSecurityHeaders(res, path);
      // Every panel page shares the panel's nav and the site header, with its way back to the welcome page.
      expect(res.body, path).toContain('<nav class="panel-nav" aria-label="Control panel">');
      expect(res.body, path).toContain('<a class="brand" href="/">');
      expect(res.body, path).not.toContain(control.secret);
    }
  });

  it("redirects the bare secret URL to the one with a slash, so relative links stay inside", async () => {
    const res = await get(base());
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${control.secret}/`);
  });

  it("answers a wrong, absent, rotated or retired secret with exactly the generic 404", async () => {
    const unknown = await get(`${base()}/no-such-page`);
    expect(unknown.statusCode).toBe(404);
    const old = control.secret!;
    const cases = [
      "/control/wrong/",
      "/control/wrong/encoding",
      "/control/",
      "/control",
      `/control/${old.slice(0, -1)}/`,
    ];
    for (const url of cases) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expectSecurityHeaders(res, url);
      expect(res.body, url).toBe(unknown.body);
    }
    control.secret = "a-brand-new-secret-a-brand-new-secret-abcde";
    const rotated = await get(`/control/${old}/`);
    expect(rotated.statusCode).toBe(404);
    expect(rotated.body).toBe(unknown.body);
    expect((await get(`${base()}/`)).statusCode).toBe(200);
    control.secret = undefined;
    expect((await get(`/control/${old}/`)).body).toBe(unknown.body);
    // The same page the welcome app gives for any other unknown URL, bar the path it names.
    const elsewhere = await get("/nowhere");
    expect(unknown.body.replace("/control/…", "/nowhere")).toBe(elsewhere.body);
  });

  it("retires a secret left unused for the idle timeout, and keeps one in use alive", async () => {
    await makeApp({ idleTimeoutMs: 15 * MINUTE });
    control.clock = 10 * MINUTE;
    expect((await get(`${base()}/`)).statusCode).toBe(200);
    control.clock = 24 * MINUTE;
    expect((await get(`${base()}/encoding`)).statusCode).toBe(200);
    const secret = control.secret;
    control.clock = 40 * MINUTE;
    expect((await get(`/control/${secret}/`)).statusCode).toBe(404);
    expect(control.secret).toBeUndefined();
  });
});

describe("the servers page", () => {
  it("lists every server with labelled allowed/required checkboxes and the new-servers control", async () => {
    control.flags.set(carol, { allowed: false, required: false, decided: true });
    const res = await get(`${base()}/`);
    expect(res.body).toContain(`name="allowed" value="${bob}" checked`);
    expect(res.body).toContain(`name="allowed" value="${carol}">`);
    expect(res.body).toContain(`name="required" value="${bob}">`);
    expect(res.body).toMatch(/<select id="new-servers" name="new-servers">/);
    for (const [, id] of res.body.matchAll(/<input type="checkbox" id="([^"]+)"/g))
      expect(res.body, id).toContain(`<label for="${id}">`);
  });

  it("saves the choices and redirects back with a note", async () => {
    const res = await postForm(`${base()}/servers`, [
      ["shown", bob],
      ["shown", carol],
      ["allowed", bob],
      ["required", bob],
      ["new-servers", "not-allowed"],
    ]);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("./?saved=1");
    expectSecurityHeaders(res, "POST servers");
    expect(control.saved).toEqual([
      { allowed: [bob], required: [bob], newServersAllowed: false, shown: [bob, carol] },
    ]);
    const after = await get(`${base()}/?saved=1`);
    expect(after.body).toContain('id="panel-saved"');
    expect(after.body).toContain('<option value="not-allowed" selected>');
  });

  it("shows hand-edit mistakes with their lines, and a refusal to overwrite a broken file", async () => {
    control.issues = [{ file: "servers-allowed", line: 3, message: "'xyz' is not a server id" }];
    const page = await get(`${base()}/`);
    expect(page.body).toContain("<code>servers-allowed</code> line 3: &#39;xyz&#39; is not a server id");
    control.refuseSaveWith = new TahoeError(
      "TAHOE_ERR_CONFIG_CONTROL_PANEL",
      "control-panel.json:2: not valid JSON; not saved, so your edit is not lost",
      { hint: "Fix the file or remove it, then save again." },
    );
    const res = await postForm(`${base()}/servers`, [["allowed", bob]]);
    expect(res.statusCode).toBe(409);
    expect(res.body).toContain("not saved, so your edit is not lost");
    expect(control.saved).toEqual([]);
  });

  it("refuses a cross-site POST, with 403 and a code, but only behind the right secret", async () => {
    const crossSite: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of crossSite) {
      const res = await postForm(`${base()}/servers`, [["allowed", bob]], headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.body).toContain("TAHOE_ERR_WEB_CROSS_SITE");
    }
    const same = await postForm(`${base()}/servers`, [["allowed", bob]], {
      origin: "http://127.0.0.1:3456",
      "sec-fetch-site": "same-origin",
    });
    expect(same.statusCode).toBe(303);
    // What Chromium sends with the panel's own forms under Referrer-Policy: no-referrer.
    const nullOrigin = await postForm(`${base()}/servers`, [["allowed", bob]], {
      origin: "null",
      "sec-fetch-site": "same-origin",
    });
    expect(nullOrigin.statusCode).toBe(303);
    const wrong = await postForm("/control/wrong/servers", [["allowed", bob]], {
      origin: "https://evil.example",
    });
    expect(wrong.statusCode).toBe(404);
    expect(control.saved).toHaveLength(2);
  });
});

describe("the encoding page", () => {
  it("shows the values in effect and saves new ones", async () => {
    const page = await get(`${base()}/encoding`);
    expect(page.body).toMatch(/<label for="enc-k">/);
    expect(page.body).toContain('name="happy" min="1" max="256" required value="7"');
    const res = await postForm(`${base()}/encoding`, [
      ["k", "2"],
      ["happy", "2"],
      ["n", "4"],
    ]);
    expect(res.statusCode).toBe(303);
    expect(control.enc).toEqual({ k: 2, happy: 2, n: 4 });
    // Two servers are allowed by default: happy = 2 is the foot-gun.
    expect((await get(`${base()}/encoding?saved=1`)).body).toContain('id="panel-warning"');
  });

  it("shows an invalid value on the page with the rule, and keeps what was typed", async () => {
    const res = await postForm(`${base()}/encoding`, [
      ["k", "5"],
      ["happy", "3"],
      ["n", "x"],
    ]);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain("n = &#39;x&#39; is not a whole number");
    expect(res.body).toContain('name="n" min="1" max="256" required value="x"');
    const rule = await postForm(`${base()}/encoding`, [
      ["k", "5"],
      ["happy", "3"],
      ["n", "10"],
    ]);
    expect(rule.statusCode).toBe(400);
    expect(rule.body).toContain("1 &lt;= k &lt;= happy");
    expect(control.enc).toEqual({ k: 3, happy: 7, n: 10 });
  });
});

describe("uploads", () => {
  function multipart(data: string) {
    const boundary = "----lafsboundary";
    return {
      payload:
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n${data}\r\n--${boundary}--\r\n`,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, host: "127.0.0.1:3456" },
    };
  }

  it("shows the uploads-disabled banner on the panel and the welcome page", async () => {
    node.state.uploads = {
      ready: false,
      reason: "uploads disabled: server 'bob' (v0-server1…) is required but not connected",
    };
    for (const url of [`${base()}/`, `${base()}/encoding`, "/"]) {
      const res = await get(url);
      expect(res.body, url).toMatch(/id="uploads-banner"[^>]*>[^<]*uploads disabled: server &#39;bob&#39;/);
    }
  });

  it("with web.upload-authority = private: no welcome form, 403 without the token, 200 with it", async () => {
    await makeApp({ private: true });
    const welcome = await get("/");
    expect(welcome.body).not.toContain('action="/uri?t=upload');
    expect(welcome.body).toContain('id="uploads-private"');
    const refused = await app.inject({ method: "PUT", url: "/uri", payload: "hello" });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain("TAHOE_ERR_WEB_UPLOAD_FORBIDDEN");
    expectSecurityHeaders(refused, "PUT refused");
    const wrongToken = await app.inject({
      method: "PUT",
      url: "/uri",
      payload: "hello",
      headers: { authorization: "tahoe-bearer nope" },
    });
    expect(wrongToken.statusCode).toBe(403);
    const form = await app.inject({ method: "POST", url: "/uri?t=upload", ...multipart("hi") });
    expect(form.statusCode).toBe(403);
    const ok = await app.inject({
      method: "PUT",
      url: "/uri",
      payload: "hello",
      headers: { authorization: "tahoe-bearer the-token" },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toMatch(/^URI:LIT:/);
    const panel = await app.inject({
      method: "POST",
      url: `${base()}/upload`,
      ...multipart("from the panel"),
    });
    // POST, then 303 to the result: a reload shows it again and uploads nothing.
    expect(panel.statusCode).toBe(303);
    expect(panel.headers.location).toMatch(/^upload\?cap=URI%3ALIT%3A/);
    const result = await get(`${base()}/${panel.headers.location}`);
    expect(result.body).toContain('<code id="upload-cap">URI:LIT:');
  });

  it("fails the panel's upload with placement's message", async () => {
    node.refuseWith = new TahoeError(
      "TAHOE_ERR_PLACEMENT_REFUSED",
      "uploads disabled: server 'bob' (v0-server1…) is required but not connected",
    );
    const res = await app.inject({ method: "POST", url: `${base()}/upload`, ...multipart("x") });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain("is required but not connected");
  });
});
