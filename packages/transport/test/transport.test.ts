import { createServer } from "node:net";
import type { ConnectionHint } from "@lafs/config";
import { afterAll, describe, expect, it } from "vitest";
import { createTransport } from "../src/index.js";
import { configOf, echoServer, fakeSam, fakeSocks, i2pOf, listen, onionOf, roundTrip } from "./fakes.js";

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});
const tcp = (host: string, port: number): ConnectionHint => ({ kind: "tcp", host, port });
const SERVER = `v0-${"s".repeat(52)}`;

describe("the tcp handler", () => {
  it("dials a tcp hint directly and records the attempt", async () => {
    const echo = await echoServer();
    closers.push(echo.close);
    let clock = 1_000;
    const transport = createTransport({ config: configOf(""), now: () => clock++ });
    const socket = await transport.connect(tcp("127.0.0.1", echo.port), { serverId: SERVER });
    expect(await roundTrip(socket, "direct")).toBe("direct");
    socket.destroy();
    expect(transport.attempts(SERVER)).toEqual([
      {
        serverId: SERVER,
        hint: `tcp:127.0.0.1:${echo.port}`,
        handler: "tcp",
        ok: true,
        at: 1000,
        durationMs: expect.any(Number),
      },
    ]);
  });

  it("names the hint and the system error when the connection fails", async () => {
    const gone = await echoServer();
    await gone.close();
    const transport = createTransport({ config: configOf("") });
    await expect(transport.connect(tcp("127.0.0.1", gone.port))).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_TCP_FAILED",
      message: `cannot connect to tcp:127.0.0.1:${gone.port}: ECONNREFUSED`,
    });
    expect(transport.attempts()).toEqual([
      expect.objectContaining({
        ok: false,
        error: expect.objectContaining({ code: "TAHOE_ERR_TRANSPORT_TCP_FAILED" }),
      }),
    ]);
  });
});

describe("disabled, missing Tor, missing I2P", () => {
  it("refuses a disabled tcp hint, naming the hint and the setting with its line", async () => {
    const transport = createTransport({
      config: configOf("[node]\nnickname = n\n[connections]\ntcp = disabled\n"),
    });
    await expect(transport.connect(tcp("192.0.2.1", 1))).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_DISABLED",
      message:
        "tcp:192.0.2.1:1 is not used: its handler is disabled by [connections]tcp = disabled (tahoe.cfg line 4)",
    });
    expect(transport.attempts()[0]).toMatchObject({ handler: "disabled", ok: false });
  });

  it("says that an onion-only server needs Tor, and which settings would enable it", async () => {
    const transport = createTransport({ config: configOf("") });
    const hints: ConnectionHint[] = [
      { kind: "tor", host: onionOf(1), port: 3457 },
      { kind: "tor", host: onionOf(2), port: 3457 },
    ];
    const status = transport.reachability(hints, SERVER);
    expect(status.reachable).toBe(false);
    expect(status.reason).toContain(`every hint of server ${SERVER} needs a handler this node lacks`);
    expect(status.reason).toContain(`tor:${onionOf(1)}:3457 needs Tor`);
    expect(status.setting).toContain("[tor]launch = true (tahoe create-node --tor-launch)");
    expect(status.hints.map((h) => h.handler)).toEqual(["tor", "tor"]);
    await expect(transport.connect(hints[0]!, { serverId: SERVER })).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_NO_TOR",
      hint: expect.stringContaining("[tor]socks.port"),
    });
    const off = createTransport({
      config: configOf("[tor]\nenabled = false\nsocks.port = tcp:127.0.0.1:9050\n"),
    });
    expect(off.reachability(hints).setting).toBe("[tor]enabled = true");
  });

  it("says that an I2P-only server needs I2P", async () => {
    const transport = createTransport({ config: configOf("") });
    const hint: ConnectionHint = { kind: "i2p", host: i2pOf(1) };
    expect(transport.reachability([hint]).setting).toContain("[i2p]sam.port");
    await expect(transport.connect(hint)).rejects.toMatchObject({ code: "TAHOE_ERR_TRANSPORT_NO_I2P" });
  });

  it("calls a server reachable when any one hint has a handler", () => {
    const transport = createTransport({ config: configOf("") });
    const status = transport.reachability([{ kind: "tor", host: onionOf(1), port: 1 }, tcp("192.0.2.1", 1)]);
    expect(status).toMatchObject({ reachable: true });
    expect(status.hints.map((h) => h.available)).toEqual([false, true]);
  });
});

describe("the tor handler", () => {
  it("sends onion hints, and with tcp = tor also tcp hints, to Tor by name or address", async () => {
    const socks = await fakeSocks();
    closers.push(socks.close);
    const transport = createTransport({
      config: configOf(`[connections]\ntcp = tor\n[tor]\nsocks.port = tcp:127.0.0.1:${socks.port}\n`),
    });
    const onion = onionOf(5);
    const a = await transport.connect({ kind: "tor", host: onion, port: 3457 });
    expect(await roundTrip(a, "onion")).toBe("onion");
    a.destroy();
    (await transport.connect(tcp("storage.invalid", 443))).destroy();
    (await transport.connect(tcp("192.0.2.9", 80))).destroy();
    (await transport.connect(tcp("2001:db8::9", 80))).destroy();
    expect(socks.requests).toEqual([
      { atyp: 3, host: onion, port: 3457 },
      { atyp: 3, host: "storage.invalid", port: 443 },
      { atyp: 1, host: "192.0.2.9", port: 80 },
      { atyp: 4, host: "2001:0db8:0000:0000:0000:0000:0000:0009", port: 80 },
    ]);
    expect(transport.attempts().map((x) => x.handler)).toEqual(["tor", "tor", "tor", "tor"]);
  });

  it("asks the Tor provider for the SOCKS port at each connection", async () => {
    const socks = await fakeSocks(() => 0xf0);
    closers.push(socks.close);
    let asked = 0;
    const transport = createTransport({
      config: configOf(""),
      tor: {
        socksEndpoint: async () => {
          asked++;
          return { host: "127.0.0.1", port: socks.port };
        },
      },
    });
    await expect(transport.connect({ kind: "tor", host: onionOf(6), port: 1 })).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_NOT_FOUND",
    });
    expect(asked).toBe(1);
  });
});

