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
