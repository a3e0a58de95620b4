import { connect } from "node:net";
import {
  type BananaValue,
  bytes,
  bytesText,
  connectToTub,
  createTubIdentity,
  dict,
  dictGet,
  type FoolscapError,
  FoolscapRemoteError,
  INTRODUCER_INTERFACE,
  INTRODUCER_V2,
  isDict,
  isSequence,
  type Referenceable,
  SUBSCRIBER_INTERFACE,
  signedFromBanana,
  signedToBanana,
  subscriberInfo,
  tuple,
} from "@lafs/foolscap";
import { describe, expect, it } from "vitest";
import {
  closedAfterEach,
  generateNodeKey,
  publish,
  SWISSNUM,
  startIntroducer,
  storageAnnouncement,
  subscribe,
  tcp,
} from "./helpers.js";

/**
 * The introducer's Foolscap side (what Tahoe-LAFS nodes use), driven by @lafs/foolscap's client
 * over real TCP and TLS on the same port as the HTTPS protocol. tests/interop/our-introducer.test.ts
 * runs real Tahoe-LAFS 1.20 nodes against it.
 */

const { introducers: running, streams, connections } = closedAfterEach();

async function start() {
  // Port 0 is known only after start; the fURL's hint is then fixed up from the bound port.
  const started = await startIntroducer({ foolscap: { hints: [] } });
  running.push(started.introducer);
  const furl = started.introducer.furl()!.replace("@/", `@tcp:127.0.0.1:${started.port}/`);
  return { ...started, furl };
}

async function dial(furl: string) {
  const connection = await connectToTub(furl, { identity: createTubIdentity(), connect: tcp });
  connections.push(connection);
  return connection;
}

