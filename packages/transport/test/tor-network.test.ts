import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { loadTahoeCfgText } from "@lafs/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allocateOnionService,
  connectTorControl,
  createTorProvider,
  createTransport,
  publishOnionService,
  type TorBootstrapProgress,
} from "../src/index.js";
import { missingTor, socksEchoRetry, startEcho, startTornet, type Tornet } from "./tor-helpers.js";

// One private Tor network (../shared/tools/tornet) for every test here: it takes 10-45 s to start.
const skip = missingTor();

function configOf(text: string) {
  const loaded = loadTahoeCfgText(text, { file: "tahoe.cfg" });
  expect(loaded.errors).toEqual([]);
  return loaded.config!;
}

function echoThrough(socket: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    const msg = `hello-${Date.now()}\n`;
    let got = "";
    socket.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.length >= msg.length) {
        socket.destroy();
        resolve(got === msg ? "echoed" : `mismatch: ${got}`);
      }
    });
    socket.on("error", reject);
    socket.write(msg);
  });
}

describe.skipIf(skip !== undefined)("with a private Tor network (tornet)", () => {
  let net: Tornet;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  const temp = mkdtempSync(join(tmpdir(), "lafs-tor-net-"));

  beforeAll(async () => {
    [net, echo] = await Promise.all([startTornet(), startEcho()]);
  }, 250_000);

  afterAll(async () => {
    await echo?.close();
    await net?.stop();
    rmSync(temp, { recursive: true, force: true });
  }, 60_000);

  it("allocates an onion service through a control port, and a client reaches it through SOCKS after run-time publishing", async () => {
    const controlPort = { kind: "tcp" as const, host: "127.0.0.1", port: net.hsControlPort };
    const progress: string[] = [];
    const onion = await allocateOnionService({
      via: { kind: "control", endpoint: controlPort },
      localPort: echo.port,
      externalPort: 3457,
      onProgress: (line) => progress.push(line),
    });
    expect(onion.serviceId).toMatch(/^[a-z2-7]{55}d$/);
    expect(onion.hint).toBe(`tor:${onion.serviceId}.onion:3457`);
    expect(progress.at(-1)).toBe(`created onion service ${onion.serviceId}.onion`);

    // What `tahoe run` does: the saved key, published again through the provider.
    const keyFile = join(temp, "tor_onion.privkey");
    writeFileSync(keyFile, onion.privateKey, { mode: 0o600 });
    const provider = createTorProvider({
      basedir: temp,
      tor: { enabled: true, launch: false, controlPort },
    });
    const published = await publishOnionService(provider, {
      privateKeyFile: keyFile,
      localPort: echo.port,
      externalPort: 3457,
      waitForUploadMs: 120_000,
    });
    expect(published.serviceId).toBe(onion.serviceId);
    expect(await socksEchoRetry(net.socksPort, `${onion.serviceId}.onion`, 3457, 90_000)).toBe("echoed");

    await published.unpublish();
    await provider.stop();
  }, 240_000);

  it("finds the SOCKS port through [tor]control.port, and transport reaches a tor: hint with it", async () => {
    const config = configOf(
      `[node]\nreveal-IP-address = false\ntub.port = disabled\ntub.location = disabled\n[storage]\nenabled = false\n[connections]\ntcp = tor\n[tor]\ncontrol.port = tcp:127.0.0.1:${net.clientControlPort}\n`,
    );
    const provider = createTorProvider({ basedir: temp, tor: config.tor });
    expect(await provider.socksEndpoint()).toEqual({ host: "127.0.0.1", port: net.socksPort });
    const transport = createTransport({ config, tor: provider });
    try {
      // tcp = tor: a plain TCP address reached through the private network's exit relay.
      const socket = await transport.connect({ kind: "tcp", host: "127.0.0.1", port: echo.port });
      expect(await echoThrough(socket)).toBe("echoed");
    } finally {
      await transport.close();
      await provider.stop();
    }
  }, 120_000);

  it("stream isolation: each server's connections carry its own SOCKS credentials and get their own circuit (IsolateSOCKSAuth); off, none are sent", async () => {
    const control = await connectTorControl({ kind: "tcp", host: "127.0.0.1", port: net.clientControlPort });
    const cfg = (isolation: string) =>
      configOf(
        `[node]\nreveal-IP-address = false\ntub.port = disabled\ntub.location = disabled\n[storage]\nenabled = false\n[connections]\ntcp = tor\n[tor]\ncontrol.port = tcp:127.0.0.1:${net.clientControlPort}\n${isolation}`,
      );
    /** The circuit Tor attached each open socket's stream to, from GETINFO stream-status. */
    const circuitsOf = async (sockets: Duplex[]): Promise<string[]> => {
      const status = (await control.getInfo("stream-status")).get("stream-status") ?? "";
      // "ID STATUS CIRCUIT TARGET" lines; SOURCE_ADDR is not listed, so match by order of opening.
      // The target reads "127.0.0.1:PORT", or "127.0.0.1.FINGERPRINT.exit:PORT" once Tor chose the exit.
      const lines = status
        .split("\n")
        .filter((l) => /^\d+ SUCCEEDED \d+ 127\.0\.0\.1[.:]/.test(l) && l.endsWith(`:${echo.port}`));
      expect(lines.length, status).toBe(sockets.length);
      return lines
        .map((l) => l.split(" "))
        .sort((a, b) => Number(a[0]) - Number(b[0]))
        .map((f) => f[2] as string);
    };
    // Tor's STREAM events name the SOCKS username a stream came with: what isolation keys on.
    const newStreams: string[] = [];
    const unsubscribe = await control.subscribe(["STREAM"], (event) => {
      if (/^STREAM \d+ NEW /.test(event) && event.includes(`:${echo.port}`)) newStreams.push(event);
    });
    const usernamesSeen = async (): Promise<(string | undefined)[]> => {
      await new Promise((r) => setTimeout(r, 200));
      return newStreams.splice(0).map((e) => /SOCKS_USERNAME="([^"]*)"/.exec(e)?.[1]);
    };
    const open = async (transport: ReturnType<typeof createTransport>, serverId: string) => {
      const socket = await transport.connect(
        { kind: "tcp", host: "127.0.0.1", port: echo.port },
        { serverId },
      );
      return socket;
    };
    const provider = createTorProvider({ basedir: temp, tor: cfg("").tor });
    try {
      // Default under reveal-IP-address = false: on.
      const isolated = createTransport({ config: cfg(""), tor: provider });
      const a1 = await open(isolated, "v0-server-a");
      const b = await open(isolated, "v0-server-b");
      const a2 = await open(isolated, "v0-server-a");
      const [ca1, cb] = await circuitsOf([a1, b, a2]);
      // IsolateSOCKSAuth: streams with other credentials never share a circuit.
      expect(cb).not.toBe(ca1);
      expect(await usernamesSeen()).toEqual(["v0-server-a", "v0-server-b", "v0-server-a"]);
      const circuits = (await control.getInfo("circuit-status")).get("circuit-status") ?? "";
      expect(circuits).toMatch(new RegExp(`^${ca1} BUILT `, "m"));
      expect(circuits).toMatch(new RegExp(`^${cb} BUILT `, "m"));
      for (const s of [a1, b, a2]) s.destroy();
      await isolated.close();
      await new Promise((r) => setTimeout(r, 500));

      const shared = createTransport({ config: cfg("stream.isolation = false\n"), tor: provider });
      const c = await open(shared, "v0-server-c");
      const d = await open(shared, "v0-server-d");
      await circuitsOf([c, d]);
      // No credentials, so Tor is free to put both on one circuit (which one it picks is its own choice).
      expect(await usernamesSeen()).toEqual([undefined, undefined]);
      for (const s of [c, d]) s.destroy();
      await shared.close();
    } finally {
      unsubscribe();
      await provider.stop();
      await control.close();
    }
  }, 120_000);

  it("launch mode starts its own tor on the private network ([tor]torrc.file), shows bootstrap progress, and stops it", async () => {
    const basedir = join(temp, "launch-node");
    const torrc = join(temp, "tornet.torrc");
    writeFileSync(torrc, `# join the private test network\n${net.torrcLines.join("\n")}\n`);
    const config = configOf(
      `[node]\nreveal-IP-address = false\ntub.port = disabled\ntub.location = disabled\n[storage]\nenabled = false\n[connections]\ntcp = tor\n[tor]\nlaunch = true\ntorrc.file = ${torrc}\nbootstrap.timeout = 180\n`,
    );
    const seen: TorBootstrapProgress[] = [];
    const provider = createTorProvider({ basedir, tor: config.tor, onProgress: (p) => seen.push(p) });
    const transport = createTransport({ config, tor: provider });
    let pid: number | undefined;
    try {
      const socks = await provider.socksEndpoint();
      expect(socks).toMatchObject({ host: "127.0.0.1" });
      expect(seen.at(-1)?.progress).toBe(100);
      expect(seen.map((p) => p.progress)).toEqual([...seen.map((p) => p.progress)].sort((a, b) => a - b));
      const control = await provider.control();
      pid = Number((await control.getInfo("process/pid")).get("process/pid"));
      expect(pid).toBeGreaterThan(0);
      const socket = await transport.connect({ kind: "tcp", host: "127.0.0.1", port: echo.port });
      expect(await echoThrough(socket)).toBe("echoed");
    } finally {
      await transport.close();
      await provider.stop();
    }
    expect(() => process.kill(pid as number, 0)).toThrow();
  }, 240_000);
});
