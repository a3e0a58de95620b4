import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addOnion,
  allocatePort,
  createTorMonitor,
  createTorProvider,
  launchTor,
  parseHsDescEvent,
  type TorMonitor,
  type TorProvider,
  type TorSettings,
} from "../src/index.js";
import { missingTor, startTornet, type Tornet } from "./tor-helpers.js";

// Real tors only: offline ones (DisableNetwork 1, or authorities on closed loopback ports) and
// one private network (tornet) shared by the tests that need Tor to work.
const skip = missingTor();
const temp = mkdtempSync(join(tmpdir(), "lafs-tor-status-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const endpointOf = (text: string) => {
  const m = /^tcp:([\d.]+):(\d+)$/.exec(text);
  if (m === null) throw new Error(`not a tcp endpoint: ${text}`);
  return { kind: "tcp" as const, host: m[1] as string, port: Number(m[2]) };
};

/** A monitor over a provider, both stopped by the returned cleanup. */
function watch(
  basedir: string,
  settings: Partial<TorSettings>,
  onion = false,
): { provider: TorProvider; monitor: TorMonitor; stop(): Promise<void> } {
  const tor: TorSettings = { enabled: true, launch: false, ...settings };
  const provider = createTorProvider({
    basedir,
    tor,
    probeTimeoutMs: 2000,
    defaults: { socks: [], control: [] },
  });
  const monitor = createTorMonitor({ provider, settings: tor, onion, intervalMs: 300, probeTimeoutMs: 2000 });
  return {
    provider,
    monitor,
    async stop() {
      await monitor.stop();
      await provider.stop();
    },
  };
}

describe("HS_DESC events", () => {
  it("reads the action, the service id and a failure's reason", () => {
    expect(parseHsDescEvent("HS_DESC UPLOADED abcd UNKNOWN $AAAA")).toEqual({
      action: "UPLOADED",
      serviceId: "abcd",
      reason: undefined,
    });
    expect(parseHsDescEvent("HS_DESC FAILED abcd UNKNOWN $AAAA REASON=UPLOAD_REJECTED")).toMatchObject({
      action: "FAILED",
      reason: "UPLOAD_REJECTED",
    });
    expect(parseHsDescEvent("STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=5")).toBeUndefined();
  });
});

describe.skipIf(skip !== undefined)("Tor's state when Tor does not work", () => {
  it("no tor at the control port: names the port and how to give one", async () => {
    const port = await allocatePort({ host: "127.0.0.1" });
    const w = watch(join(temp, "none"), { controlPort: { kind: "tcp", host: "127.0.0.1", port } });
    try {
      const s = await w.monitor.refresh();
      expect(s).toMatchObject({ ready: false, via: "control-port", socks: { reachable: false } });
      expect(s.problem).toBe(`could not reach Tor's control port at tcp:127.0.0.1:${port}: ECONNREFUSED`);
      expect(s.hint).toContain("ControlPort");
    } finally {
      await w.stop();
    }
  });

  it("no tor at the SOCKS port (no control port): a SOCKS greeting finds it gone", async () => {
    const port = await allocatePort({ host: "127.0.0.1" });
    const w = watch(join(temp, "nosocks"), { socksPort: { kind: "tcp", host: "127.0.0.1", port } });
    try {
      const s = await w.monitor.refresh();
      expect(s).toMatchObject({ ready: false, via: "socks-probe" });
      expect(s.bootstrap).toBeUndefined();
      expect(s.problem).toBe(`tor's SOCKS port tcp:127.0.0.1:${port} does not answer: ECONNREFUSED`);
      expect(s.hint).toContain("[tor]socks.port");
    } finally {
      await w.stop();
    }
  });

  it("DisableNetwork 1: said first, not 'published'; the onion's descriptor shows as not uploaded", async () => {
    const tor = await launchTor({ dataDirectory: join(temp, "disabled-tor"), disableNetwork: true });
    const w = watch(temp, { controlPort: endpointOf(tor.control.endpoint) }, true);
    try {
      await w.monitor.start();
      const onion = await addOnion(await w.provider.control(), { externalPort: 3457, localPort: 4000 });
      w.monitor.watchOnion(onion.serviceId);
      const s = await w.monitor.refresh();
      expect(s).toMatchObject({
        ready: false,
        networkDisabled: true,
        bootstrap: { progress: 0 },
        socks: { reachable: false },
        onion: { address: `${onion.serviceId}.onion`, descriptorUploaded: false },
      });
      expect(s.problem).toBe(
        `tor (control port ${tor.control.endpoint}) has DisableNetwork 1: it connects to nothing, so it cannot bootstrap, reach servers or publish an onion service`,
      );
      expect(s.hint).toContain("DisableNetwork");
      // waitUntilReady gives up at its timeout with the same reason.
      const waited = await w.monitor.waitUntilReady(400);
      expect(waited.ready).toBe(false);
      expect(waited.problem).toBe(s.problem);
    } finally {
      await w.stop();
      await tor.stop();
    }
  });

  it("a tor that cannot reach its network: stuck bootstrap with the step and tor's warning", async () => {
    // One directory authority on a closed loopback port: tor tries 127.0.0.1 only and fails.
    const closed = await allocatePort({ host: "127.0.0.1" });
    const tor = await launchTor({
      dataDirectory: join(temp, "unreachable-tor"),
      extraTorrcLines: [
        `DirAuthority nowhere orport=${closed} v3ident=${"A".repeat(40)} 127.0.0.1:${closed} ${"B".repeat(40)}`,
        "TestingTorNetwork 1",
        "UseDefaultFallbackDirs 0",
        "ClientUseIPv6 0",
      ],
    });
    const settings: TorSettings = {
      enabled: true,
      launch: false,
      controlPort: endpointOf(tor.control.endpoint),
    };
    const provider = createTorProvider({ basedir: temp, tor: settings });
    const monitor = createTorMonitor({ provider, settings, intervalMs: 300 });
    try {
      // Tor needs a moment to try the authority and warn.
      const deadline = Date.now() + 20_000;
      let s = await monitor.refresh();
      while (s.bootstrap?.warning === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        s = await monitor.refresh();
      }
      expect(s).toMatchObject({ ready: false, networkDisabled: false, socks: { reachable: true } });
      expect(s.bootstrap?.progress).toBeLessThan(100);
      expect(s.problem).toMatch(
        /^tor \(control port tcp:127\.0\.0\.1:\d+\) has not bootstrapped: at \d+% \(.+\); last warning: .+/,
      );
      expect(s.hint).toContain("network access");
    } finally {
      await monitor.stop();
      await provider.stop();
      await tor.stop();
    }
  }, 30_000);
});

describe.skipIf(skip !== undefined)("Tor's state on a private Tor network (tornet)", () => {
  let net: Tornet;
  beforeAll(async () => {
    net = await startTornet();
  }, 250_000);
  afterAll(async () => {
    await net?.stop();
  }, 60_000);

  it("ready once bootstrapped with the onion descriptor uploaded; then SocksPort 0 is named", async () => {
    const tor = await launchTor({ dataDirectory: join(temp, "net-tor"), extraTorrcLines: net.torrcLines });
    const settings: TorSettings = {
      enabled: true,
      launch: false,
      controlPort: endpointOf(tor.control.endpoint),
    };
    const provider = createTorProvider({ basedir: temp, tor: settings });
    const monitor = createTorMonitor({ provider, settings, onion: true, intervalMs: 500 });
    try {
      await monitor.start();
      const control = await provider.control();
      const onion = await addOnion(control, { externalPort: 3457, localPort: 4000 });
      monitor.watchOnion(onion.serviceId);
      const s = await monitor.waitUntilReady(150_000);
      expect(s.problem).toBeUndefined();
      expect(s).toMatchObject({
        ready: true,
        bootstrap: { progress: 100 },
        networkDisabled: false,
        socks: { reachable: true },
        onion: { address: `${onion.serviceId}.onion`, descriptorUploaded: true },
      });
      const changes: string[] = [];
      monitor.onChange((next) => changes.push(next.problem ?? "ready"));
      await control.command("SETCONF SocksPort=0");
      const after = await monitor.refresh();
      expect(after.ready).toBe(false);
      expect(after.problem).toBe(
        `tor (control port ${control.endpoint}) has no SOCKS port (SocksPort 0), so no connection can go through it`,
      );
      expect(changes).toEqual([after.problem]);
    } finally {
      await monitor.stop();
      await provider.stop();
      await tor.stop();
    }
  }, 180_000);
});
