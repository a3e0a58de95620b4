import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sizeBucket } from "../src/deep-stats.js";
import { createWebApp, type WebDirectory } from "../src/index.js";
import { pythonJsonFlat } from "../src/operation-pages.js";
import { createMemoryDirectories } from "./memory-directories.js";
import { createMemoryNode, type MemoryNode } from "./memory-node.js";

/**
 * Tahoe's slow operations (webapi.rst "Slow Operations, Progress, and Cancelling") on a real
 * fastify app: t=start-manifest/-deep-size/-deep-stats/-deep-check, /operations/H, expiry on a
 * pinned clock, the limits. Directories are the in-memory stand-in; tests/grid runs deep-check.
 */

const DAY = 24 * 60 * 60 * 1000;
let node: MemoryNode;
let app: FastifyInstance;
let clock: number;

async function newApp(operations?: { maxOperations?: number; maxItems?: number }) {
  node = createMemoryNode();
  node.directories = createMemoryDirectories();
  clock = Date.parse("2026-12-07T08:00:00Z");
  app = await createWebApp(node, { now: () => clock, ...(operations ? { operations } : {}) });
}

beforeEach(() => newApp());
afterEach(() => app.close());

const at = (cap: string, path = "", query = "") =>
  `/uri/${encodeURIComponent(cap)}${path === "" ? "" : `/${path.split("/").map(encodeURIComponent).join("/")}`}${query}`;

async function tree(): Promise<string> {
  const root = (await app.inject({ method: "POST", url: "/uri?t=mkdir" })).body;
  await app.inject({ method: "PUT", url: at(root, "docs/a.txt"), payload: "bee" });
  await app.inject({ method: "PUT", url: at(root, "big.bin"), payload: Buffer.alloc(5000, 1) });
  await app.inject({ method: "PUT", url: at(root, "mid.bin"), payload: Buffer.alloc(200, 2) });
  // A second link to docs: walked once, as Tahoe dedupes by verify cap.
  const docs = JSON.parse((await app.inject({ method: "GET", url: at(root, "docs", "?t=json") })).body)[1]
    .rw_uri;
  await app.inject({
    method: "POST",
    url: at(root, "", `?t=uri&name=again&uri=${encodeURIComponent(docs)}`),
  });
  return root;
}

async function start(root: string, query: string): Promise<string> {
  const res = await app.inject({ method: "POST", url: at(root, "", `?${query}`) });
  expect(res.statusCode, res.body).toBe(302);
  return res.headers.location as string;
}