describe("the i2p handler", () => {
  it("opens one SAM session and a STREAM CONNECT per connection", async () => {
    const sam = await fakeSam();
    closers.push(sam.close);
    const transport = createTransport({ config: configOf(`[i2p]\nsam.port = tcp:127.0.0.1:${sam.port}\n`) });
    const peer = i2pOf(9);
    const one = await transport.connect({ kind: "i2p", host: peer, port: 3457 });
    expect(await roundTrip(one, "i2p one")).toBe("i2p one");
    const two = await transport.connect({ kind: "i2p", host: peer });
    one.destroy();
    two.destroy();
    expect(sam.lines.filter((l) => l.startsWith("SESSION CREATE"))).toHaveLength(1);
    expect(sam.lines.filter((l) => l.startsWith("STREAM CONNECT"))).toEqual([
      expect.stringMatching(
        new RegExp(`^STREAM CONNECT ID=lafs-[0-9a-f]+ DESTINATION=${peer} SILENT=false TO_PORT=3457$`),
      ),
      expect.stringMatching(new RegExp(`DESTINATION=${peer} SILENT=false$`)),
    ]);
    await transport.close();
  });
});

describe("connectAny (happy eyeballs over a server's hints)", () => {
  it("moves to the next hint at once when one fails, and lists every failure when all do", async () => {
    const dead1 = await echoServer();
    const dead2 = await echoServer();
    await dead1.close();
    await dead2.close();
    const echo = await echoServer();
    closers.push(echo.close);
    const transport = createTransport({ config: configOf("") });
    const started = performance.now();
    const { hint, socket } = await transport.connectAny(
      [tcp("127.0.0.1", dead1.port), tcp("127.0.0.1", echo.port)],
      { serverId: SERVER, staggerMs: 5_000 },
    );
    socket.destroy();
    expect(hint.port).toBe(echo.port);
    expect(performance.now() - started).toBeLessThan(2_000);
    const err = await transport
      .connectAny([tcp("127.0.0.1", dead1.port), tcp("127.0.0.1", dead2.port)], { serverId: SERVER })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TAHOE_ERR_TRANSPORT_CONNECT_FAILED" });
    expect((err as Error).message).toContain(`tcp:127.0.0.1:${dead1.port}: cannot connect`);
    expect((err as Error).message).toContain(`tcp:127.0.0.1:${dead2.port}: cannot connect`);
  });

  it("staggers the starts: the second hint begins only after the first has had its head start", async () => {
    const hanging = await listen(createServer(() => {}));
    const socks = await fakeSocks();
    closers.push(hanging.close, socks.close);
    let calls = 0;
    const transport = createTransport({
      config: configOf("[connections]\ntcp = tor\n"),
      tor: {
        socksEndpoint: async () => ({ host: "127.0.0.1", port: calls++ === 0 ? hanging.port : socks.port }),
      },
    });
    const started = performance.now();
    const { hint, socket } = await transport.connectAny([tcp("first.invalid", 1), tcp("second.invalid", 2)], {
      serverId: SERVER,
      staggerMs: 200,
    });
    socket.destroy();
    const elapsed = performance.now() - started;
    expect(hint.host).toBe("second.invalid");
    expect(elapsed).toBeGreaterThanOrEqual(190);
    await expect.poll(() => transport.attempts(SERVER).length).toBe(2);
    const byHint = new Map(transport.attempts(SERVER).map((x) => [x.hint, x]));
    expect(byHint.get("tcp:first.invalid:1")).toMatchObject({
      ok: false,
      error: {
        code: "TAHOE_ERR_TRANSPORT_ABORTED",
        message: expect.stringContaining("another hint connected first"),
      },
    });
    expect(byHint.get("tcp:second.invalid:2")).toMatchObject({ ok: true, handler: "tor" });
  });
});

describe("limits and shutdown", () => {
  it("gives up after timeoutMs with a TIMEOUT naming the hint", async () => {
    const hanging = await listen(createServer(() => {}));
    closers.push(hanging.close);
    const transport = createTransport({
      config: configOf(`[tor]\nsocks.port = tcp:127.0.0.1:${hanging.port}\n`),
    });
    await expect(
      transport.connect({ kind: "tor", host: onionOf(1), port: 1 }, { timeoutMs: 100 }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_TIMEOUT",
      message: `no connection to tor:${onionOf(1)}:1 within 100 ms (tor handler)`,
    });
  });

  it("passes a caller's abort through as ABORTED, and fails everything after close()", async () => {
    const hanging = await listen(createServer(() => {}));
    closers.push(hanging.close);
    const transport = createTransport({
      config: configOf(`[tor]\nsocks.port = tcp:127.0.0.1:${hanging.port}\n`),
    });
    const controller = new AbortController();
    const pending = transport.connectorFor(SERVER)(
      { kind: "tor", host: onionOf(1), port: 1 },
      controller.signal,
    );
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "TAHOE_ERR_TRANSPORT_ABORTED" });
    await transport.close();
    await expect(transport.connect(tcp("127.0.0.1", 1))).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_CLOSED",
    });
  });
});
