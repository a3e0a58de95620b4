import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createProgress, progressLine } from "../src/progress.js";
import { makeSandbox, type Sandbox } from "./helpers.js";

/**
 * put/get against a stand-in for the node's web API on 127.0.0.1: it keeps uploaded bodies
 * in memory under a name derived from their content, and can be told to fail. The real node
 * is exercised by tests/grid.
 */
interface FakeNode {
  url: string;
  uploads: { body: Buffer; contentLength: string | undefined; url: string }[];
  files: Map<string, Buffer>;
  /** Set to answer the next requests with this status and text. */
  failWith?: { status: number; text: string };
  /** Set to send half of a file's bytes and then reset the connection. */
  cutShort?: boolean;
}

let server: Server;
let fake: FakeNode;
let sandbox: Sandbox;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    if (fake.failWith !== undefined) {
      res.writeHead(fake.failWith.status, { "content-type": "text/plain" });
      res.end(`Error ${fake.failWith.status}: ${fake.failWith.text}`);
      return;
    }
    const into = /^\/uri\/([^/?]+)/.exec(req.url ?? "");
    if (req.method === "PUT" && (into !== null || /^\/uri(\?|$)/.test(req.url ?? ""))) {
      const body = Buffer.concat(chunks);
      fake.uploads.push({ body, contentLength: req.headers["content-length"], url: req.url ?? "" });
      // A PUT to a cap replaces that (mutable) file in place and answers its cap, as the node does.
      const cap = into
        ? decodeURIComponent(into[1]!)
        : `URI:LIT:${body.toString("base64url").toLowerCase()}${fake.files.size}`;
      fake.files.set(cap, body);
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(cap);
      return;
    }
    const match = /^\/uri\/([^/?]+)$/.exec(req.url ?? "");
    const file = match ? fake.files.get(decodeURIComponent(match[1]!)) : undefined;
    if (req.method === "GET" && file !== undefined) {
      res.writeHead(200, { "content-length": file.length, "content-type": "application/octet-stream" });
      if (fake.cutShort) {
        res.write(file.subarray(0, file.length >> 1), () => res.destroy());
        return;
      }
      res.end(file);
      return;
    }
    res.writeHead(404);
    res.end("Error 404: no such file");
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function freshFake(): FakeNode {
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, uploads: [], files: new Map() };
}

afterEach(() => sandbox?.cleanup());