/** A subscriber that records every announce_v2 it gets. */
function recorder() {
  const received: [string, string, string][] = [];
  const waiters: (() => void)[] = [];
  const object: Referenceable = {
    interfaceName: SUBSCRIBER_INTERFACE,
    callLocal(method, args) {
      expect(method).toBe("announce_v2");
      const items = args[0];
      if (!isSequence(items, "set")) throw new Error("announce_v2 without a set");
      for (const item of items.items) received.push(signedFromBanana(item)!);
      for (const w of waiters.splice(0)) w();
      return null;
    },
  };
  const waitFor = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} announcements`)), 5000);
      const check = () => {
        if (received.length >= n) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { object, received, waitFor };
}

describe("introducer over Foolscap", () => {
  it("answers get_version as Tahoe 1.20's introducer does, with bytes keys", async () => {
    const { furl, introducer } = await start();
    const conn = await dial(furl);
    const service = await conn.getReferenceByName(SWISSNUM);
    expect(service.interfaceName).toBe(INTRODUCER_INTERFACE);
    // The reference carries the introducer's own fURL (here without hints: it listens on port 0).
    expect(service.url).toBe(introducer.furl());
    const version = await service.callRemote("get_version");
    expect(isDict(version)).toBe(true);
    expect(dictGet(version as never, INTRODUCER_V2)).toEqual(dict([]));
    expect(bytesText(dictGet(version as never, "application-version") as Uint8Array)).toBe("lafs-ts/test");
  });

  it("hands a Foolscap publish to HTTPS subscribers and an HTTPS publish to Foolscap subscribers", async () => {
    const { furl, port } = await start();
    const stream = await subscribe(port);
    streams.push(stream);
    const conn = await dial(furl);
    const service = await conn.getReferenceByName(SWISSNUM);
    const sub = recorder();
    const early = storageAnnouncement(generateNodeKey(), 1);
    expect((await publish(port, early)).status).toBe(200);
    // subscribe_v2 is answered after the first announce_v2 (everything held) was answered.
    await service.callRemote("subscribe_v2", [
      conn.referenceFor(sub.object),
      bytes("storage"),
      subscriberInfo("tahoe-ish", "tahoe-lafs/1.20.0"),
    ]);
    expect(sub.received).toEqual([early]);

    const fromFoolscap = storageAnnouncement(generateNodeKey(), 7);
    const canary: Referenceable = { interfaceName: "", callLocal: () => null };
    expect(
      await service.callRemote("publish_v2", [signedToBanana(fromFoolscap), conn.referenceFor(canary)]),
    ).toBeNull();
    await stream.waitFor((events) => events.some((e) => e.ann?.[0] === fromFoolscap[0]));
    // Tahoe's introducer tells the publisher too when it subscribed.
    await sub.waitFor(2);
    expect(sub.received[1]).toEqual(fromFoolscap);

    const fromHttps = storageAnnouncement(generateNodeKey(), 3);
    expect((await publish(port, fromHttps)).status).toBe(200);
    await sub.waitFor(3);
    expect(sub.received[2]).toEqual(fromHttps);

    const status = running[0]!.status();
    expect(status.subscribers.map((s) => s.nickname).sort()).toEqual(["tahoe-ish", "test"]);
  });

  it("refuses a forged announcement with an error answer, and ignores a replay without one", async () => {
    const { furl, introducer } = await start();
    const conn = await dial(furl);
    const service = await conn.getReferenceByName(SWISSNUM);
    const key = generateNodeKey();
    const [msg, sig, pub] = storageAnnouncement(key, 2);
    const forged = [msg.replace('"seqnum": 2', '"seqnum": 9'), sig, pub] as const;
    const error = await service
      .callRemote("publish_v2", [signedToBanana(forged)])
      .catch((e: unknown) => e as FoolscapRemoteError);
    expect(error).toBeInstanceOf(FoolscapRemoteError);
    expect((error as FoolscapRemoteError).failure.value).toMatch(/signature/i);
    expect(await service.callRemote("publish_v2", [signedToBanana([msg, sig, pub])])).toBeNull();
    // A lower seqnum is stale: Tahoe's introducer ignores it and answers None.
    expect(await service.callRemote("publish_v2", [signedToBanana(storageAnnouncement(key, 1))])).toBeNull();
    expect(introducer.announcements().map((h) => h.announcement.seqnum)).toEqual([2]);
    expect(introducer.status().refused).toEqual({
      TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE: 1,
      TAHOE_ERR_INTRODUCER_REPLAY: 1,
    });
  });

  it("answers calls that do not fit the interface with a Violation, and keeps the connection", async () => {
    const { furl } = await start();
    const conn = await dial(furl);
    const service = await conn.getReferenceByName(SWISSNUM);
    const refusals: [string, BananaValue[]][] = [
      ["publish_v2", [tuple(bytes("a"), bytes("b"))]],
      [
        "subscribe_v2",
        [
          conn.referenceFor({ interfaceName: "RISomethingElse", callLocal: () => null }),
          bytes("storage"),
          dict([]),
        ],
      ],
      ["subscribe_v2", ["not a reference", bytes("storage"), dict([])]],
      ["set_encoding_parameters", []],
    ];
    for (const [method, args] of refusals) {
      const error = await service.callRemote(method, args).catch((e: unknown) => e as FoolscapRemoteError);
      expect(error, method).toBeInstanceOf(FoolscapRemoteError);
      expect((error as FoolscapRemoteError).failure.type).toBe("foolscap.tokens.Violation");
    }
    expect(conn.isOpen).toBe(true);
    const wrongName = await conn.getReferenceByName("x".repeat(32)).catch((e: unknown) => e as FoolscapError);
    expect((wrongName as FoolscapRemoteError).failure.value).toMatch(
      /unable to find reference for name starting with 'xx'/,
    );
  });

  it("answers a Foolscap upgrade for another tub id with 500, as foolscap does", async () => {
    const { port } = await start();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () =>
        socket.write(
          `GET /id/${"a".repeat(32)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n`,
        ),
      );
      let text = "";
      socket.on("data", (c: Buffer) => {
        text += c.toString("latin1");
      });
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(reply).toBe(`HTTP/1.1 500 Internal Server Error: unknown TubID ${"a".repeat(32)}\r\n\r\n`);
  });

  it("drops the Foolscap subscription when its connection closes", async () => {
    const { furl, introducer } = await start();
    const conn = await dial(furl);
    const service = await conn.getReferenceByName(SWISSNUM);
    await service.callRemote("subscribe_v2", [
      conn.referenceFor(recorder().object),
      bytes("storage"),
      subscriberInfo("gone-soon", "tahoe-lafs/1.20.0"),
    ]);
    expect(introducer.status().subscribers.map((s) => s.nickname)).toEqual(["gone-soon"]);
    conn.close();
    const deadline = Date.now() + 5000;
    while (introducer.status().subscribers.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(introducer.status().subscribers).toEqual([]);
  });
});
