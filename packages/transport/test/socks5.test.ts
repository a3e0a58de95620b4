import dns from "node:dns";
import { createServer } from "node:net";
import { SocksClient, type SocksClientOptions } from "socks";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isolationKey } from "../src/handlers.js";
import { socks5Connect, socksReplyError } from "../src/index.js";
import { fakeSocks, listen, onionOf, roundTrip } from "./fakes.js";

describe("the socks package alone (why socks5.ts reads the reply code itself)", () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it("reports Tor's extended replies as one 'rejected connection - undefined', with no reply code", async () => {
    const codes = new Map([0xf0, 0xf2, 0xf6, 0x05].map((code, i) => [onionOf(10 + i), code]));
    const proxy = await fakeSocks((req) => codes.get(req.host) ?? 1);
    closers.push(proxy.close);
    const errors: { error: Error; options: SocksClientOptions }[] = [];
    for (const host of codes.keys()) {
      const options: SocksClientOptions = {
        proxy: { host: "127.0.0.1", port: proxy.port, type: 5 },
        command: "connect",
        destination: { host, port: 3457 },
      };
      const error = await SocksClient.createConnection(options).then(
        () => new Error("connected"),
        (e: Error) => e,
      );
      errors.push({ error, options });
    }
    // Onion not found, introduction failed and a malformed address read the same...
    expect(errors.slice(0, 3).map((e) => e.error.message)).toEqual([
      "Socks5 proxy rejected connection - undefined",
      "Socks5 proxy rejected connection - undefined",
      "Socks5 proxy rejected connection - undefined",
    ]);
    // ...and nothing on the error carries the code: its only own field is the options it was given.
    for (const { error, options } of errors) {
      expect(Object.keys(error)).toEqual(["options"]);
      expect((error as Error & { options: unknown }).options).toEqual(options);
    }
    expect(proxy.requests.map((r) => codes.get(r.host))).toEqual([0xf0, 0xf2, 0xf6, 0x05]);
    // RFC 1928's own codes it names.
    expect(errors[3]!.error.message).toBe("Socks5 proxy rejected connection - ConnectionRefused");
  });
});

describe("what socks5Connect sends (through the socks package)", () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });
  const never = new AbortController().signal;

  it("sends a name as ATYP 3, IPv4 as ATYP 1 and IPv6 (bracketed or not) as ATYP 4", async () => {
    const proxy = await fakeSocks();
    closers.push(proxy.close);
    for (const host of ["sentinel.invalid", "192.0.2.7", "2001:db8::1", "[2001:db8::1]"]) {
      (await socks5Connect(proxy, { host, port: 443 }, never)).destroy();
    }
    expect(proxy.requests).toEqual([
      { atyp: 3, host: "sentinel.invalid", port: 443 },
      { atyp: 1, host: "192.0.2.7", port: 443 },
      { atyp: 4, host: "2001:0db8:0000:0000:0000:0000:0000:0001", port: 443 },
      { atyp: 4, host: "2001:0db8:0000:0000:0000:0000:0000:0001", port: 443 },
    ]);
    expect(proxy.methods).toEqual([[0], [0], [0], [0]]);
  });

  it("refuses a name SOCKS5 cannot carry before dialling the proxy", async () => {
    const proxy = await fakeSocks();
    closers.push(proxy.close);
    for (const host of [`${"a.".repeat(128)}invalid`, "", "bücher.example"]) {
      await expect(socks5Connect(proxy, { host, port: 1 }, never)).rejects.toMatchObject({
        code: "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
        message: expect.stringContaining("1..255 bytes of printable ASCII"),
      });
    }
    expect(proxy.methods).toEqual([]);
  });

  it("offers username/password and sends the stream isolation credentials (RFC 1929)", async () => {
    const proxy = await fakeSocks();
    closers.push(proxy.close);
    const socket = await socks5Connect(proxy, { host: onionOf(3), port: 3457 }, never, {
      username: "v0-server",
      password: "nonce",
    });
    expect(await roundTrip(socket, "isolated")).toBe("isolated");
    socket.destroy();
    expect(proxy.methods).toEqual([[0, 2]]);
    expect(proxy.auths).toEqual([{ username: "v0-server", password: "nonce" }]);
    expect(proxy.requests).toEqual([{ atyp: 3, host: onionOf(3), port: 3457 }]);
  });

  it("refuses an empty or over-long credential before dialling", async () => {
    const proxy = await fakeSocks();
    closers.push(proxy.close);
    await expect(
      socks5Connect(proxy, { host: "a.invalid", port: 1 }, never, { username: "", password: "x" }),
    ).rejects.toThrow(/username is 0 bytes/);
    await expect(
      socks5Connect(proxy, { host: "a.invalid", port: 1 }, never, {
        username: "u",
        password: "p".repeat(256),
      }),
    ).rejects.toThrow(/password is 256 bytes; RFC 1929 allows 1..255/);
    expect(proxy.methods).toEqual([]);
  });

  it("a proxy that refuses the credentials is named", async () => {
    const proxy = await fakeSocks(undefined, { authStatus: 1 });
    closers.push(proxy.close);
    await expect(
      socks5Connect(proxy, { host: "a.invalid", port: 1 }, never, { username: "u", password: "p" }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
      message: expect.stringContaining("refused the SOCKS username/password (RFC 1929)"),
    });
  });

  it("keeps bytes the target sends with the reply for whoever reads the socket later", async () => {
    const proxy = await fakeSocks(undefined, { afterReply: Buffer.from("banner\n") });
    closers.push(proxy.close);
    const socket = await socks5Connect(proxy, { host: "a.invalid", port: 1 }, never);
    await new Promise((r) => setTimeout(r, 50)); // a consumer that attaches late
    const first = await new Promise<string>((resolve) =>
      socket.once("data", (d: Buffer) => resolve(d.toString())),
    );
    expect(first).toBe("banner\n");
    expect(await roundTrip(socket, "then echo")).toBe("then echo");
    socket.destroy();
  });

  it("a stream isolation key is its server id, else its hint's host and port; long ones are hashed", () => {
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