describe("tahoe put", () => {
  it("sends the file with its length to PUT /uri of --node-url and prints the cap", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    const data = randomBytes(100_000);
    writeFileSync(join(sandbox.cwd, "in.bin"), data);
    const result = await sandbox.run(["put", `--node-url=${fake.url}`, "in.bin"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(fake.uploads).toHaveLength(1);
    expect(fake.uploads[0]!.body.equals(data)).toBe(true);
    expect(fake.uploads[0]!.contentLength).toBe(String(data.length));
    const cap = result.stdout.trim();
    expect(fake.files.get(cap)?.equals(data)).toBe(true);
    expect(result.stdout).toBe(`${cap}\n`);
  });

  it("finds the node through NODEDIR/node.url with -d", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    const nodedir = join(sandbox.root, "node");
    mkdirSync(nodedir);
    writeFileSync(join(nodedir, "node.url"), `${fake.url}\n`);
    writeFileSync(join(sandbox.cwd, "small"), "hello");
    const result = await sandbox.run(["-d", nodedir, "put", "small"]);
    expect(result.code).toBe(0);
    expect(fake.uploads[0]!.body.toString()).toBe("hello");
  });

  it("explains a missing node.url, naming the file", async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.cwd, "small"), "hello");
    const result = await sandbox.run(["put", "small"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot read '${join(sandbox.home, ".tahoe", "node.url")}': ENOENT`);
    expect(result.stderr).toContain("--node-url");
  });

  it("refuses a --node-url that is not http://", async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.cwd, "small"), "hello");
    const result = await sandbox.run(["put", "--node-url=ftp://x/", "small"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--node-url: 'ftp://x/' is not an http:// URL");
  });

  it("names a missing input file", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    const result = await sandbox.run(["put", `--node-url=${fake.url}`, "nope.bin"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot read '${join(sandbox.cwd, "nope.bin")}': ENOENT`);
    expect(fake.uploads).toHaveLength(0);
  });

  it("shows the node's refusal, once", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    fake.failWith = { status: 503, text: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_CONNECTED\nonly 2 of 5 connected" };
    writeFileSync(join(sandbox.cwd, "small"), "hello");
    const result = await sandbox.run(["put", `--node-url=${fake.url}`, "small"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("answered 503: TAHOE_ERR_PLACEMENT_NOT_ENOUGH_CONNECTED");
    expect(result.stderr).not.toContain("Error 503");
  });

  it("reports a node that does not answer", async () => {
    sandbox = makeSandbox();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    writeFileSync(join(sandbox.cwd, "small"), "hello");
    const result = await sandbox.run(["put", `--node-url=http://127.0.0.1:${port}/`, "small"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the node at http://127.0.0.1:${port}: ECONNREFUSED`);
  });
});

describe("tahoe put, mutable files", () => {
  it("sends --mutable and --format as Tahoe's CLI does, and writes to a write cap in place", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    writeFileSync(join(sandbox.cwd, "a"), "first");
    writeFileSync(join(sandbox.cwd, "b"), "second");
    const runs = [
      ["put", `--node-url=${fake.url}`, "--mutable", "a"],
      ["put", `--node-url=${fake.url}`, "-m", "--format=mdmf", "a"],
      ["put", `--node-url=${fake.url}`, "--format=SDMF", "a"],
      ["put", `--node-url=${fake.url}`, "b", "URI:SSK:aaaa:bbbb"],
    ];
    for (const args of runs) expect((await sandbox.run(args)).code).toBe(0);
    expect(fake.uploads.map((u) => u.url)).toEqual([
      "/uri?mutable=true",
      "/uri?mutable=true&format=mdmf",
      "/uri?format=SDMF",
      "/uri/URI%3ASSK%3Aaaaa%3Abbbb",
    ]);
    expect(fake.files.get("URI:SSK:aaaa:bbbb")?.toString()).toBe("second");
    const got = await sandbox.run(["get", `--node-url=${fake.url}`, "URI:SSK:aaaa:bbbb"]);
    expect(got.code).toBe(0);
  });

  it("refuses a bad --format, an unknown alias, and three arguments, before any request", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    writeFileSync(join(sandbox.cwd, "a"), "first");
    const format = await sandbox.run(["put", `--node-url=${fake.url}`, "--format=XDMF", "a"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("XDMF is an invalid format");
    const alias = await sandbox.run(["put", `--node-url=${fake.url}`, "a", "tahoe:foo"]);
    expect(alias.code).toBe(1);
    expect(alias.stderr).toContain(
      "Unknown alias 'tahoe', please create it with 'tahoe add-alias' or 'tahoe create-alias'.",
    );
    const three = await sandbox.run(["put", `--node-url=${fake.url}`, "a", "URI:SSK:a:b", "c"]);
    expect(three.code).toBe(2);
    expect(three.stderr).toContain("expected at most FILE and a target, got 3");
    expect(fake.uploads).toHaveLength(0);
  });
});

describe("tahoe get", () => {
  it("writes the file a cap names", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    const data = randomBytes(70_000);
    fake.files.set("URI:CHK:abc:def:3:10:70000", data);
    const result = await sandbox.run(["get", `--node-url=${fake.url}`, "URI:CHK:abc:def:3:10:70000", "out"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(readFileSync(join(sandbox.cwd, "out")).equals(data)).toBe(true);
  });

  it("leaves no partial file when the node stops sending", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    fake.files.set("URI:CHK:abc:def:3:10:70000", randomBytes(70_000));
    fake.cutShort = true;
    const result = await sandbox.run(["get", `--node-url=${fake.url}`, "URI:CHK:abc:def:3:10:70000", "out"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `the node stopped sending '${join(sandbox.cwd, "out")}' part way (ECONNRESET); the partial file was removed`,
    );
    expect(existsSync(join(sandbox.cwd, "out"))).toBe(false);
  });

  it("shows the node's error for an unknown cap and writes nothing", async () => {
    sandbox = makeSandbox();
    fake = freshFake();
    const result = await sandbox.run(["get", `--node-url=${fake.url}`, "URI:CHK:zz:yy:3:10:5", "out"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("answered 404: no such file");
    expect(existsSync(join(sandbox.cwd, "out"))).toBe(false);
  });

  it("refuses an unknown alias, and extra arguments", async () => {
    sandbox = makeSandbox();
    const notCap = await sandbox.run(["get", "--node-url=http://127.0.0.1:1/", "alias:file"]);
    expect(notCap.code).toBe(1);
    expect(notCap.stderr).toContain("Unknown alias 'alias'");
    const extra = await sandbox.run(["get", "--node-url=http://127.0.0.1:1/", "URI:LIT:", "a", "b"]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("expected CAP and an optional FILE, got 3");
  });
});

describe("the progress bar", () => {
  it("shows the share done, bytes in binary units, and a count when the total is unknown", () => {
    expect(progressLine(0, 1024)).toBe(`[${"-".repeat(30)}]   0% 0 B / 1.0 KiB`);
    expect(progressLine(512 * 1024, 1024 * 1024)).toBe(
      `[${"#".repeat(15)}${"-".repeat(15)}]  50% 512.0 KiB / 1.0 MiB`,
    );
    expect(progressLine(3 * 1024 * 1024, undefined)).toBe("3.0 MiB");
  });

  it("redraws at most every 100 ms and ends its line once", () => {
    let clock = 0;
    const out: string[] = [];
    const bar = createProgress(
      (t) => out.push(t),
      100,
      () => clock,
    );
    bar.add(10);
    clock = 50;
    bar.add(10);
    clock = 150;
    bar.add(10);
    bar.done();
    bar.done();
    expect(out.filter((t) => t.startsWith("\r"))).toHaveLength(2);
    expect(out.at(-1)).toBe("\n");
    expect(out.at(-2)).toContain(" 30% 30 B / 100 B");
  });
});
