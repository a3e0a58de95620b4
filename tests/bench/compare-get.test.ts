import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareGet } from "../../tools/bench/compare-get.js";

// The benchmarks' download check: it must notice every way an answer can differ from what was
// uploaded, or a broken download would be timed as a good one.
const bytes = randomBytes(3 * 1024 * 1024 + 17);
const flipped = Buffer.from(bytes);
flipped[2 * 1024 * 1024 + 5]! ^= 1;

let server: Server;
let base: URL;

beforeAll(async () => {
  server = createServer((req, res) => {
    const send = (status: number, body: Buffer, headers: Record<string, string | number> = {}) => {
      res.writeHead(status, { "content-length": body.length, ...headers });
      // Pieces of odd sizes, so the headers and the body's reads split anywhere.
      for (let at = 0; at < body.length; at += 100_003) res.write(body.subarray(at, at + 100_003));
      res.end();
    };
    if (req.url === "/same") send(200, bytes);
    else if (req.url === "/flipped") send(200, flipped);
    else if (req.url === "/short") send(200, bytes.subarray(0, bytes.length - 1));
    else if (req.url === "/chunked") {
      res.write(bytes.subarray(0, 10)); // before any length is known: chunked
      res.end(bytes.subarray(10));
    } else if (req.url === "/cut") {
      res.writeHead(200, { "content-length": bytes.length });
      res.write(bytes.subarray(0, 1000), () => res.destroy());
    } else send(404, Buffer.from("no such file"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("compareGet", () => {
  it("reads a body equal to the expected bytes as the same", async () => {
    expect(await compareGet(new URL("same", base), bytes)).toEqual({
      status: 200,
      bytes: bytes.length,
      same: true,
      errorText: "",
    });
  });

  it("finds one flipped bit", async () => {
    const got = await compareGet(new URL("flipped", base), bytes);
    expect(got).toMatchObject({ status: 200, bytes: bytes.length, same: false });
  });

  it("finds a body one byte short", async () => {
    const got = await compareGet(new URL("short", base), bytes);
    expect(got).toMatchObject({ status: 200, bytes: bytes.length - 1, same: false });
  });

  it("gives the status and the start of the body of an error", async () => {
    expect(await compareGet(new URL("missing", base), bytes)).toMatchObject({
      status: 404,
      errorText: "no such file",
    });
  });

  it("says it needs a Content-Length", async () => {
    await expect(compareGet(new URL("chunked", base), bytes)).rejects.toThrow(/without a Content-Length/);
  });

  it("fails when the answer ends before its Content-Length", async () => {
    await expect(compareGet(new URL("cut", base), bytes)).rejects.toThrow(/ended early|ECONNRESET|closed/);
  });
});
