import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoe, tahoeOk } from "../support/local-grid.js";

/**
 * Directories on a grid of real processes (an introducer, three lafs-ts storage nodes and a
 * client, each run with `tahoe run`; k/happy/N = 2/2/3), through the client's web API and
 * through the CLI's alias verbs (create-alias, mkdir, put/get ALIAS:path, ls, ln, mv, unlink).
 * The steps run in order and share the tree they build.
 */

let grid: Grid;
let local: string;
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

beforeAll(async () => {
  grid = await startGrid({ storage: ["s1", "s2", "s3"], k: 2, happy: 2, n: 3 });
  local = await mkdtemp(join(tmpdir(), "lafs-dir-e2e-"));
}, 60_000);

afterAll(async () => {
  await grid?.close();
  if (local) await rm(local, { recursive: true, force: true });
});

const cli = (...args: string[]) => tahoeOk(["-d", grid.dirs.client as string, ...args]);
const url = (path: string) => new URL(path, grid.nodeUrl);

describe("directories through the web API", { timeout: 120_000 }, () => {
  let root: string;
  const big = randomBytes(20_000);

  it("POST /uri?t=mkdir makes a directory; PUT at a path creates the intermediate ones and links the file", async () => {
    const made = await fetch(url("uri?t=mkdir"), { method: "POST" });
    expect(made.status).toBe(200);
    root = (await made.text()).trim();
    expect(root).toMatch(/^URI:DIR2:[a-z2-7]{26}:[a-z2-7]{52}$/);
    const put = await fetch(url(`uri/${encodeURIComponent(root)}/docs/${encodeURIComponent("résumé.bin")}`), {
      method: "PUT",
      body: big,
    });
    expect(put.status).toBe(201);
    const cap = (await put.text()).trim();
    expect(cap).toMatch(/^URI:CHK:/);
    const listing = await fetch(url(`uri/${encodeURIComponent(root)}/docs?t=json`));
    const [type, dir] = (await listing.json()) as [
      string,
      { children: Record<string, [string, Record<string, unknown>]> },
    ];
    expect(type).toBe("dirnode");
    expect(dir.children["résumé.bin"]?.[1]).toMatchObject({
      ro_uri: cap,
      size: big.length,
      format: "CHK",
      mutable: false,
    });
    const back = await fetch(url(`uri/${encodeURIComponent(root)}/docs/${encodeURIComponent("résumé.bin")}`));
    expect(sha(Buffer.from(await back.arrayBuffer()))).toBe(sha(big));
  });

  it("refuses replace=false with 409, an empty name with Tahoe's words, and a missing child with 404", async () => {
    const again = await fetch(
      url(`uri/${encodeURIComponent(root)}/docs/${encodeURIComponent("résumé.bin")}?replace=false`),
      {
        method: "PUT",
        body: "x",
      },
    );
    expect(again.status).toBe(409);
    const empty = await fetch(url(`uri/${encodeURIComponent(root)}/docs//x`), { method: "PUT", body: "x" });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("empty pathname components");
    expect((await fetch(url(`uri/${encodeURIComponent(root)}/nope?t=json`))).status).toBe(404);
  });
});

