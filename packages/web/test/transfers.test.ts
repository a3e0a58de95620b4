import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWebApp } from "../src/index.js";
import { createTransferLog } from "../src/transfer-log.js";
import { createMemoryNode } from "./memory-node.js";

describe("the transfer log", () => {
  it("keeps running transfers and a bounded list of finished ones, and tells the activity sink", () => {
    let clock = 1_000_000;
    const seen: string[] = [];
    const log = createTransferLog({
      now: () => clock,
      recent: 2,
      activity: {
        track: (kind, name) => {
          seen.push(`start ${kind} ${name}`);
          return { progress: (n) => seen.push(`progress ${n}`), done: () => seen.push(`done ${name}`) };
        },
      },
    });
    const a = log.track("upload", "a.txt", 100);
    a.progress(40);
    clock += 2000;
    a.succeeded({ cap: "URI:CHK:x" });
    a.failed(new Error("late"));
    const b = log.track("download", "b", 10);
    b.failed(Object.assign(new Error("gone"), { code: "TAHOE_ERR_X" }));
    log.track("download", "c", 5).failed(new Error("stopped"), true);
    const running = log.track("upload", "d");
    running.progress(7);
    const list = log.list();
    expect(list.map((t) => [t.name, t.state])).toEqual([
      ["d", "active"],
      ["c", "cancelled"],
      ["b", "failed"],
    ]);
    expect(list[2]!.error).toBe("TAHOE_ERR_X: gone");
    expect(seen).toContain("done a.txt");
    expect(seen.filter((s) => s === "done a.txt")).toHaveLength(1);
  });
});

describe("/status", () => {
  let app: Awaited<ReturnType<typeof createWebApp>>;
  const log = createTransferLog({ now: () => 1_700_000_000_000 });
  beforeEach(async () => {
    const node = createMemoryNode();
    node.transfers = () => log.list();
    app = await createWebApp(node, { now: () => 1_700_000_004_000 });
  });
  afterEach(() => app.close());

  it("answers Tahoe-LAFS's JSON shape at ?t=json and a page with the same transfers", async () => {
    const up = log.track("upload", "<b>notes</b>.txt", 4000);
    up.progress(4000);
    up.succeeded({ cap: "URI:LIT:nbuq" });
    log.track("download", "URI:CHK:abcd…", 1000).progress(250);
    const json = (await app.inject({ url: "/status?t=json" })).json() as {
      active: Record<string, unknown>[];
      recent: Record<string, unknown>[];
    };
    expect(json.active).toEqual([
      expect.objectContaining({
        "storage-index-string": null,
        "total-size": 1000,
        status: "downloading",
        type: "download",
        progress: 0.25,
        "bytes-done": 250,
        "bytes-per-second": 62.5,
      }),
    ]);
    expect(json.recent).toEqual([
      expect.objectContaining({
        type: "upload",
        status: "done",
        "total-size": 4000,
        "progress-hash": 1,
        "progress-ciphertext": 1,
        "progress-encode-push": 1,
        cap: "URI:LIT:nbuq",
      }),
    ]);
    const page = await app.inject({ url: "/status", headers: { accept: "text/html" } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("&lt;b&gt;notes&lt;/b&gt;.txt");
    expect(page.body).toContain('<progress max="100" value="25"');
    expect(page.body).toContain('<meta http-equiv="refresh" content="2">');
    expect(page.body).toContain('href="/uri/URI%3ALIT%3Anbuq?t=info"');
    expect((await app.inject({ url: "/status?t=xml" })).statusCode).toBe(400);
  });

  it("serves the stylesheet and the icon, cacheable, and no page uses an inline style", async () => {
    const css = await app.inject({ url: "/static/lafs.css" });
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.headers["cache-control"]).toBe("public, max-age=3600");
    expect(css.body).toContain("prefers-color-scheme:dark");
    const icon = await app.inject({ url: "/favicon.ico" });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers["content-type"]).toBe("image/svg+xml");
    const welcome = await app.inject({ url: "/" });
    expect(welcome.headers["content-security-policy"]).toContain("style-src 'self';");
    expect(welcome.headers["cache-control"]).toBe("no-store");
    expect(welcome.body).not.toContain("<style");
  });
});
