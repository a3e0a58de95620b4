import { readFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import { join } from "node:path";
import {
  acceptTubConnection,
  BananaDecoder,
  BananaEncoder,
  type BananaValue,
  bytes,
  createTubIdentity,
  type DecodedKeyword,
  dict,
  type FoolscapConnection,
  FoolscapError,
  isSequence,
  type MyReference,
  type Referenceable,
  set,
  tuple,
} from "@lafs/foolscap";
import { afterEach, describe, expect, it } from "vitest";
import {
  createFoolscapIntroducerClient,
  createServerList,
  INTRODUCER_INTERFACE,
  INTRODUCER_V2,
  type IntroducerClient,
  SUBSCRIBER_INTERFACE,
  signedFromBanana,
  subscriberInfo,
} from "../src/index.js";
import { generateNodeKey, storageAnnouncement, tcp, until } from "./helpers.js";

const VECTORS = join(import.meta.dirname, "../../../../shared/vectors");

interface Line {
  type: string;
  conn?: string;
  dir?: string;
  b64?: string;
  banana_offset?: number;
}

/** One recorded direction's whole byte stream and where Banana starts in it. */
function recorded(conn: string, dir: "c2s" | "s2c"): { stream: Buffer; bananaOffset: number } {
  const lines = readFileSync(join(VECTORS, "foolscap-introducer-transcript.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Line);
  const mine = lines.filter((l) => l.conn === conn && l.dir === dir);
  return {
    stream: Buffer.concat(mine.filter((l) => l.type === "chunk").map((l) => Buffer.from(l.b64!, "base64"))),
    bananaOffset: mine.find((l) => l.type === "decoded")!.banana_offset!,
  };
}

/** The (msg, sig, key) tuples the real Tahoe introducer sent the recorded client. */
function recordedAnnouncements(): BananaValue[] {
  const { stream, bananaOffset } = recorded("client.run1#1", "s2c");
  const out: BananaValue[] = [];
  for (const m of new BananaDecoder().push(stream.subarray(bananaOffset))) {
    if (m.type === "call" && m.method === "announce_v2" && isSequence(m.args[0]))
      out.push(...m.args[0].items);
  }
  return out;
}

/**
 * An introducer speaking Tahoe's Foolscap interface (spec §9.3), built on @lafs/foolscap, which
 * hands every subscriber the announcements the real Tahoe introducer sent.
 */
async function startFoolscapIntroducer(toAnnounce: BananaValue[], versionKey = INTRODUCER_V2) {
  const identity = createTubIdentity();
  const swissnum = "yhhffl5qj3hwei2qnf6rtwqvrmkou2rr";
  const calls: { method: string; args: BananaValue[]; kwargs: DecodedKeyword[] }[] = [];
  const connections: FoolscapConnection[] = [];
  const sockets = new Set<net.Socket>();
  let current: FoolscapConnection | undefined;
  const service: Referenceable = {
    interfaceName: INTRODUCER_INTERFACE,
    async callLocal(method, args, kwargs) {
      calls.push({ method, args, kwargs });
      if (method === "get_version") {
        return dict([
          [bytes("application-version"), bytes("tahoe-lafs/1.20.0.post162")],
          [bytes(versionKey), dict([])],
        ]);
      }
      if (method === "publish_v2") return null;
      if (method === "subscribe_v2") {
        const ref = current!.remoteReference(args[0] as MyReference);
        await ref.callRemote("announce_v2", [set(...toAnnounce)]);
        return null;
      }
      throw new FoolscapError("TAHOE_ERR_FOOLSCAP_VIOLATION", `no method ${method}`);
    },
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    acceptTubConnection(socket, {
      identity,
      connection: { lookupName: (name) => (name === swissnum ? service : undefined) },
    }).then(
      (c) => {
        current = c;
        connections.push(c);
      },
      () => {},
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    furl: `pb://${identity.tubId}@tcp:127.0.0.1:${port}/${swissnum}`,
    calls,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("an introducer given as a Foolscap fURL", () => {
  it("sends subscribe_v2 byte for byte as Tahoe 1.20's client does", () => {
    const { stream, bananaOffset } = recorded("client.run1#2", "c2s");
    const encoder = new BananaEncoder(1);
    const ours = Buffer.concat([
      encoder.call(1, 0, "getReferenceByName", [], [["name", bytes("yhhffl5qj3hwei2qnf6rtwqvrmkou2rr")]]),
      encoder.call(2, 1, "get_version", []),
      encoder.call(3, 1, "subscribe_v2", [
        { kind: "my-reference", clid: 1, interfaceName: SUBSCRIBER_INTERFACE },
        bytes("storage"),
        subscriberInfo("ref-client", "tahoe-lafs/1.20.0.post162"),
      ]),
    ]);
    expect(ours.equals(stream.subarray(bananaOffset, bananaOffset + ours.length))).toBe(true);
  });

  it("subscribes, verifies every announcement, publishes ours, and reconnects", async () => {
    const tahoe = recordedAnnouncements();
    expect(tahoe).toHaveLength(2); // storage1 and storage2 of the recording
    const real = signedFromBanana(tahoe[0]!)!;
    // The same announcement with another signature: dropped, the others still used.
    const forged = tuple(
      bytes(real[0].replace("ref-storage1", "ref-storageX")),
      bytes(real[1]),
      bytes(real[2]),
    );
    const introducer = await startFoolscapIntroducer([...tahoe, forged, bytes("not a tuple")]);
    cleanups.push(introducer.close);

    const key = generateNodeKey();
    const ours = storageAnnouncement(key, 1, "lafs-server");
    const client: IntroducerClient = createFoolscapIntroducerClient({
      petname: "tahoe-grid",
      url: introducer.furl,
      identity: createTubIdentity(),
      connect: tcp,
      nickname: "lafs-client",
      myVersion: "lafs-ts/0.0.0",
      backoff: { initialMs: 50, maxMs: 200 },
    });
    cleanups.push(() => client.stop());
    client.publish(ours);
    // The server list takes a Foolscap introducer like a NURL one (no probe: nothing dialled here).
    const serverList = createServerList({});
    serverList.addIntroducer(client);
    cleanups.push(() => serverList.stop());
    await serverList.start();
    await client.start();
    await until(() => client.status().synced, "the subscription to sync");

    const got = client.announcements();
    expect(got.map((r) => r.announcement.nickname).sort()).toEqual(["ref-storage1", "ref-storage2"]);
    const storage1 = got.find((r) => r.announcement.nickname === "ref-storage1")!;
    expect(storage1.source).toBe("introducer");
    expect(storage1.announcement.fields["anonymous-storage-NURLs"]).toEqual([
      "pb://Xr1zdo6GDcPIs3txgMae0u6_Ss-GN49AlQn57fDaK-E@127.0.0.1:42639/kab6envg7ugltuqxa565wznzlgjnqpdk#v=1",
    ]);
    expect(client.status()).toMatchObject({
      state: "connected",
      introducerVersion: "tahoe-lafs/1.20.0.post162",
      hint: introducer.furl.replace(/^pb:\/\/[a-z2-7]+@(tcp:[^/]+)\/.*$/, "$1"),
    });

    // What the introducer saw: Tahoe's order, Tahoe's types.
    expect(introducer.calls.map((c) => c.method)).toEqual(["get_version", "publish_v2", "subscribe_v2"]);
    const [published, canary] = introducer.calls[1]!.args;
    expect(signedFromBanana(published!)).toEqual(ours);
    expect(canary).toMatchObject({ kind: "my-reference", interfaceName: "" });
    const [subscriber, serviceName, info] = introducer.calls[2]!.args;
    expect(subscriber).toMatchObject({ kind: "my-reference", interfaceName: SUBSCRIBER_INTERFACE });
    expect(serviceName).toEqual(bytes("storage"));
    expect(info).toEqual(subscriberInfo("lafs-client", "lafs-ts/0.0.0"));

    // The introducer drops the connection: the client comes back and does it all again.
    introducer.connections[0]!.close();
    await until(
      () => introducer.calls.filter((c) => c.method === "subscribe_v2").length === 2,
      "a resubscription",
    );
    expect(introducer.calls.map((c) => c.method).slice(3)).toEqual([
      "get_version",
      "publish_v2",
      "subscribe_v2",
    ]);
    await until(() => client.status().synced, "the second subscription to sync");
    expect(client.status().lastError?.code).toBe("TAHOE_ERR_FOOLSCAP_CONNECTION_LOST");
  });

  it("refuses a NURL, and an introducer without introducer v2", async () => {
    expect(() =>
      createFoolscapIntroducerClient({
        petname: "x",
        url: "pb://Xr1zdo6GDcPIs3txgMae0u6_Ss-GN49AlQn57fDaK-E@127.0.0.1:42639/kab6envg7ugltuqxa565wznzlgjnqpdk#v=1",
        identity: createTubIdentity(),
        connect: tcp,
        nickname: "n",
        myVersion: "v",
      }),
    ).toThrow(/introducer 'x': fURL .* is a NURL/);

    const old = await startFoolscapIntroducer([], "http://allmydata.org/tahoe/protocols/introducer/v1");
    cleanups.push(old.close);
    const client = createFoolscapIntroducerClient({
      petname: "old",
      url: old.furl,
      identity: createTubIdentity(),
      connect: tcp,
      nickname: "n",
      myVersion: "v",
      backoff: { initialMs: 1000, maxMs: 1000 },
    });
    cleanups.push(() => client.stop());
    await client.start();
    await until(() => client.status().lastError !== undefined, "the version check to fail");
    expect(client.status().lastError).toMatchObject({ code: "TAHOE_ERR_INTRODUCER_CLIENT_PROTOCOL" });
    expect(client.status().lastError?.message).toMatch(
      /does not offer http:\/\/allmydata.org\/tahoe\/protocols\/introducer\/v2/,
    );
    // It never published or subscribed.
    expect(old.calls.map((c) => c.method)).toEqual(["get_version"]);
  });
});
