import { parseServersYaml } from "@lafs/config";
import { afterEach, describe, expect, it } from "vitest";
import {
  createIntroducerClient,
  createServerList,
  type ProbeFunction,
  type ServerListEvent,
  ServerUnreachableError,
} from "../src/index.js";
import { generateNodeKey, startIntroducer, storageAnnouncement, tcp, until } from "./helpers.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const staticKey = generateNodeKey();
const NURL = `pb://${"B".repeat(42)}A@127.0.0.1:9/${"t".repeat(32)}#v=1`;
const serversYaml = `storage:
  ${staticKey.nodeId}:
    ann:
      nickname: static-one
      my-version: lafs-ts/static
      anonymous-storage-NURLs:
        - ${NURL}
    connections:
      tcp: tor
`;

describe("server list", () => {
  it("merges introducers with static servers; a static entry wins and keeps its connections override", async () => {
    const { servers: staticServers } = parseServersYaml(serversYaml, "servers.yaml");
    const intro = await startIntroducer();
    cleanups.push(() => intro.introducer.stop());
    const announced = generateNodeKey();
    const publishers = [
      [announced, "from-introducer"],
      [staticKey, "announced-name"],
    ] as const;
    for (const [key, nickname] of publishers) {
      const p = createIntroducerClient({
        petname: "p",
        url: intro.nurl,
        connect: tcp,
        nickname,
        myVersion: "v",
      });
      p.publish(storageAnnouncement(key, 1, nickname));
      await p.start();
      cleanups.push(() => p.stop());
    }
    const subscriber = createIntroducerClient({
      petname: "main",
      url: intro.nurl,
      connect: tcp,
      nickname: "c",
      myVersion: "v",
    });
    cleanups.push(() => subscriber.stop());
    const list = createServerList({ staticServers });
    cleanups.push(() => list.stop());
    const events: ServerListEvent[] = [];
    list.onChange((e) => events.push(e));
    list.addIntroducer(subscriber);
    await list.start();
    await subscriber.start();
    await until(
      () => list.servers().length === 2 && list.server(staticKey.nodeId)!.learnedFrom.length === 2,
      "both servers",
    );
    const fixed = list.server(staticKey.nodeId)!;
    expect(fixed).toMatchObject({
      nickname: "static-one",
      version: "lafs-ts/static",
      nurls: [NURL],
      connections: { tcp: "tor" },
      learnedFrom: [{ kind: "static" }, { kind: "introducer", petname: "main" }],
      connection: { state: "unknown" },
    });
    expect(list.server(announced.nodeId)).toMatchObject({
      nickname: "from-introducer",
      version: "lafs-ts/test",
      permutationSeedBase32: "mfrgg",
      learnedFrom: [{ kind: "introducer", petname: "main" }],
    });
    expect(events.map((e) => e.type)).toContain("added");
  });

  it("shows each server's connection state from the probe: connected via which hint, or the error of each hint", async () => {
    const { servers: staticServers } = parseServersYaml(serversYaml, "servers.yaml");
    let up = true;
    const probe: ProbeFunction = async (server) => {
      if (up)
        return {
          availableSpace: 1234,
          applicationVersion: "lafs-ts/9",
          hint: "tcp:127.0.0.1:9",
          handler: "tor",
        };
      throw new ServerUnreachableError(server.serverId, [
        { hint: "tcp:127.0.0.1:9", message: "ECONNREFUSED" },
      ]);
    };
    let t = 1_000_000;
    const list = createServerList({ staticServers, probe, pollIntervalMs: 10, now: () => t });
    cleanups.push(() => list.stop());
    const events: string[] = [];
    list.onChange((e) => events.push(e.type));
    expect(list.servers()[0]!.connection).toMatchObject({ state: "connecting" });
    await list.start();
    await until(() => list.servers()[0]!.connection.state === "connected", "connected");
    expect(list.servers()[0]).toMatchObject({
      connection: { state: "connected", since: 1_000_000, hint: "tcp:127.0.0.1:9", handler: "tor" },
      availableSpace: 1234,
      applicationVersion: "lafs-ts/9",
      lastReceivedAt: 1_000_000,
    });
    t = 2_000_000;
    up = false;
    await until(() => list.servers()[0]!.connection.state === "disconnected", "disconnected");
    expect(list.servers()[0]!.connection).toEqual({
      state: "disconnected",
      since: 2_000_000,
      errors: [{ hint: "tcp:127.0.0.1:9", message: "ECONNREFUSED", at: 2_000_000 }],
    });
    expect(list.servers()[0]!.lastReceivedAt).toBe(1_000_000);
    t = 3_000_000;
    up = true;
    await until(() => list.servers()[0]!.connection.state === "connected", "reconnected");
    expect(events.filter((e) => e !== "updated")).toEqual(["connected", "disconnected", "connected"]);
    list.noteReceived(staticKey.nodeId);
    expect(list.servers()[0]!.lastReceivedAt).toBe(3_000_000);
  });

  it("records a probe that hangs as a timeout for every hint", async () => {
    const { servers: staticServers } = parseServersYaml(serversYaml, "servers.yaml");
    const probe: ProbeFunction = (_server, signal) =>
      new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    const list = createServerList({ staticServers, probe, pollIntervalMs: 1000, probeTimeoutMs: 30 });
    cleanups.push(() => list.stop());
    await list.start();
    await until(() => list.servers()[0]!.connection.state === "disconnected", "the timeout");
    const state = list.servers()[0]!.connection;
    expect(state.state === "disconnected" && state.errors).toEqual([
      { hint: "*", message: "no answer within 30 ms", at: expect.any(Number) },
    ]);
  });

  it("skips the probe while noteReceived reports answers, probes again once they stop, and still finds a hung server", async () => {
    const { servers: staticServers } = parseServersYaml(serversYaml, "servers.yaml");
    let probes = 0;
    let hung = false;
    const probe: ProbeFunction = (_server, signal) => {
      probes++;
      if (hung)
        return new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason)),
        );
      return Promise.resolve({
        availableSpace: 1,
        applicationVersion: "v",
        hint: "tcp:127.0.0.1:9",
        handler: "tcp",
      });
    };
    const list = createServerList({ staticServers, probe, pollIntervalMs: 30, probeTimeoutMs: 100 });
    cleanups.push(() => list.stop());
    const events: string[] = [];
    list.onChange((e) => events.push(e.type));
    await list.start();
    await until(() => list.servers()[0]!.connection.state === "connected", "the first probe");

    const before = probes;
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil) {
      list.noteReceived(staticKey.nodeId);
      await new Promise((r) => setTimeout(r, 5));
    }
    // Ten intervals went by; at most the probe already due when the answers began went out.
    expect(probes - before).toBeLessThanOrEqual(1);

    const quiet = probes;
    await until(() => probes >= quiet + 2, "probes once the answers stop", 1000);

    list.noteReceived(staticKey.nodeId);
    hung = true;
    const started = Date.now();
    await until(() => list.servers()[0]!.connection.state === "disconnected", "the hung server", 2000);
    // One interval of quiet, then the probe's own timeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(events.filter((e) => e !== "updated")).toEqual(["connected", "disconnected"]);
  });
});
