import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type DelayRelay, startDelayRelay } from "../../tools/bench/delay-relay.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** An echo server on 127.0.0.1. */
async function echo(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as { port: number }).port;
}

async function relay(port: number, delayMs: number): Promise<DelayRelay> {
  const r = await startDelayRelay(port, delayMs);
  closers.push(() => r.close());
  return r;
}

describe("the delay relay", () => {
  it("passes every byte, in order, a round trip of twice its delay later", async () => {
    const r = await relay(await echo(), 40);
    const socket = connect(r.port, "127.0.0.1");
    await once(socket, "connect");
    const sent = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const got: Buffer[] = [];
    let length = 0;
    const t0 = performance.now();
    let firstAt = 0;
    const all = new Promise<void>((resolve) =>
      socket.on("data", (d: Buffer) => {
        if (length === 0) firstAt = performance.now() - t0;
        got.push(d);
        length += d.length;
        if (length >= sent.length) resolve();
      }),
    );
    for (let at = 0; at < sent.length; at += 10_000) socket.write(sent.subarray(at, at + 10_000));
    await all;
    socket.destroy();
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    expect(firstAt).toBeGreaterThanOrEqual(79);
  });

  it("closes the far side when one side goes away", async () => {
    let serverSide: Socket | undefined;
    const server = createServer((s) => {
      serverSide = s;
      s.on("error", () => {});
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const r = await relay((server.address() as { port: number }).port, 5);
    const socket = connect(r.port, "127.0.0.1");
    await once(socket, "connect");
    while (serverSide === undefined) await new Promise((t) => setTimeout(t, 5));
    const farClosed = once(serverSide, "close");
    socket.destroy();
    await farClosed;
  });
});
