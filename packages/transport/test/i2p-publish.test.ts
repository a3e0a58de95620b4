import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allocateI2pDestination,
  b32Address,
  publicDestinationOf,
  publishI2pDestination,
  samCreateSession,
  samStreamConnect,
} from "../src/index.js";
import { fakeSam } from "./fakes.js";
import { type RealI2pd, startOfflineI2pd } from "./real-i2pd.js";
import { missingI2pd } from "./tor-helpers.js";

const i2p64 = (bytes: Buffer) => bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "~");

/** A private key blob laid out as DEST GENERATE SIGNATURE_TYPE=7 makes it (key certificate, Ed25519). */
function fakePrivateKey(): { privateKey: string; publicKey: string } {
  const pub = Buffer.concat([randomBytes(384), Buffer.from([5, 0, 4, 0, 7, 0, 0])]);
  return { publicKey: i2p64(pub), privateKey: i2p64(Buffer.concat([pub, randomBytes(256 + 32)])) };
}

const ZERO_HOP = {
  "inbound.length": "0",
  "outbound.length": "0",
  "inbound.quantity": "1",
  "outbound.quantity": "1",
};

describe("publishI2pDestination against a recording bridge", () => {
  const closers: (() => Promise<void>)[] = [];
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lafs-i2p-publish-"));
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await rm(dir, { recursive: true, force: true });
  });

  const echoKey = (line: string) =>
    `SESSION STATUS RESULT=OK DESTINATION=${/DESTINATION=(\S+)/.exec(line)?.[1] ?? ""}`;

  it("opens a session with the saved key and forwards inbound streams silently to the tub port", async () => {
    const sam = await fakeSam({ "SESSION CREATE": echoKey, "STREAM FORWARD": "STREAM STATUS RESULT=OK" });
    closers.push(sam.close);
    const key = fakePrivateKey();
    const file = join(dir, "i2p_dest.privkey");
    await writeFile(file, `${key.privateKey}\n`, { mode: 0o600 });
    const published = await publishI2pDestination({
      samPort: { kind: "tcp", host: "127.0.0.1", port: sam.port },
      privateKeyFile: file,
      localPort: 4321,
      sessionId: "lafs-node",
      sessionOptions: { "inbound.length": "0" },
    });
    expect(published.address).toBe(b32Address(key.publicKey));
    expect(published.publicKey).toBe(key.publicKey);
    expect(published.isPublished()).toBe(true);
    expect(sam.lines).toEqual([
      "HELLO VERSION MIN=3.0 MAX=3.3",
      `SESSION CREATE STYLE=STREAM ID=lafs-node DESTINATION=${key.privateKey} i2cp.leaseSetEncType=4,0 inbound.length=0`,
      "HELLO VERSION MIN=3.0 MAX=3.3",
      "STREAM FORWARD ID=lafs-node PORT=4321 HOST=127.0.0.1 SILENT=true",
    ]);
    await published.unpublish();
    expect(published.isPublished()).toBe(false);
    await published.ended;
  });

  it("ends the publication when the bridge drops the session", async () => {
    const sam = await fakeSam({
      "SESSION CREATE": echoKey,
      "STREAM FORWARD": "STREAM STATUS RESULT=OK",
    });
    closers.push(sam.close);
    const key = fakePrivateKey();
    const published = await publishI2pDestination({
      samPort: { kind: "tcp", host: "127.0.0.1", port: sam.port },
      privateKey: key.privateKey,
      localPort: 1,
    });
    // close() destroys every socket the fake accepted: the router going away.
    await sam.close();
    await published.ended;
    expect(published.isPublished()).toBe(false);
  });

  it("names the key file when it is missing or not a destination key", async () => {
    const samPort = { kind: "tcp", host: "127.0.0.1", port: 1 } as const;
    const missing = join(dir, "nope.privkey");
    await expect(
      publishI2pDestination({ samPort, privateKeyFile: missing, localPort: 1 }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_I2P_DEST_KEY",
      message: `cannot read the I2P destination key ${missing}: ENOENT`,
    });
    const bad = join(dir, "bad.privkey");
    await writeFile(bad, "not a key\n");
    const error = await publishI2pDestination({ samPort, privateKeyFile: bad, localPort: 1 }).catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_I2P_DEST_KEY");
    expect(error.message).toContain(`${bad} is not an I2P destination private key`);
    expect(() => publicDestinationOf(i2p64(randomBytes(300)), "x")).toThrow(/300 bytes read/);
  });

  it("refuses a unix-socket SAM endpoint", async () => {
    await expect(
      publishI2pDestination({
        samPort: { kind: "unix", path: "/run/sam" },
        privateKey: fakePrivateKey().privateKey,
        localPort: 1,
      }),
    ).rejects.toMatchObject({ code: "TAHOE_ERR_I2P_SAM_PORT" });
  });

  it("closes the session and names the bridge when STREAM FORWARD is refused", async () => {
    const sam = await fakeSam({
      "SESSION CREATE": echoKey,
      "STREAM FORWARD": 'STREAM STATUS RESULT=I2P_ERROR MESSAGE="no way"',
    });
    closers.push(sam.close);
    const error = await publishI2pDestination({
      samPort: { kind: "tcp", host: "127.0.0.1", port: sam.port },
      privateKey: fakePrivateKey().privateKey,
      localPort: 9,
      sessionId: "f",
    }).catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TRANSPORT_SAM_FAILURE");
    expect(error.message).toBe(
      `STREAM FORWARD of session f to 127.0.0.1:9 failed at the SAM bridge tcp:127.0.0.1:${sam.port}: RESULT=I2P_ERROR: no way`,
    );
  });

  it("refuses a session the bridge opened with another destination", async () => {
    const sam = await fakeSam({ "SESSION CREATE": "SESSION STATUS RESULT=OK DESTINATION=other~" });
    closers.push(sam.close);
    const error = await publishI2pDestination({
      samPort: { kind: "tcp", host: "127.0.0.1", port: sam.port },
      privateKey: fakePrivateKey().privateKey,
      localPort: 9,
    }).catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_I2P_DEST_MISMATCH");
    expect(error.message).toContain(`tcp:127.0.0.1:${sam.port}`);
  });

  it("gives up after timeoutMs with a message naming the bridge and the address", async () => {
    // Answers HELLO, then never SESSION CREATE: a router still building tunnels.
    const server: Server = createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.write("HELLO REPLY RESULT=OK VERSION=3.1\n"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const key = fakePrivateKey();
    const error = await publishI2pDestination({
      samPort: { kind: "tcp", host: "127.0.0.1", port },
      privateKey: key.privateKey,
      localPort: 9,
      timeoutMs: 1000,
    }).catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_I2P_SESSION_TIMEOUT");
    expect(error.message).toBe(
      `the SAM bridge tcp:127.0.0.1:${port} did not open the session for ${b32Address(key.publicKey)} within 1 s`,
    );
  });
});

