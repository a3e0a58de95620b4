import dns from "node:dns";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listenOnEndpoint, literalListenEndpoint } from "../src/index.js";

describe("listenOnEndpoint", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function unixServer(mode: number): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "lafs-listen-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "socket");
    const server = createServer();
    await listenOnEndpoint(server, { kind: "unix", path, mode });
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return path;
  }

  it("gives a unix socket its mode=", async () => {
    const path = await unixServer(0o600);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("listens on interface=localhost as 127.0.0.1 without asking the system resolver", async () => {
    const lookup = vi.spyOn(dns, "lookup");
    try {
      const server = createServer();
      await listenOnEndpoint(server, { kind: "tcp", port: 0, interface: "localhost" });
      cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      expect(server.address()).toMatchObject({ address: "127.0.0.1" });
      // Node's listen passes even a literal through dns.lookup, which answers it without the
      // system resolver; what must never reach it is a name.
      expect(lookup.mock.calls.map((c) => c[0])).toEqual(["127.0.0.1"]);
      // The spy is live: the same name given to Node as it is goes to the resolver (/etc/hosts).
      const named = createServer();
      await new Promise<void>((resolve) => named.listen({ port: 0, host: "localhost" }, resolve));
      cleanup.push(() => new Promise<void>((resolve) => named.close(() => resolve())));
      expect(lookup.mock.calls.map((c) => c[0])).toEqual(["127.0.0.1", "localhost"]);
    } finally {
      lookup.mockRestore();
    }
    expect(literalListenEndpoint({ kind: "tcp", port: 1, interface: "LOCALHOST" })).toEqual({
      kind: "tcp",
      port: 1,
      interface: "127.0.0.1",
    });
    expect(literalListenEndpoint({ kind: "tcp", port: 1, interface: "::1" })).toEqual({
      kind: "tcp",
      port: 1,
      interface: "::1",
    });
  });

  it("binds a tcp endpoint on the interface it names", async () => {
    const server = createServer();
    await listenOnEndpoint(server, { kind: "tcp", port: 0, interface: "127.0.0.1" });
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    expect(typeof address === "object" && address?.address).toBe("127.0.0.1");
  });

  it("rejects with the socket's own error when the port is taken", async () => {
    const first = createServer();
    await listenOnEndpoint(first, { kind: "tcp", port: 0, interface: "127.0.0.1" });
    cleanup.push(() => new Promise<void>((resolve) => first.close(() => resolve())));
    const port = (first.address() as { port: number }).port;
    await expect(
      listenOnEndpoint(createServer(), { kind: "tcp", port, interface: "127.0.0.1" }),
    ).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
