import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { createTransferLog } from "../src/transfer-log.js";
import { useMemoryApp } from "./memory-app.js";
import type { MemoryNode } from "./memory-node.js";

/** The directory page as a browser without JavaScript uses it: links, plain forms, 303s. */

let node: MemoryNode;
let app: FastifyInstance;

useMemoryApp((fresh) => ({ node, app } = fresh), { maxUploadBytes: 1024 * 1024 }, { directories: true });

const HTML = { accept: "text/html,application/xhtml+xml" };
const FORM = { "content-type": "application/x-www-form-urlencoded", ...HTML };
const dirUrl = (cap: string, ...names: string[]) =>
  `/uri/${encodeURIComponent(cap)}/${names.map((n) => `${encodeURIComponent(n)}/`).join("")}`;

async function mkdir(): Promise<string> {
  const res = await app.inject({ method: "POST", url: "/uri?t=mkdir" });
  expect(res.statusCode, res.body).toBe(200);
  return res.body;
}

async function put(root: string, path: string, body: string | Buffer): Promise<void> {
  const url = `/uri/${encodeURIComponent(root)}/${path.split("/").map(encodeURIComponent).join("/")}`;
  const res = await app.inject({ method: "PUT", url, payload: body });
  expect(res.statusCode, res.body).toBeLessThan(300);
}

async function get(url: string) {
  const res = await app.inject({ method: "GET", url, headers: HTML });
  return res;
}