const skip = missingI2pd();

describe.skipIf(skip !== undefined)("publishI2pDestination with a real, offline i2pd", () => {
  let i2pd: RealI2pd | undefined;
  let dir = "";
  let address = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lafs-i2p-publish-"));
    i2pd = await startOfflineI2pd();
  }, 20_000);
  afterAll(async () => {
    await i2pd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("publishes the saved key with a STREAM FORWARD; offline, another session cannot reach it", {
    timeout: 60_000,
  }, async () => {
    const samPort = { kind: "tcp", host: "127.0.0.1", port: i2pd!.samPort } as const;
    const dest = await allocateI2pDestination({ samPort, externalPort: 3457 });
    const file = join(dir, "i2p_dest.privkey");
    await writeFile(file, dest.privateKey, { mode: 0o600 });
    // Both sessions in parallel: i2pd 2.45 answers each 20 s after the request.
    const [published, client] = await Promise.all([
      publishI2pDestination({ samPort, privateKeyFile: file, localPort: 4000, sessionOptions: ZERO_HOP }),
      samCreateSession({ host: "127.0.0.1", port: samPort.port }, AbortSignal.timeout(40_000), {
        options: ZERO_HOP,
      }),
    ]);
    address = dest.address;
    try {
      expect(published.address).toBe(dest.address);
      expect(published.publicKey).toBe(dest.publicKey);
      // Without a floodfill the client's router cannot fetch the lease set, by address or by the
      // full destination (which needs i2pd's address book on, or i2pd 2.45 crashes).
      for (const target of [dest.address, dest.publicKey]) {
        await expect(samStreamConnect(client, target, AbortSignal.timeout(20_000))).rejects.toMatchObject({
          code: "TAHOE_ERR_TRANSPORT_SAM_PEER_UNREACHABLE",
          message: expect.stringContaining("RESULT=CANT_REACH_PEER"),
        });
      }
      expect(i2pd!.exitStatus()).toBeUndefined();
    } finally {
      client.close();
      await published.unpublish();
    }
  });

  it("publishes the same key again after unpublish, under the same address", {
    timeout: 60_000,
  }, async () => {
    const samPort = { kind: "tcp", host: "127.0.0.1", port: i2pd!.samPort } as const;
    const file = join(dir, "i2p_dest.privkey");
    const again = await publishI2pDestination({
      samPort,
      privateKeyFile: file,
      localPort: 4000,
      sessionOptions: ZERO_HOP,
    });
    try {
      expect(again.address).toBe(address);
      expect(again.isPublished()).toBe(true);
    } finally {
      await again.unpublish();
    }
  });
});