describe("directories through the CLI", { timeout: 180_000 }, () => {
  it("create-alias, mkdir, put/get ALIAS:path, ls -l, ln, mv, unlink", async () => {
    expect((await cli("create-alias", "home")).toString()).toBe("Alias 'home' created\n");
    const aliases = await readFile(join(grid.dirs.client as string, "private", "aliases"), "utf8");
    expect(aliases).toMatch(/^home: URI:DIR2:[a-z2-7]{26}:[a-z2-7]{52}\n$/);
    expect((await cli("mkdir", "home:photos")).toString()).toMatch(/^URI:DIR2:/);
    const data = randomBytes(5000);
    const file = join(local, "a.bin");
    await writeFile(file, data);
    expect((await cli("put", file, "home:photos/a.bin")).toString()).toMatch(/^URI:CHK:/);
    expect(sha(await cli("get", "home:photos/a.bin"))).toBe(sha(data));
    const ls = (await cli("ls", "home:")).toString();
    expect(ls).toBe("photos\n");
    const long = (await cli("ls", "-l", "home:photos")).toString();
    expect(long).toMatch(/^-r-- 5000 \w{3} \d{2} \d{2}:\d{2} a\.bin\n$/);
    expect((await cli("ln", "home:photos/a.bin", "home:b.bin")).toString()).toBe("OK\n");
    expect((await cli("mv", "home:photos/a.bin", "home:c.bin")).toString()).toBe("OK\n");
    expect((await cli("ls", "home:")).toString()).toBe("b.bin\nc.bin\nphotos\n");
    expect((await cli("ls", "home:photos")).toString()).toBe("");
    expect((await cli("unlink", "home:b.bin")).toString()).toBe("200 OK\n");
    const json = JSON.parse((await cli("ls", "--json", "home:")).toString()) as [
      string,
      { children: object },
    ];
    expect(Object.keys(json[1].children)).toEqual(["c.bin", "photos"]);
    const missing = await tahoe(["-d", grid.dirs.client as string, "ls", "home:nothing"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("No such file or directory\n");
  });

  it("cp -r copies a local tree with unicode names to the grid, within the grid, and back, byte for byte", async () => {
    const tree = join(local, "tree");
    await mkdir(join(tree, "sub", "déjà"), { recursive: true });
    const files: Record<string, Buffer> = {
      "one.txt": Buffer.from("one"),
      "sub/big.bin": randomBytes(70_000),
      "sub/déjà/vu.txt": Buffer.from("encore"),
    };
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(tree, name), bytes);
    expect((await cli("cp", "-r", tree, "home:")).toString()).toBe("Success: files copied\n");
    expect((await cli("ls", "home:tree/sub")).toString()).toBe("big.bin\ndéjà\n");
    expect(sha(await cli("get", "home:tree/sub/déjà/vu.txt"))).toBe(sha(files["sub/déjà/vu.txt"] as Buffer));
    expect((await cli("cp", "-r", "home:tree", "home:photos")).toString()).toBe("Success: files copied\n");
    const out = join(local, "out");
    await mkdir(out);
    await cli("cp", "-r", "home:photos/tree", out);
    for (const [name, bytes] of Object.entries(files)) {
      expect(sha(await readFile(join(out, "tree", name))), name).toBe(sha(bytes));
    }
    const caps = join(local, "caps");
    await mkdir(caps);
    await cli("cp", "-r", "--caps-only", "home:tree", caps);
    expect((await readFile(join(caps, "tree", "one.txt"), "utf8")).trim()).toMatch(/^URI:LIT:/);
    expect(await readdir(join(caps, "tree", "sub"))).toEqual(["big.bin", "déjà"]);
    const manifest = (await cli("manifest", "home:tree")).toString().trim().split("\n");
    expect(manifest.map((l) => l.slice(l.indexOf(" ") + 1))).toEqual([
      "",
      "one.txt",
      "sub",
      "sub/big.bin",
      "sub/déjà",
      "sub/déjà/vu.txt",
    ]);
    expect(manifest[1]).toMatch(/^URI:LIT:/);
    const noR = await tahoe(["-d", grid.dirs.client as string, "cp", "home:tree", out]);
    expect(noR.code).toBe(2);
    expect(noR.stderr).toContain("cannot copy directories without --recursive");
  });

  it("cp links each grid directory's files with one POST ?t=set_children, as Tahoe's cp does, and overwrites a mutable file in place", async () => {
    const tree = join(local, "batch");
    await mkdir(join(tree, "sub"), { recursive: true });
    for (const name of ["a.txt", "b.txt", "m.txt", "sub/c.txt", "sub/d.txt"])
      await writeFile(join(tree, name), `contents of ${name}`);
    await cli("mkdir", "home:batch");
    const mutableCap = (await cli("put", "--mutable", join(tree, "a.txt"), "home:batch/m.txt"))
      .toString()
      .trim();
    expect(mutableCap).toMatch(/^URI:SSK:/);
    const { url: proxied, requests, close } = await recordingProxy(grid.nodeUrl);
    try {
      const out = await cli("cp", "-r", "-u", proxied, tree, "home:");
      expect(out.toString()).toBe("Success: files copied\n");
    } finally {
      await close();
    }
    const linking = requests.filter((r) => r.includes("t=set_children"));
    expect(linking).toHaveLength(2);
    expect(linking.every((r) => r.startsWith("POST "))).toBe(true);
    // No file was linked one by one: files went to PUT /uri (unlinked), except the mutable one.
    expect(requests.filter((r) => /^PUT \/uri\/[^ ]+\/(a|b|c|d)\.txt/.test(r))).toEqual([]);
    expect(requests.filter((r) => r.startsWith("PUT /uri ") || r === "PUT /uri")).toHaveLength(4);
    expect(requests.filter((r) => /^PUT \/uri\/[^ ]+\/m\.txt/.test(r))).toHaveLength(1);
    expect((await cli("ls", "home:batch")).toString()).toBe("a.txt\nb.txt\nm.txt\nsub\n");
    expect((await cli("ls", "home:batch/sub")).toString()).toBe("c.txt\nd.txt\n");
    expect((await cli("get", "home:batch/sub/d.txt")).toString()).toBe("contents of sub/d.txt");
    const m = JSON.parse((await cli("ls", "--json", "home:batch/m.txt")).toString()) as [
      string,
      { rw_uri: string },
    ];
    expect(m[1].rw_uri, "the mutable file keeps its cap").toBe(mutableCap);
    expect((await cli("get", "home:batch/m.txt")).toString()).toBe("contents of m.txt");
  });
});

/** A plain HTTP forwarder to the node that records each request's method and path, to see what the CLI sends. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = request(
      new URL(req.url ?? "/", target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => res.destroy(error));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
