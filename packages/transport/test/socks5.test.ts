import dns from "node:dns";
import { createServer } from "node:net";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isolationKey } from "../src/handlers.js";
import {
  socks5Connect,
  socks5ConnectRequest,
  socksReplyError,
  usernamePasswordRequest,
} from "../src/index.js";
import { fakeSocks, listen, onionOf, roundTrip } from "./fakes.js";

describe("socks5ConnectRequest", () => {
  it("sends a host name as ATYP 3 with its length, never as an address", () => {
    const bytes = socks5ConnectRequest({ host: "sentinel.invalid", port: 443 });
    expect([...bytes.subarray(0, 5)]).toEqual([5, 1, 0, 3, 16]);
    expect(bytes.subarray(5, 21).toString("ascii")).toBe("sentinel.invalid");
    expect(bytes.readUInt16BE(21)).toBe(443);
    expect(bytes.length).toBe(23);
  });

  it("sends IPv4 as ATYP 1 and IPv6 as ATYP 4", () => {
    expect([...socks5ConnectRequest({ host: "192.0.2.7", port: 80 })]).toEqual([
      5, 1, 0, 1, 192, 0, 2, 7, 0, 80,
    ]);
    const v6 = socks5ConnectRequest({ host: "2001:db8::1", port: 1 });
    expect(v6[3]).toBe(4);
    expect(v6.subarray(4, 20).toString("hex")).toBe("20010db8000000000000000000000001");
  });

  it("refuses a name longer than SOCKS5 can carry", () => {
    expect(() => socks5ConnectRequest({ host: `${"a.".repeat(128)}invalid`, port: 1 })).toThrow(
      expect.objectContaining({ code: "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL" }),
    );
  });
});

describe("usernamePasswordRequest (RFC 1929, for Tor's stream isolation)", () => {
  it("writes version 1 and each field with its length", () => {
    expect([...usernamePasswordRequest({ username: "ab", password: "xyz" })]).toEqual([
      1, 2, 0x61, 0x62, 3, 0x78, 0x79, 0x7a,
    ]);
  });

  it("refuses an empty or over-long field", () => {
    expect(() => usernamePasswordRequest({ username: "", password: "x" })).toThrow(/username is 0 bytes/);
    expect(() => usernamePasswordRequest({ username: "u", password: "p".repeat(256) })).toThrow(
      /password is 256 bytes; RFC 1929 allows 1..255/,
    );
  });

  it("a stream's isolation key is its server id, else its hint's host and port; long ones are hashed", () => {
    expect(isolationKey("v0-abc", "x.onion", 3457)).toBe("v0-abc");
    expect(isolationKey(undefined, "x.onion", 3457)).toBe("x.onion:3457");
    expect(isolationKey("s".repeat(300), "h", 1)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("socks5Connect", () => {
  const lookups: string[] = [];
  const realLookup = dns.lookup;
  beforeEach(() => {
    lookups.length = 0;
    dns.lookup = ((host: string, ...rest: unknown[]) => {
      lookups.push(host);
      return (realLookup as (...a: unknown[]) => unknown)(host, ...rest);
    }) as typeof dns.lookup;
  });
  afterEach(() => {
    dns.lookup = realLookup;
  });
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it("hands the name to the proxy, then carries bytes both ways", async () => {
    const proxy = await fakeSocks();
    closers.push(proxy.close);
    const onion = onionOf(1);
    lookups.length = 0; // listen() above looked up its own bind address
    const socket = await socks5Connect(proxy, { host: onion, port: 3457 }, new AbortController().signal);
    expect(await roundTrip(socket, "hello through tor")).toBe("hello through tor");
    socket.destroy();
    expect(proxy.requests).toEqual([{ atyp: 3, host: onion, port: 3457 }]);
    expect(lookups).toEqual([]);
  });

  it("maps every reply code, Tor's extended ones included, to a typed error naming target and proxy", async () => {
    const table: [number, string][] = [
      [0x01, "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE"],
      [0x02, "TAHOE_ERR_TRANSPORT_SOCKS_NOT_ALLOWED"],
      [0x03, "TAHOE_ERR_TRANSPORT_SOCKS_UNREACHABLE"],
      [0x04, "TAHOE_ERR_TRANSPORT_SOCKS_UNREACHABLE"],
      [0x05, "TAHOE_ERR_TRANSPORT_SOCKS_REFUSED"],
      [0x06, "TAHOE_ERR_TRANSPORT_SOCKS_TTL_EXPIRED"],
      [0x07, "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE"],
      [0x08, "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE"],
      [0xf0, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_NOT_FOUND"],
      [0xf1, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_INVALID"],
      [0xf2, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_UNREACHABLE"],
      [0xf3, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_UNREACHABLE"],
      [0xf4, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_AUTH"],
      [0xf5, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_AUTH"],
      [0xf6, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_INVALID"],
      [0xf7, "TAHOE_ERR_TRANSPORT_SOCKS_ONION_UNREACHABLE"],
      [0x42, "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE"],
    ];
    const proxy = await fakeSocks((req) => req.port);
    closers.push(proxy.close);
    const onion = onionOf(2);
    for (const [reply, code] of table) {
      const err = await socks5Connect(
        proxy,
        { host: onion, port: reply },
        new AbortController().signal,
      ).catch((e: unknown) => e);
      expect(err, `reply 0x${reply.toString(16)}`).toMatchObject({ code });
      const e = err as Error & { hint?: string };
      expect(e.message).toContain(`${onion}:${reply}`);
      expect(e.message).toContain(`tcp:127.0.0.1:${proxy.port}`);
      expect(e.message).toContain(`0x${reply.toString(16).padStart(2, "0")}`);
      expect(e.hint).toBeTruthy();
    }
    expect(socksReplyError(0xf0, "x", "y").message).toContain("descriptor not found");
  });

  it("says so when the proxy wants authentication or speaks another protocol", async () => {
    const auth = await fakeSocks(undefined, Buffer.of(5, 0xff));
    const http = await listen(createServer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n")));
    closers.push(auth.close, http.close);
    await expect(
      socks5Connect(auth, { host: "a.invalid", port: 1 }, new AbortController().signal),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
      message: expect.stringContaining("requires authentication"),
    });
    await expect(
      socks5Connect(http, { host: "a.invalid", port: 1 }, new AbortController().signal),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
    });
  });

  it("names the SOCKS port when nothing listens there", async () => {
    const gone = await fakeSocks();
    await gone.close();
    await expect(
      socks5Connect(gone, { host: "a.invalid", port: 1 }, new AbortController().signal),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_SOCKS_UNAVAILABLE",
      message: expect.stringMatching(new RegExp(`tcp:127\\.0\\.0\\.1:${gone.port}: ECONNREFUSED`)),
    });
  });

  it("stops a handshake the proxy never answers when the signal aborts", async () => {
    const silent = await listen(createServer(() => {}));
    closers.push(silent.close);
    const controller = new AbortController();
    const pending = socks5Connect(silent, { host: "a.invalid", port: 1 }, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: "TAHOE_ERR_TRANSPORT_ABORTED" });
  });

  it("reaches a proxy on a unix socket", async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const path = join(await mkdtemp(join(tmpdir(), "socks-")), "socks.sock");
    const proxy = await fakeSocks();
    await proxy.close();
    const server = proxy.server;
    await new Promise<void>((resolve) => server.listen(path, resolve));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const socket = await socks5Connect(
      { path },
      { host: "b.invalid", port: 9 },
      new AbortController().signal,
    );
    expect(await roundTrip(socket, "via unix")).toBe("via unix");
    socket.destroy();
    vi.restoreAllMocks();
  });
});
