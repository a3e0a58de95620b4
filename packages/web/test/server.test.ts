import { mkdtemp, rm, stat } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { TahoeError } from "@lafs/interface";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebServer, type WebDownload, type WebServer } from "../src/index.js";
import { createMemoryNode, type MemoryNode } from "./memory-node.js";

const MiB = 1024 * 1024;
function bytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 13 + 1) % 256;
  return out;
}
const FIVE = bytes(5 * MiB);

let node: MemoryNode;
let server: WebServer;

beforeAll(async () => {
  node = createMemoryNode();
  server = createWebServer({
    node,
    listen: { kind: "tcp", port: 0, interface: "127.0.0.1" },
    maxUploadBytes: 6 * MiB,
  });
  await server.start();
});
afterAll(() => server.stop());

/** A body sent in 64 KiB pieces without Content-Length (chunked), as a streaming client does. */
function chunked(data: Buffer): ReadableStream<Uint8Array> {
  return Readable.toWeb(
    Readable.from(
      (function* () {
        for (let at = 0; at < data.length; at += 65_536) yield data.subarray(at, at + 65_536);
      })(),
    ),
  ) as ReadableStream<Uint8Array>;
}

describe("the listening server", () => {
  it("frees a fresh download's chunks once the response has written them, and sends every byte", async () => {
    const put = await fetch(`${server.url()}uri`, { method: "PUT", body: FIVE });
    const cap = await put.text();
    const given: Uint8Array[] = [];
    node.freshDownloads = given;
    try {
      const down = await fetch(`${server.url()}uri/${encodeURIComponent(cap)}`);
      expect(Buffer.from(await down.arrayBuffer()).equals(FIVE)).toBe(true);
    } finally {
      node.freshDownloads = undefined;
    }
    expect(given).toHaveLength(20);
    // The last chunks may still be in flight when the stream ends; those are left to the GC.
    const freed = given.filter((chunk) => chunk.byteLength === 0).length;
    expect(freed).toBeGreaterThanOrEqual(10);
  });

  it("gives node.url's http://127.0.0.1:PORT/ form", () => {
    expect(server.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("streams a 5 MiB PUT to the node in chunks, and streams it back", async () => {
    const before = node.uploadChunks.length;
    const res = await fetch(`${server.url()}uri`, { method: "PUT", body: FIVE });
    expect(res.status).toBe(200);
    const cap = await res.text();
    expect(cap).toMatch(/^URI:CHK:.*:3:10:5242880$/);
    const sizes = node.uploadChunks[before]!;
    expect(sizes.length).toBeGreaterThan(4);
    expect(Math.max(...sizes)).toBeLessThan(MiB);
    expect(node.uploadSizes[before]).toBe(5 * MiB);

    const down = await fetch(`${server.url()}uri/${encodeURIComponent(cap)}`);
    expect(down.headers.get("content-length")).toBe(String(5 * MiB));
    expect(Buffer.from(await down.arrayBuffer()).equals(FIVE)).toBe(true);
  });

  it("streams a chunked PUT without a size, and a multipart POST, in chunks", async () => {
    const before = node.uploadChunks.length;
    const put = await fetch(`${server.url()}uri`, {
      method: "PUT",
      body: chunked(FIVE),
      duplex: "half",
    } as RequestInit);
    expect(put.status).toBe(200);
    expect(node.uploadSizes[before]).toBeUndefined();
    expect(node.uploadChunks[before]!.length).toBeGreaterThan(4);

    const form = new FormData();
    form.set("t", "upload");
    form.set("file", new Blob([FIVE]), "five.bin");
    const post = await fetch(`${server.url()}uri`, { method: "POST", body: form });
    expect(post.status).toBe(200);
    expect(await post.text()).toBe(await put.text());
    expect(node.uploadChunks[before + 1]!.length).toBeGreaterThan(4);
  });

  it("fails a chunked upload that grows past the limit with 413", async () => {
    const res = await fetch(`${server.url()}uri`, {
      method: "PUT",
      body: chunked(bytes(7 * MiB)),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.text()).toContain("TAHOE_ERR_WEB_TOO_LARGE");
  });

  it("aborts the node's download when the client goes away", async () => {
    let seen: AbortSignal | undefined;
    const original = node.openDownload;
    node.openDownload = async (_cap, options): Promise<WebDownload> => {
      seen = options.signal;
      return {
        size: 100 * MiB,
        async *read(_range, signal) {
          while (!signal?.aborted) {
            yield new Uint8Array(65_536);
            await new Promise((r) => setTimeout(r, 1));
          }
        },
      };
    };
    try {
      const url = new URL(`${server.url()}uri/URI:LIT:nbswy3dp`);
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname }, (res) => {
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        });
        req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
        req.end();
      });
      await expect.poll(() => seen?.aborted, { timeout: 5000 }).toBe(true);
    } finally {
      node.openDownload = original;
    }
  });

  it("cuts the connection short when a download fails after the headers went out", async () => {
    const original = node.openDownload;
    node.openDownload = async (): Promise<WebDownload> => ({
      size: 200_000,
      async *read() {
        yield new Uint8Array(65_536);
        throw new TahoeError("TAHOE_ERR_IMMUTABLE_BLOCK_HASH", "block 1 of share 0 does not match");
      },
    });
    try {
      const res = await fetch(`${server.url()}uri/URI:LIT:nbswy3dp`);
      expect(res.status).toBe(200);
      await expect(res.arrayBuffer()).rejects.toThrow();
    } finally {
      node.openDownload = original;
    }
  });
});

describe("createWebServer", () => {
  it("names the endpoint when it cannot listen", async () => {
    const port = Number(new URL(server.url()).port);
    const second = createWebServer({ node, listen: { kind: "tcp", port, interface: "127.0.0.1" } });
    await expect(second.start()).rejects.toMatchObject({
      code: "TAHOE_ERR_WEB_LISTEN",
      message: expect.stringContaining(`tcp:${port}:interface=127.0.0.1`),
      hint: expect.stringContaining("web.port"),
    });
    expect(() => second.url()).toThrow(expect.objectContaining({ code: "TAHOE_ERR_WEB_NOT_STARTED" }));
  });

  it("listens on a unix socket with its mode, and stops", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lafs-web-"));
    try {
      const path = join(dir, "web.sock");
      const unix = createWebServer({ node, listen: { kind: "unix", path, mode: 0o600 } });
      await unix.start();
      expect(unix.url()).toBe(`http+unix://${encodeURIComponent(path)}/`);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const body = await new Promise<string>((resolve, reject) => {
        request({ socketPath: path, path: "/?t=json" }, (res) => {
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => resolve(text));
        })
          .on("error", reject)
          .end();
      });
      expect(JSON.parse(body).node.nickname).toBe("alice");
      await unix.stop();
      expect(() => unix.url()).toThrow(expect.objectContaining({ code: "TAHOE_ERR_WEB_NOT_STARTED" }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