/** A browser's multipart form: fields first, then one part per file (the order the page's form has). */
function form(fields: Record<string, string>, files: { name: string; data: string }[]) {
  const boundary = "----lafsDirPage";
  const parts = [
    ...Object.entries(fields).map(
      ([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
    ),
    ...files.map(
      (f) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${f.name}"\r\nContent-Type: application/octet-stream\r\n\r\n${f.data}\r\n`,
    ),
  ];
  return {
    payload: Buffer.from(`${parts.join("")}--${boundary}--\r\n`),
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, ...HTML },
  };
}

/** The names in the listing's rows, in page order. */
const rowNames = (body: string) => [...body.matchAll(/<tr data-name="([^"]*)">/g)].map((m) => m[1]);

describe("the listing", () => {
  it("sorts by name, size, type and modified on the server, with links in the column headers", async () => {
    const root = await mkdir();
    await put(root, "b-small.txt", "x");
    await put(root, "a-big.bin", Buffer.alloc(5000, 1));
    await put(root, "c-mid.png", Buffer.alloc(300, 2));
    await put(root, "zdir/inner.txt", "in");
    const byName = await get(dirUrl(root));
    expect(byName.statusCode).toBe(200);
    // Directories first, then files by name.
    expect(rowNames(byName.body)).toEqual(["zdir", "a-big.bin", "b-small.txt", "c-mid.png"]);
    expect(byName.body).toContain('<th scope="col" aria-sort="ascending"><a href="?sort=-name">');
    expect(byName.body).toContain('<a href="?sort=size">Size');
    expect(rowNames((await get(`${dirUrl(root)}?sort=-name`)).body)).toEqual([
      "zdir",
      "c-mid.png",
      "b-small.txt",
      "a-big.bin",
    ]);
    const bySize = await get(`${dirUrl(root)}?sort=-size`);
    expect(rowNames(bySize.body)).toEqual(["zdir", "a-big.bin", "c-mid.png", "b-small.txt"]);
    expect(bySize.body).toContain('aria-sort="descending"');
    expect(rowNames((await get(`${dirUrl(root)}?sort=size`)).body)).toEqual([
      "zdir",
      "b-small.txt",
      "c-mid.png",
      "a-big.bin",
    ]);
    // The type sorts by label then MIME type: application/octet-stream (none) < image/png < text/plain.
    expect(rowNames((await get(`${dirUrl(root)}?sort=type`)).body)).toEqual([
      "zdir",
      "a-big.bin",
      "c-mid.png",
      "b-small.txt",
    ]);
    expect(rowNames((await get(`${dirUrl(root)}?sort=modified`)).body)).toHaveLength(4);
    const bad = await get(`${dirUrl(root)}?sort=colour`);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("unknown sort=colour");
    expect(bad.body).toContain("name, size, type, modified");
  });

  it("shows sizes in human units with the exact bytes, the type and MIME guess, local-time links, download and info links", async () => {
    const root = await mkdir();
    await put(root, "report 1.pdf", Buffer.alloc(123_456, 3));
    const page = await get(dirUrl(root));
    expect(page.body).toContain('<span title="123,456 bytes">123.46 kB</span>');
    expect(page.body).toContain("file (immutable, CHK)");
    expect(page.body).toContain("application/pdf");
    expect(page.body).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+Z" data-local>/);
    const under = `${dirUrl(root)}report%201.pdf`;
    expect(page.body).toContain(`href="${under}?save=true" download="report 1.pdf"`);
    expect(page.body).toMatch(/href="\/uri\/URI%3ACHK%3A[^"]+\?t=info&amp;filename=report%201.pdf"/);
    // The download keeps the real name, as Tahoe's save=true does.
    const file = await app.inject({ url: `${under}?save=true` });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.length).toBe(123_456);
    expect(file.headers["content-disposition"]).toBe(
      `attachment; filename="report 1.pdf"; filename*=UTF-8''report%201.pdf`,
    );
    expect(file.headers["content-type"]).toBe("application/pdf");
    // The page runs its own script, from 'self' only.
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="/static/directory.js" defer></script>');
    const script = await app.inject({ url: "/static/directory.js" });
    expect(script.statusCode).toBe(200);
    expect(script.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(script.body).toContain("xhr.upload.onprogress");
  });

  it("has breadcrumbs from the root cap down the path", async () => {
    const root = await mkdir();
    await put(root, "docs/café/note.txt", "n");
    const page = await get(dirUrl(root, "docs", "café"));
    expect(page.statusCode).toBe(200);
    const crumbs = /<ol class="breadcrumbs">(.*?)<\/ol>/s.exec(page.body)?.[1] ?? "";
    expect(crumbs).toContain(`<a href="${dirUrl(root)}">root</a>`);
    expect(crumbs).toContain(`<a href="${dirUrl(root, "docs")}">docs</a>`);
    expect(crumbs).toContain(`<a href="${dirUrl(root, "docs", "café")}" aria-current="page">café</a>`);
    expect(page.body).toContain(
      `<h1 id="directory-title" data-here="${dirUrl(root, "docs", "café")}">Directory: café</h1>`,
    );
    // Reached without the trailing slash, the page still names its own URL for the script.
    const bare = await get(`/uri/${encodeURIComponent(root)}`);
    expect(bare.body).toContain(`data-here="${dirUrl(root)}"`);
    // Child links stay under the root cap's path.
    expect(page.body).toContain(`href="${dirUrl(root, "docs", "café")}note.txt"`);
  });

  it("shows a read-only directory with no write forms, rename or delete", async () => {
    const root = await mkdir();
    await put(root, "a.txt", "a");
    const ro = (await app.inject({ url: `${dirUrl(root)}?t=readonly-uri` })).body;
    expect(ro).toMatch(/^URI:DIR2-RO:/);
    const page = await get(dirUrl(ro));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("This directory is read-only");
    expect(page.body).not.toContain("<form");
    expect(page.body).not.toContain("dir-delete");
    expect(page.body).not.toContain("dir-rename");
    expect(page.body).not.toContain("Show write cap");
    expect(rowNames(page.body)).toEqual(["a.txt"]);
    // The writable one has them, and keeps its write cap folded away.
    const rw = await get(dirUrl(root));
    expect(rw.body).toContain('id="dir-upload"');
    expect(rw.body).toContain('<details class="write-cap"><summary>Show write cap');
  });
});

describe("actions without JavaScript", () => {
  it("uploads several files in one form, 303s back, and the page shows each new cap", async () => {
    const root = await mkdir();
    const back = dirUrl(root);
    const res = await app.inject({
      method: "POST",
      url: `${back}?t=upload`,
      ...form({ when_done: back, notice: "true", name: "" }, [
        { name: "one.txt", data: "first file" },
        { name: "two.txt", data: "second file" },
      ]),
    });
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe(`${back}?done=uploaded&name=one.txt%2Ftwo.txt`);
    const page = await get(res.headers.location as string);
    const notice = /<div id="notice"[^>]*>(.*?)<\/div>/s.exec(page.body)?.[1] ?? "";
    expect(notice).toContain("Uploaded 2 files");
    expect(notice).toMatch(/<strong>one.txt<\/strong>: <code class="cap">URI:LIT:[a-z2-7]+<\/code>/);
    expect(notice).toMatch(/<strong>two.txt<\/strong>: <code class="cap">URI:LIT:[a-z2-7]+<\/code>/);
    expect((await app.inject({ url: `${back}two.txt` })).body).toBe("second file");
    // Tahoe's replace=false still refuses an existing name.
    const again = await app.inject({
      method: "POST",
      url: `${back}?t=upload&replace=false`,
      ...form({ when_done: back }, [{ name: "one.txt", data: "other" }]),
    });
    expect(again.statusCode).toBe(409);
    expect((await app.inject({ url: `${back}one.txt` })).body).toBe("first file");
  });

  it("makes a directory and 303s back with its cap shown", async () => {
    const root = await mkdir();
    const back = dirUrl(root);
    const res = await app.inject({
      method: "POST",
      url: `${back}?t=mkdir`,
      payload: new URLSearchParams({ when_done: back, notice: "true", name: "photos" }).toString(),
      headers: FORM,
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${back}?done=created&name=photos`);
    const page = await get(res.headers.location as string);
    expect(page.body).toContain("Created the directory");
    expect(page.body).toMatch(/<strong>photos<\/strong>: <code class="cap">URI:DIR2-RO:/);
    expect(rowNames(page.body)).toEqual(["photos"]);
  });

  it("renames through the rename page and 303s back", async () => {
    const root = await mkdir();
    await put(root, "old.txt", "text");
    const back = dirUrl(root);
    const formPage = await get(`${back}?t=rename-form&name=old.txt`);
    expect(formPage.statusCode).toBe(200);
    expect(formPage.body).toContain('<input type="hidden" name="from_name" value="old.txt">');
    expect(formPage.body).toContain(`action="${back}?t=rename"`);
    const res = await app.inject({
      method: "POST",
      url: `${back}?t=rename`,
      payload: new URLSearchParams({
        when_done: back,
        notice: "true",
        from_name: "old.txt",
        to_name: "new.txt",
      }).toString(),
      headers: FORM,
    });
    expect(res.statusCode).toBe(303);
    const page = await get(res.headers.location as string);
    expect(page.body).toContain("Renamed old.txt to");
    expect(page.body).toMatch(/<strong>new.txt<\/strong>: <code class="cap">URI:LIT:/);
    expect(rowNames(page.body)).toEqual(["new.txt"]);
  });

  it("deletes only after the confirmation page, and shows the removed cap", async () => {
    const root = await mkdir();
    await put(root, "gone.txt", "bye");
    const back = dirUrl(root);
    const listing = await get(back);
    // The listing's Delete is a link to the confirmation step, not a form that deletes at once.
    expect(listing.body).toContain(`href="${back}?t=confirm-delete&amp;name=gone.txt"`);
    expect(listing.body).not.toMatch(
      /<form[^>]*t=unlink[^>]*>\s*(<input[^>]*>\s*)*<input type="hidden" name="name" value="gone.txt">/,
    );
    const confirm = await get(`${back}?t=confirm-delete&name=gone.txt`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain("<h1>Delete gone.txt?</h1>");
    expect(confirm.body).toContain(`action="${back}?t=unlink"`);
    expect(rowNames((await get(back)).body)).toEqual(["gone.txt"]);
    const res = await app.inject({
      method: "POST",
      url: `${back}?t=unlink`,
      payload: new URLSearchParams({ when_done: back, notice: "true", name: "gone.txt" }).toString(),
      headers: FORM,
    });
    expect(res.statusCode).toBe(303);
    const page = await get(res.headers.location as string);
    expect(page.body).toContain("Deleted <strong>gone.txt</strong>");
    expect(page.body).toMatch(/<code class="cap">URI:LIT:[a-z2-7]+<\/code>/);
    expect(page.body).toContain("This directory is empty.");
    // A notice for a name that is still there (a hand-made URL) shows nothing.
    await put(root, "kept.txt", "k");
    const fake = await get(`${back}?done=deleted&name=kept.txt&cap=URI:LIT:abc`);
    expect(fake.body).not.toContain('id="notice"');
  });

  it("answers bad input with one clear error page, never a 500", async () => {
    const root = await mkdir();
    await put(root, "a.txt", "a");
    const back = dirUrl(root);
    const post = (t: string, fields: Record<string, string>) =>
      app.inject({
        method: "POST",
        url: `${back}?t=${t}`,
        payload: new URLSearchParams({ when_done: back, notice: "true", ...fields }).toString(),
        headers: FORM,
      });
    const cases: [Awaited<ReturnType<typeof post>>, number, string][] = [
      // (An empty mkdir name= is Tahoe's "this directory", not an error: see directory-routes.test.ts.)
      [await post("rename", { from_name: "a.txt", to_name: "" }), 400, "to_name= may not be empty"],
      [await post("mkdir", { name: "a/b" }), 400, "may not contain a slash"],
      [await post("rename", { from_name: "a.txt", to_name: "x/y" }), 400, "may not contain a slash"],
      [await post("rename", { from_name: "missing.txt", to_name: "b" }), 404, "No such child: missing.txt"],
      [await post("unlink", { name: "missing.txt" }), 404, "No such child: missing.txt"],
      [await get(`${back}?t=confirm-delete&name=missing.txt`), 404, "No such child: missing.txt"],
      [await get(`${back}?t=rename-form`), 404, "No such child"],
    ];
    const slashUpload = await app.inject({
      method: "POST",
      url: `${back}?t=upload`,
      ...form({ when_done: back, name: "x/y.txt" }, [{ name: "f.txt", data: "f" }]),
    });
    cases.push([slashUpload, 400, "may not contain a slash"]);
    const empty = await app.inject({
      method: "POST",
      url: `${back}?t=upload`,
      ...form({ when_done: back, name: "" }, [{ name: "", data: "" }]),
    });
    cases.push([empty, 400, "no file was chosen"]);
    const twoNamed = await app.inject({
      method: "POST",
      url: `${back}?t=upload`,
      ...form({ when_done: back, name: "same.txt" }, [
        { name: "1.txt", data: "1" },
        { name: "2.txt", data: "2" },
      ]),
    });
    cases.push([twoNamed, 400, "names one file"]);
    for (const [res, status, words] of cases) {
      expect(res.statusCode, res.body).toBe(status);
      expect(res.headers["content-type"]).toMatch(/^text\/html/);
      expect(res.body).toContain('class="error"');
      expect(res.body).toContain(words);
    }
    // Nothing was lost or half-made.
    expect(rowNames((await get(back)).body)).toEqual(["a.txt", "same.txt"]);
  });

  it("keeps Tahoe's when_done for other callers: a plain redirect, and an off-site one is ignored", async () => {
    const root = await mkdir();
    const res = await app.inject({
      method: "POST",
      url: `${dirUrl(root)}?t=mkdir&name=x&when_done=/status`,
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/status");
    const off = await app.inject({
      method: "POST",
      url: `${dirUrl(root)}?t=mkdir&name=y&when_done=//evil.example/`,
    });
    expect(off.statusCode).toBe(200);
    expect(off.headers.location).toBeUndefined();
  });
});

describe("the welcome page and /status", () => {
  it("lists the node's aliases as links (no cap printed) and has an open-a-cap form", async () => {
    const root = await mkdir();
    const ro = (await app.inject({ url: `${dirUrl(root)}?t=readonly-uri` })).body;
    node.aliases = async () => [
      { name: "tahoe", cap: root },
      { name: "shared", cap: ro },
    ];
    const page = await app.inject({ url: "/", headers: HTML });
    const list = /<ul id="aliases"[^>]*>(.*?)<\/ul>/s.exec(page.body)?.[1] ?? "";
    expect(list).toContain(
      `<a href="${dirUrl(root)}">tahoe:</a> <span class="hint">writable directory</span>`,
    );
    expect(list).toContain(
      `<a href="${dirUrl(ro)}">shared:</a> <span class="hint">read-only directory</span>`,
    );
    expect(page.body).not.toContain(`>${root}<`);
    expect(page.body).toContain('<form id="open-cap" action="/uri" method="get">');
    const open = await app.inject({ url: `/uri?uri=${encodeURIComponent(ro)}` });
    expect(open.statusCode).toBe(303);
    expect(open.headers.location).toBe(`/uri/${encodeURIComponent(ro)}`);
    expect((await get(open.headers.location as string)).body).toContain("This directory is read-only");
  });

  it("shows the servers each transfer used", async () => {
    const log = createTransferLog();
    node.transfers = () => log.list();
    const up = log.track("upload", "up.bin", 10);
    up.progress(10);
    up.succeeded({ cap: "URI:CHK:x", servers: ["alpha", "bravo<i>"] });
    const down = log.track("download", "URI:CHK:abcd…", 10);
    down.usedServers(["alpha"]);
    down.usedServers(["alpha", "charlie"]);
    const page = await app.inject({ url: "/status", headers: HTML });
    expect(page.body).toContain('<th scope="col">Servers used</th>');
    expect(page.body).toContain('<td data-label="Servers used">alpha, bravo&lt;i&gt;</td>');
    expect(page.body).toContain('<td data-label="Servers used">alpha, charlie</td>');
    expect(log.list().find((t) => t.name === "up.bin")?.servers).toEqual(["alpha", "bravo<i>"]);
  });
});
