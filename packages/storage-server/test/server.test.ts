import { mkdtemp, rm } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { spkiHashOfCertificate } from "@lafs/crypto";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { authorizationValue, createStorageServer, storageServerPlugin } from "../src/index.js";
import { NODE_ID, testIdentity } from "./helpers.js";

describe("createStorageServer", () => {
  it("serves exactly one self-signed certificate without SNI, on every endpoint, and pins", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lafs-storage-"));
    const id = testIdentity();
    const socketPath = join(dir, "gbs.sock");
    const server = createStorageServer({
      storageDir: join(dir, "storage"),
      swissnum: "abc",
      writeEnablerNodeId: NODE_ID,
      tls: { keyPem: id.keyPem, certPem: id.certPem },
      listen: [
        { kind: "tcp", port: 0, interface: "127.0.0.1" },
        { kind: "tcp", port: 0, interface: "127.0.0.1" },
        { kind: "unix", path: socketPath, mode: 0o600 },
      ],
    });
    await server.start();
    try {
      const addresses = server.addresses();
      expect(addresses).toHaveLength(2);
      for (const { host, port } of addresses) {
        expect(host).toBe("127.0.0.1");
        expect(port).toBeGreaterThan(0);
        const chain = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
          const socket = tls.connect({ host, port, rejectUnauthorized: false }, () => {
            resolve(socket.getPeerCertificate(true));
            socket.end();
          });
          socket.on("error", reject);
        });
        expect(spkiHashOfCertificate(chain.raw)).toBe(id.spkiHash);
        // A self-signed certificate is its own issuer: nothing else is in the chain.
        expect(chain.issuerCertificate.raw).toEqual(chain.raw);
      }
      const status = await new Promise<number>((resolve, reject) => {
        https
          .get(
            {
              socketPath,
              path: "/storage/v1/version",
              rejectUnauthorized: false,
              headers: { Authorization: authorizationValue("abc") },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode!);
            },
          )
          .on("error", reject);
      });
      expect(status).toBe(200);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
    expect(server.addresses()).toEqual([]);
  });

  it("reports a port already in use as TAHOE_ERR_STORAGE_SERVER_LISTEN", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lafs-storage-"));
    const id = testIdentity();
    const options = {
      storageDir: join(dir, "storage"),
      swissnum: "abc",
      writeEnablerNodeId: NODE_ID,
      tls: { keyPem: id.keyPem, certPem: id.certPem },
    };
    const first = createStorageServer({
      ...options,
      listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
    });
    await first.start();
    const port = first.addresses()[0]!.port;
    const second = createStorageServer({
      ...options,
      listen: [{ kind: "tcp", port, interface: "127.0.0.1" }],
    });
    await expect(second.start()).rejects.toMatchObject({ code: "TAHOE_ERR_STORAGE_SERVER_LISTEN" });
    await first.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses options no node could have", async () => {
    const app = Fastify();
    const base = { storageDir: "/nonexistent", swissnum: "abc", writeEnablerNodeId: NODE_ID };
    await expect(storageServerPlugin(app, { ...base, swissnum: "" })).rejects.toMatchObject({
      code: "TAHOE_ERR_STORAGE_SERVER_OPTIONS",
    });
    await expect(
      storageServerPlugin(app, { ...base, writeEnablerNodeId: new Uint8Array(19) }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_STORAGE_SERVER_OPTIONS",
    });
    await expect(storageServerPlugin(app, { ...base, reservedSpace: -1 })).rejects.toMatchObject({
      code: "TAHOE_ERR_STORAGE_SERVER_OPTIONS",
    });
    await app.close();
  });

  it("leaves the host app's other routes and parsers alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lafs-storage-"));
    const app = Fastify();
    app.post("/other", async (request) => ({ echo: request.body }));
    await storageServerPlugin(app, {
      storageDir: join(dir, "storage"),
      swissnum: "abc",
      writeEnablerNodeId: NODE_ID,
    });
    const other = await app.inject({ method: "POST", url: "/other", payload: { a: 1 } });
    expect(other.json()).toEqual({ echo: { a: 1 } });
    const version = await app.inject({ method: "GET", url: "/storage/v1/version" });
    expect(version.statusCode).toBe(401);
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });
});
