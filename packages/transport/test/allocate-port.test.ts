import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { allocatePort } from "../src/index.js";

function listen(port: number, host: string): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () =>
      resolve(() => new Promise((done) => server.close(() => done()))),
    );
  });
}

describe("allocatePort", () => {
  it("returns a port that a server can then bind on loopback", async () => {
    const port = await allocatePort({ host: "127.0.0.1" });
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
    const close = await listen(port, "127.0.0.1");
    await close();
  });

  it("returns a port free on every interface by default", async () => {
    const port = await allocatePort();
    const close = await listen(port, "0.0.0.0");
    await close();
  });

  it("picks below the kernel's ephemeral range, where outgoing connections take their source ports", async () => {
    const range = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    const ports = await Promise.all(Array.from({ length: 20 }, () => allocatePort({ host: "127.0.0.1" })));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(range[0]!);
    }
  });

  it("never hands out a port that is held or was handed out just before", async () => {
    const held = await Promise.all(Array.from({ length: 10 }, () => allocatePort({ host: "127.0.0.1" })));
    const closers = await Promise.all(held.map((port) => listen(port, "127.0.0.1")));
    try {
      const more = await Promise.all(Array.from({ length: 10 }, () => allocatePort({ host: "127.0.0.1" })));
      for (const port of more) expect(held).not.toContain(port);
      const again = await Promise.all(more.map((port) => listen(port, "127.0.0.1")));
      await Promise.all(again.map((close) => close()));
    } finally {
      await Promise.all(closers.map((close) => close()));
    }
  });

  it("gives distinct ports to calls made together", async () => {
    const ports = await Promise.all(Array.from({ length: 5 }, () => allocatePort({ host: "127.0.0.1" })));
    expect(new Set(ports).size).toBe(5);
  });

  it("names the address when it cannot bind there", async () => {
    // 192.0.2.1 (TEST-NET-1) is never assigned to this machine, so bind fails locally without traffic.
    await expect(allocatePort({ host: "192.0.2.1" })).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_PORT_ALLOCATION",
      message: expect.stringContaining("192.0.2.1"),
    });
  });
});
