import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { useMemoryApp } from "./memory-app.js";
import type { createMemoryDirectories } from "./memory-directories.js";
import type { MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let app: FastifyInstance;

useMemoryApp((fresh) => ({ node, app } = fresh), { maxUploadBytes: 1024 * 1024 }, { directories: true });

const at = (cap: string, path = "", query = "") =>
  `/uri/${encodeURIComponent(cap)}${path === "" ? "" : `/${path.split("/").map(encodeURIComponent).join("/")}`}${query}`;

async function mkdir(query = "t=mkdir"): Promise<string> {
  const res = await app.inject({ method: "POST", url: `/uri?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.body;
}

// biome-ignore lint/suspicious/noExplicitAny: Tahoe's JSON, checked field by field below
async function json(url: string): Promise<[string, Record<string, any>]> {
  const res = await app.inject({ method: "GET", url });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  return JSON.parse(res.body);
}

const big = Buffer.alloc(1000, 7);

describe("creating directories", () => {
  it("POST /uri?t=mkdir makes SDMF by default and MDMF with format=, PUT /uri?t=mkdir too", async () => {
    expect(await mkdir()).toMatch(/^URI:DIR2:[a-z2-7]{26}:[a-z2-7]{52}$/);
    expect(await mkdir("t=mkdir&format=MDMF")).toMatch(/^URI:DIR2-MDMF:/);
    const put = await app.inject({ method: "PUT", url: "/uri?t=mkdir" });
    expect(put.body).toMatch(/^URI:DIR2:/);
    const bad = await app.inject({ method: "POST", url: "/uri?t=mkdir&format=CHK" });
    expect(bad.statusCode).toBe(400);
  });

  it("mkdir-with-children keeps the given metadata; mkdir-immutable refuses a mutable child", async () => {
    const body = JSON.stringify({ "a.txt": ["filenode", { ro_uri: "URI:LIT:mfrgg", metadata: { x: 1 } }] });
    const res = await app.inject({ method: "POST", url: "/uri?t=mkdir-with-children", payload: body });
    expect(res.statusCode).toBe(200);
    const [, dir] = await json(at(res.body, "", "?t=json"));
    expect(dir.children["a.txt"]).toEqual([
      "filenode",
      { mutable: false, format: "CHK", size: 3, metadata: { x: 1 }, ro_uri: "URI:LIT:mfrgg" },
    ]);
    const mutableKid = JSON.stringify({ d: ["dirnode", { rw_uri: res.body }] });
    const imm = await app.inject({ method: "POST", url: "/uri?t=mkdir-immutable", payload: mutableKid });
    expect(imm.statusCode).toBe(400);
    expect(imm.body).toContain("not immutable");
  });
});

describe("a directory's children", () => {
  it("PUT a file at a path creates the intermediate directories, answers 201 then 200, and ?t=json has Tahoe's shape", async () => {
    const root = await mkdir();
    const first = await app.inject({ method: "PUT", url: at(root, "docs/café/a.bin"), payload: big });
    expect(first.statusCode).toBe(201);
    expect(first.body).toMatch(/^URI:CHK:/);
    const again = await app.inject({ method: "PUT", url: at(root, "docs/café/a.bin"), payload: big });
    expect(again.statusCode).toBe(200);
    const [type, top] = await json(at(root, "", "?t=json"));
    expect(type).toBe("dirnode");
    expect(Object.keys(top)).toEqual(["children", "ro_uri", "rw_uri", "verify_uri", "mutable"]);
    expect(top.rw_uri).toBe(root);
    expect(top.children.docs[0]).toBe("dirnode");
    expect(top.children.docs[1]).toMatchObject({
      mutable: true,
      rw_uri: expect.stringMatching(/^URI:DIR2:/),
    });
    expect(top.children.docs[1].metadata.tahoe).toEqual({
      linkcrtime: expect.any(Number),
      linkmotime: expect.any(Number),
    });
    const [, sub] = await json(at(root, "docs/café", "?t=json"));
    expect(sub.children["a.bin"][1]).toMatchObject({
      mutable: false,
      format: "CHK",
      size: 1000,
      ro_uri: first.body,
    });
    expect(sub.children["a.bin"][1].verify_uri).toMatch(/^URI:CHK-Verifier:/);
    const file = await app.inject({ method: "GET", url: at(root, "docs/café/a.bin") });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.equals(big)).toBe(true);
    // The raw JSON is Python's json.dumps(indent=1): one-space indents, non-ASCII escaped.
    const raw = await app.inject({ method: "GET", url: at(root, "docs", "?t=json") });
    expect(raw.body).toContain('\n   "caf\\u00e9": [\n    "dirnode",');
  });

  it("replace=false and only-files are refused with 409 before any upload; a mutable child is overwritten in place", async () => {
    const root = await mkdir();
    await app.inject({ method: "PUT", url: at(root, "f"), payload: "one" });
    await app.inject({ method: "POST", url: at(root, "", "?t=mkdir&name=sub") });
    const uploads = node.files.size;
    const no = await app.inject({ method: "PUT", url: at(root, "f", "?replace=false"), payload: "two" });
    expect(no.statusCode).toBe(409);
    const dir = await app.inject({
      method: "PUT",
      url: at(root, "sub", "?replace=only-files"),
      payload: "two",
    });
    expect(dir.statusCode).toBe(409);
    expect(node.files.size).toBe(uploads);
    const m = await app.inject({ method: "PUT", url: at(root, "m", "?format=MDMF"), payload: "v1" });
    expect(m.statusCode).toBe(201);
    const m2 = await app.inject({ method: "PUT", url: at(root, "m"), payload: "v2" });
    expect(m2).toMatchObject({ statusCode: 200, body: m.body });
    expect((await app.inject({ method: "GET", url: at(root, "m") })).body).toBe("v2");
  });

  it("links a cap with t=uri, renames, relinks into another directory, and unlinks with DELETE", async () => {
    const root = await mkdir();
    const other = await mkdir();
    const link = await app.inject({
      method: "PUT",
      url: at(root, "lit", "?t=uri"),
      payload: "URI:LIT:mfrgg",
    });
    expect(link).toMatchObject({ statusCode: 201, body: "URI:LIT:mfrgg" });
    const post = await app.inject({ method: "POST", url: at(root, "", "?t=uri&name=two&uri=URI:LIT:mfrgg") });
    expect(post.statusCode).toBe(200);
    const ren = await app.inject({
      method: "POST",
      url: at(root, "", "?t=rename&from_name=lit&to_name=renamed"),
    });
    expect(ren).toMatchObject({ statusCode: 200, body: "thing moved" });
    const toDir = await app.inject({
      method: "POST",
      url: at(root, "", `?t=rename&from_name=two&to_dir=${encodeURIComponent(other)}`),
    });
    expect(toDir.statusCode).toBe(400);
    const rel = await app.inject({
      method: "POST",
      url: at(root, "", `?t=relink&from_name=two&to_dir=${encodeURIComponent(other)}`),
    });
    expect(rel.statusCode).toBe(200);
    expect(Object.keys((await json(at(root, "", "?t=json")))[1].children)).toEqual(["renamed"]);
    expect(Object.keys((await json(at(other, "", "?t=json")))[1].children)).toEqual(["two"]);
    const del = await app.inject({ method: "DELETE", url: at(root, "renamed") });
    expect(del).toMatchObject({ statusCode: 200, body: "URI:LIT:mfrgg" });
    expect((await app.inject({ method: "DELETE", url: at(root, "renamed") })).statusCode).toBe(404);
  });

  it("refuses empty names and slashes with Tahoe's words, and writes through a read cap with 400", async () => {
    const root = await mkdir();
    const empty = await app.inject({ method: "PUT", url: `${at(root)}/a//b`, payload: "x" });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain("The webapi does not allow empty pathname components, i.e. a double slash");
    const slash = await app.inject({ method: "POST", url: at(root, "", "?t=mkdir&name=a%2Fb") });
    expect(slash.statusCode).toBe(400);
    expect(slash.body).toContain("may not contain a slash");
    const ro = (await json(at(root, "", "?t=json")))[1].ro_uri as string;
    const write = await app.inject({ method: "PUT", url: at(ro, "x"), payload: "x" });
    expect(write.statusCode).toBe(400);
    expect(write.body).toContain("read-only");
    expect((await app.inject({ method: "GET", url: at(root, "nope") })).statusCode).toBe(404);
  });

  it("answers each verb's missing, empty or slashed name with Tahoe's words and status; unicode names pass, NFC", async () => {
    const root = await mkdir();
    const post = (query: string) => app.inject({ method: "POST", url: at(root, "", `?${query}`) });
    const refused: [string, number, string][] = [
      ["t=uri&name=x", 400, "set-uri requires a uri"],
      ["t=uri&uri=URI:LIT:mfrgg", 400, "set-uri requires a name"],
      ["t=uri&name=&uri=URI:LIT:mfrgg", 400, "set-uri requires a name"],
      ["t=uri&name=a%2Fb&uri=URI:LIT:mfrgg", 400, "name= may not contain a slash"],
      ["t=mkdir&name=a%2Fb", 400, "name= may not contain a slash"],
      ["t=rename&from_name=a", 400, "to_name= is required for rename"],
      [
        `t=rename&from_name=a&to_name=b&to_dir=${encodeURIComponent(root)}`,
        400,
        "to_dir= is not valid for rename",
      ],
      ["t=relink&to_name=b", 400, "from_name= is required"],
      ["t=rename&from_name=a%2Fb&to_name=c", 400, "from_name= may not contain a slash"],
      ["t=rename&from_name=a&to_name=b%2Fc", 400, "to_name= may not contain a slash"],
      ["t=rename&from_name=a&to_name=", 400, "to_name= may not be empty"],
      ["t=rename&from_name=&to_name=b", 400, "from_name= may not be empty"],
    ];
    for (const [query, status, words] of refused) {
      const res = await post(query);
      expect(res.statusCode, query).toBe(status);
      expect(res.body, query).toContain(words);
    }
    const empty = await app.inject({ method: "PUT", url: `${at(root)}//x`, payload: "x" });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain("The webapi does not allow empty pathname components, i.e. a double slash");
    // Tahoe: t=mkdir with an empty name= is t=mkdir with none, and answers this directory's cap.
    expect(await post("t=mkdir&name=")).toMatchObject({ statusCode: 200, body: root });
    const boundary = "----lafs";
    const form = (name: string, filename: string) =>
      [
        `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${name}\r\n`,
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n`,
        "Content-Type: application/octet-stream\r\n\r\nhello\r\n",
        `--${boundary}--\r\n`,
      ].join("");
    const upload = (name: string, filename: string) =>
      app.inject({
        method: "POST",
        url: at(root, "", "?t=upload"),
        headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
        payload: form(name, filename),
      });
    const noName = await upload("  ", "");
    expect(noName.statusCode).toBe(400);
    expect(noName.body).toContain("upload requires a name");
    const slashed = await upload("a/b", "x");
    expect(slashed.statusCode).toBe(400);
    expect(slashed.body).toContain("name= may not contain a slash");
    // Unicode: an NFD name is stored NFC, and found by either form; nothing refused above left a child.
    const nfd = "de\u0301ja\u0300 \u{1f642}.txt";
    expect((await post(`t=uri&name=${encodeURIComponent(nfd)}&uri=URI:LIT:mfrgg`)).statusCode).toBe(200);
    expect(Object.keys((await json(at(root, "", "?t=json")))[1].children)).toEqual([nfd.normalize("NFC")]);
    expect((await app.inject({ method: "GET", url: at(root, nfd) })).body).toBe("abc");
    expect((await app.inject({ method: "GET", url: at(root, nfd.normalize("NFC")) })).body).toBe("abc");
  });

  it("POST t=set_children links every child in one edit, and replace=false refuses all of them", async () => {
    const root = await mkdir();
    const dirs = node.directories as ReturnType<typeof createMemoryDirectories>;
    const body = JSON.stringify({
      "a.txt": ["filenode", { rw_uri: "URI:LIT:mfrgg" }],
      "b.txt": ["filenode", { ro_uri: "URI:LIT:mfrgg", metadata: { k: "v" } }],
    });
    const res = await app.inject({ method: "POST", url: at(root, "", "?t=set_children"), payload: body });
    expect(res).toMatchObject({ statusCode: 200, body: "OK" });
    expect(dirs.edits.get(root)).toBe(1);
    expect(Object.keys((await json(at(root, "", "?t=json")))[1].children)).toEqual(["a.txt", "b.txt"]);
    const again = JSON.stringify({
      "b.txt": ["filenode", { ro_uri: "URI:LIT:mfrgg" }],
      "c.txt": ["filenode", { ro_uri: "URI:LIT:mfrgg" }],
    });
    const keep = await app.inject({
      method: "POST",
      url: at(root, "", "?t=set_children&replace=false"),
      payload: again,
    });
    expect(keep.statusCode).toBe(409);
    expect(Object.keys((await json(at(root, "", "?t=json")))[1].children)).toEqual(["a.txt", "b.txt"]);
  });

  it("t=json writes link times as Python floats, as Tahoe's json.dumps does (1.0, not 1)", async () => {
    const body = JSON.stringify({
      "a.txt": [
        "filenode",
        {
          ro_uri: "URI:LIT:mfrgg",
          metadata: { custom: "x", size: 3, tahoe: { linkmotime: 1, linkcrtime: 1700000000.123456 } },
        },
      ],
    });
    const res = await app.inject({ method: "POST", url: "/uri?t=mkdir-with-children", payload: body });
    const text = (await app.inject({ method: "GET", url: at(res.body, "", "?t=json") })).body;
    const lines = text.split("\n").map((line) => line.trim());
    expect(lines).toContain('"size": 3,');
    expect(lines).toContain('"linkmotime": 1.0,');
    expect(lines).toContain('"linkcrtime": 1700000000.123456');
    const child = (await app.inject({ method: "GET", url: at(res.body, "a.txt", "?t=json") })).body;
    expect(child).toContain('"linkmotime": 1.0,');
  });

  it("serves an HTML listing with the forms, and the form actions follow when_done", async () => {
    const root = await mkdir();
    await app.inject({ method: "PUT", url: at(root, "<b>.txt"), payload: "hi" });
    const page = await app.inject({ method: "GET", url: at(root) });
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("&lt;b&gt;.txt");
    expect(page.body).toContain("t=rename-form");
    expect(page.body).toContain("t=upload");
    const made = await app.inject({
      method: "POST",
      url: at(root, "", "?t=mkdir&when_done=."),
      payload: "name=new",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    // Tahoe's when_done=: back to the directory (303, so a reload does not post again).
    expect(made.statusCode).toBe(303);
    expect(made.headers.location).toBe(".");
    const boundary = "----dirboundary";
    const form = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="up.txt"\r\n\r\nuploaded\r\n--${boundary}--\r\n`,
    );
    const up = await app.inject({
      method: "POST",
      url: at(root, "", "?t=upload&when_done=."),
      payload: form,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    });
    expect(up.statusCode).toBe(303);
    expect((await app.inject({ method: "GET", url: at(root, "up.txt") })).body).toBe("uploaded");
  });

  it("POST DIR/PATH/FILE?t=check checks the file, not a directory (Tahoe's FileNodeHandler)", async () => {
    const root = await mkdir();
    await app.inject({ method: "PUT", url: at(root, "d/f.bin"), payload: big });
    // The memory node has no checker: the request reached the file check, which answers 501.
    const res = await app.inject({ method: "POST", url: at(root, "d/f.bin", "?t=check&output=JSON") });
    expect(res.statusCode, res.body).toBe(501);
    const missing = await app.inject({ method: "POST", url: at(root, "d/nope", "?t=check") });
    expect(missing.statusCode).toBe(404);
  });

  it("t=stream-manifest walks as Tahoe does (files before subdirectories), then the full deep-stats line", async () => {
    const root = await mkdir();
    await app.inject({ method: "PUT", url: at(root, "a/b.txt"), payload: "bee" });
    await app.inject({ method: "PUT", url: at(root, "c.txt"), payload: big });
    const res = await app.inject({ method: "POST", url: at(root, "", "?t=stream-manifest") });
    expect(res.statusCode).toBe(200);
    const units = res.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(units.map((u) => [u.type, (u.path ?? []).join("/")])).toEqual([
      ["directory", ""],
      ["file", "c.txt"],
      ["directory", "a"],
      ["file", "a/b.txt"],
      ["stats", ""],
    ]);
    expect(units[0].cap).toBe(root);
    expect(units[0].repaircap).toBe(root);
    expect(units[0]["storage-index"]).toBe(units[0].verifycap.split(":")[2]);
    expect(units[1].verifycap).toMatch(/^URI:CHK-Verifier:/);
    // Tahoe repairs a CHK file from its verify cap; a LIT file has neither.
    expect(units[1].repaircap).toBe(units[1].verifycap);
    expect(units[3]).toMatchObject({ verifycap: "", repaircap: "", "storage-index": "" });
    expect(units[4].stats).toEqual({
      "api-version": 1,
      "count-immutable-files": 1,
      "count-mutable-files": 0,
      "count-literal-files": 1,
      "count-files": 2,
      "count-directories": 2,
      "count-unknown": 0,
      "size-immutable-files": 1000,
      "size-literal-files": 3,
      "size-directories": 0,
      "largest-directory": 0,
      "largest-directory-children": 2,
      "largest-immutable-file": 1000,
      "size-files-histogram": [
        [1, 3, 1],
        [317, 1000, 1],
      ],
    });
  });
});