/** Polls the handle until the operation says it is finished (the memory tree answers at once). */
async function finished(location: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const res = await app.inject({ method: "GET", url: location });
    expect(res.statusCode, res.body).toBe(200);
    const data = JSON.parse(res.body);
    if (data.finished) return data;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${location} never finished`);
}

describe("t=start-manifest, start-deep-stats, start-deep-size", () => {
  it("start-manifest redirects to /operations/H and shows Tahoe's JSON, text and HTML", async () => {
    const root = await tree();
    const location = await start(root, "t=start-manifest&ophandle=m1&output=JSON");
    expect(location).toBe("/operations/m1?output=JSON");
    const data = await finished(location);
    expect(Object.keys(data)).toEqual([
      "stats",
      "finished",
      "origin",
      "manifest",
      "verifycaps",
      "storage-index",
    ]);
    const paths = (data.manifest as [string[], string][]).map(([p]) => p.join("/"));
    // Names sorted: "again" comes before "docs" and is the link walked.
    expect(paths).toEqual(["", "big.bin", "mid.bin", "again", "again/a.txt"]);
    expect((data.manifest as [string[], string][])[0]![1]).toBe(root);
    expect(data.origin).toMatch(/^[a-z2-7]{26}$/);
    // Two directories and two CHK files have verify caps; the LIT file has none.
    expect((data.verifycaps as string[]).length).toBe(4);
    expect(data["storage-index"] as string[]).toContain(data.origin);
    expect(data.stats).toMatchObject({ "count-directories": 2, "count-files": 3, "count-literal-files": 1 });

    const text = await app.inject({ method: "GET", url: "/operations/m1?output=text" });
    expect(text.body.split("\n")[0]).toBe("finished: yes");
    expect(text.body).toContain(`\n ${root}\n`);
    expect(text.body).toMatch(/\nagain\/a\.txt URI:LIT:/);
    const page = await app.inject({ method: "GET", url: "/operations/m1" });
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain(`Manifest of SI=${String(data.origin).slice(0, 6)}`);
    expect(page.body).not.toContain("Operation still running");
  });

  it("start-deep-stats gives Tahoe's DeepStats with the histogram's buckets; start-deep-size the sum", async () => {
    const root = await tree();
    const stats = await finished(await start(root, "t=start-deep-stats&ophandle=s1"));
    expect(stats).toEqual({
      "api-version": 1,
      "count-immutable-files": 2,
      "count-mutable-files": 0,
      "count-literal-files": 1,
      "count-files": 3,
      "count-directories": 2,
      "count-unknown": 0,
      "size-immutable-files": 5200,
      "size-literal-files": 3,
      "size-directories": 0,
      "largest-directory": 0,
      "largest-directory-children": 4,
      "largest-immutable-file": 5000,
      "size-files-histogram": [
        [1, 3, 1],
        [101, 316, 1],
        [3163, 10000, 1],
      ],
      finished: true,
    });
    expect(await start(root, "t=start-deep-size&ophandle=z1&output=json")).toBe("/operations/z1?output=json");
    await finished("/operations/z1?output=json");
    const size = await app.inject({ method: "GET", url: "/operations/z1?output=json" });
    // Python's json.dumps without indent.
    expect(size.body).toMatch(
      /^\{"finished": true, "size": \{"api-version": 1, "count-immutable-files": 2, /,
    );
    const text = await app.inject({ method: "GET", url: "/operations/z1" });
    expect(text.body).toBe("finished: yes\nsize: 5200\n");
  });

  it("the size buckets are Tahoe's, two per decade, computed as pyutil does", () => {
    expect([0, 1, 3, 4, 10, 11, 31, 32, 100, 101, 316, 317, 1000, 1001].map((s) => sizeBucket(s))).toEqual([
      [0, 0],
      [1, 3],
      [1, 3],
      [4, 10],
      [4, 10],
      [11, 31],
      [11, 31],
      [32, 100],
      [32, 100],
      [101, 316],
      [101, 316],
      [317, 1000],
      [317, 1000],
      [1001, 3162],
    ]);
    // Values the reference Tahoe's which_bucket gives for large sizes (float products kept).
    expect(sizeBucket(1_000_000_000)).toEqual([316227767, 1000000000]);
    expect(sizeBucket(2 ** 53)).toEqual([3162277660168387, 10000000000000022]);
    expect(pythonJsonFlat({ a: [1, "é"], b: {} })).toBe('{"a": [1, "\\u00e9"], "b": {}}');
  });
});

describe("/operations/H", () => {
  it("refuses a start without ophandle= (400) and an unknown handle (404) in Tahoe's words", async () => {
    const root = await tree();
    const none = await app.inject({ method: "POST", url: at(root, "", "?t=start-manifest") });
    expect(none.statusCode).toBe(400);
    expect(none.body).toContain("slow operation requires ophandle=");
    const unknown = await app.inject({ method: "GET", url: "/operations/nope?output=JSON" });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain("unknown/expired handle 'nope'");
    const badRetain = await app.inject({
      method: "POST",
      url: at(root, "", "?t=start-manifest&ophandle=r&retain-for=soon"),
    });
    expect(badRetain.statusCode).toBe(400);
    expect(badRetain.body).toContain("retain-for=");
    // when_done= leads back into the node only.
    expect(await start(root, "t=start-deep-stats&ophandle=w1&when_done=/status")).toBe("/status");
    expect(await start(root, "t=start-deep-stats&ophandle=w2&when_done=https://elsewhere.example/")).toBe(
      "/operations/w2",
    );
    const check = await app.inject({ method: "POST", url: at(root, "", "?t=start-deep-check&ophandle=c") });
    // The memory node has no checker: refused before a handle is taken.
    expect(check.statusCode).toBe(501);
    expect((await app.inject({ method: "GET", url: "/operations/c" })).statusCode).toBe(404);
  });

  it("handles expire as Tahoe's do: 4 days unseen, 1 day once seen finished, retain-for=, release-after-complete", async () => {
    const root = await tree();
    await start(root, "t=start-deep-stats&ophandle=unseen");
    await start(root, "t=start-deep-stats&ophandle=seen");
    await start(root, "t=start-deep-stats&ophandle=kept&retain-for=60");
    await start(root, "t=start-deep-stats&ophandle=once");
    await finished("/operations/once?output=JSON");
    await finished("/operations/seen");
    await finished("/operations/kept?retain-for=600");
    const get = (h: string) => app.inject({ method: "GET", url: `/operations/${h}?output=JSON` });
    // release-after-complete: this answer is the last.
    expect(
      (await app.inject({ method: "GET", url: "/operations/once?release-after-complete=true" })).statusCode,
    ).toBe(200);
    expect((await get("once")).statusCode).toBe(404);

    clock += 599_000;
    expect((await app.inject({ method: "GET", url: "/operations/kept?retain-for=600" })).statusCode).toBe(
      200,
    );
    clock += 601_000;
    expect((await get("kept")).statusCode).toBe(404);

    clock += DAY - 1_200_000 + 1000; // a day after "seen" was collected
    expect((await get("seen")).statusCode).toBe(404);
    expect((await get("unseen")).statusCode).toBe(200); // collecting it now gives it one more day
    clock += DAY - 1000;
    expect((await get("unseen")).statusCode).toBe(200);
    clock += DAY + 1000;
    expect((await get("unseen")).statusCode).toBe(404);
  });

  it("t=cancel stops a running operation and releases its handle", async () => {
    const root = await tree();
    const dirs = node.directories!;
    const open = dirs.open.bind(dirs);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let listed = 0;
    // The subdirectory's listing waits, so the walk is still running when cancel comes.
    dirs.open = async (cap, o) => {
      const d = await open(cap, o);
      if (cap === root) return d;
      return {
        ...d,
        list: async () => {
          listed += 1;
          await gate;
          return d.list();
        },
      } as WebDirectory;
    };
    const location = await start(root, "t=start-manifest&ophandle=c1&output=JSON");
    while (listed === 0) await new Promise((r) => setTimeout(r, 5));
    const running = JSON.parse((await app.inject({ method: "GET", url: location })).body);
    expect(running).toMatchObject({ finished: false, origin: expect.any(String) });
    expect(running.manifest).toBeUndefined();
    const html = await app.inject({ method: "GET", url: "/operations/c1" });
    expect(html.body).toContain("Operation still running");
    expect(html.body).toContain('action="/operations/c1?t=cancel"');
    expect(html.body).toContain('http-equiv="refresh"');
    const cancel = await app.inject({ method: "POST", url: "/operations/c1?t=cancel&output=JSON" });
    expect(cancel.statusCode).toBe(200);
    expect(JSON.parse(cancel.body).finished).toBe(false);
    release();
    expect((await app.inject({ method: "GET", url: location })).statusCode).toBe(404);
  });

  it("bounds handles per node (503) and what one operation keeps (507 on its status)", async () => {
    await app.close();
    await newApp({ maxOperations: 2, maxItems: 3 });
    const root = await tree();
    await start(root, "t=start-deep-stats&ophandle=a");
    await start(root, "t=start-deep-stats&ophandle=b");
    const third = await app.inject({ method: "POST", url: at(root, "", "?t=start-deep-stats&ophandle=c") });
    expect(third.statusCode).toBe(503);
    expect(third.body).toContain("TAHOE_ERR_WEB_TOO_MANY_OPERATIONS");
    // Reusing a handle takes its place; collecting one frees a place.
    await start(root, "t=start-manifest&ophandle=b&output=JSON");
    await finished("/operations/a?release-after-complete=true");
    await start(root, "t=start-deep-stats&ophandle=c");
    // The manifest of five objects is more than maxItems=3.
    let res = await app.inject({ method: "GET", url: "/operations/b?output=JSON" });
    for (let i = 0; i < 100 && res.statusCode === 200; i++) {
      await new Promise((r) => setTimeout(r, 10));
      res = await app.inject({ method: "GET", url: "/operations/b?output=JSON" });
    }
    expect(res.statusCode).toBe(507);
    expect(res.body).toContain("TAHOE_ERR_WEB_OPERATION_TOO_LARGE");
    expect(res.body).toContain("stream-manifest");
  });
});
