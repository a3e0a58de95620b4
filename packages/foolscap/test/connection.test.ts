import net, { type AddressInfo, type Server } from "node:net";
import { loadTahoeCfgText } from "@lafs/config";
import { createTransport, type Transport } from "@lafs/transport";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  acceptTubConnection,
  type BananaValue,
  bytes,
  connectToTub,
  createTubIdentity,
  type DecodedKeyword,
  type FoolscapConnection,
  FoolscapError,
  FoolscapRemoteError,
  type MyReference,
  negotiateAsConnector,
  negotiateAsListener,
  type Referenceable,
  type TubIdentity,
} from "../src/index.js";

const SWISSNUM = "yhhffl5qj3hwei2qnf6rtwqvrmkou2rr";

function transportFor(): Transport {
  const loaded = loadTahoeCfgText("[node]\nnickname = t\n", { file: "tahoe.cfg" });
  if (!loaded.config) throw new Error(JSON.stringify(loaded.errors));
  return createTransport({ config: loaded.config });
}

/** A local object recording the calls it gets, answering with what `answer` returns. */
class Recorder implements Referenceable {
  readonly calls: { method: string; args: BananaValue[]; kwargs: DecodedKeyword[] }[] = [];
  constructor(
    readonly interfaceName: string,
    private readonly answer: (method: string, args: BananaValue[]) => BananaValue | Promise<BananaValue>,
  ) {}
  callLocal(method: string, args: BananaValue[], kwargs: DecodedKeyword[]) {
    this.calls.push({ method, args, kwargs });
    return this.answer(method, args);
  }
}

interface Listening {
  server: Server;
  port: number;
  accepted: FoolscapConnection[];
  refused: unknown[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server on 127.0.0.1 whose sockets are all destroyed when the test ends, whatever happened. */
async function serve(onSocket: (socket: net.Socket) => void): Promise<{ server: Server; port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { server, port: (server.address() as AddressInfo).port };
}

async function listen(identity: TubIdentity, service: Referenceable): Promise<Listening> {
  const accepted: FoolscapConnection[] = [];
  const refused: unknown[] = [];
  const { server, port } = await serve((socket) => {
    acceptTubConnection(socket, {
      identity,
      connection: { lookupName: (name) => (name === SWISSNUM ? service : undefined) },
    }).then(
      (c) => accepted.push(c),
      (err) => refused.push(err),
    );
  });
  cleanups.push(() => {
    for (const c of accepted) c.close();
  });
  return { server, port, accepted, refused };
}

/** Two identities, ordered so that the first one's tub id sorts higher (it is master). */
function orderedIdentities(): [TubIdentity, TubIdentity] {
  const a = createTubIdentity();
  const b = createTubIdentity();
  return a.tubId > b.tubId ? [a, b] : [b, a];
}

let transport: Transport;
beforeAll(() => {
  transport = transportFor();
  cleanups.length = 0;
});

describe("Foolscap connections over real TLS on 127.0.0.1, through @lafs/transport", () => {
  for (const connectorIsMaster of [true, false]) {
    it(`resolves a fURL, calls both ways and passes a reference (connector is ${connectorIsMaster ? "" : "not "}master)`, async () => {
      const [high, low] = orderedIdentities();
      const [clientId, serverId] = connectorIsMaster ? [high, low] : [low, high];
      let subscriber: MyReference | undefined;
      let serverConnection: FoolscapConnection | undefined;
      const service = new Recorder(
        "RIIntroducerPublisherAndSubscriberService_v2.tahoe.allmydata.com",
        (method, args) => {
          if (method === "subscribe_v2") {
            subscriber = args[0] as MyReference;
            // The introducer calls back on the reference before answering (spec §9.3).
            return serverConnection!
              .remoteReference(subscriber)
              .callRemote("announce_v2", [bytes("hello")])
              .then(() => null);
          }
          if (method === "get_version")
            return { kind: "dict", entries: [[bytes("application-version"), bytes("test")]] };
          throw new FoolscapError("TAHOE_ERR_FOOLSCAP_VIOLATION", `no method ${method}`);
        },
      );
      const listening = await listen(serverId, service);
      const furl = `pb://${serverId.tubId}@tcp:127.0.0.1:${listening.port}/${SWISSNUM}`;

      const client = await connectToTub(furl, { identity: clientId, connect: transport.connectorFor() });
      cleanups.push(() => client.close());
      expect(client.peerTubId).toBe(serverId.tubId);
      await expect.poll(() => listening.accepted.length).toBe(1);
      serverConnection = listening.accepted[0]!;
      expect(serverConnection.peerTubId).toBe(clientId.tubId);
      expect(client.currentConnection).toBe(serverConnection.currentConnection);
      expect(client.currentConnection).toBe(`${(connectorIsMaster ? clientId : serverId).incarnation} 1`);

      const introducer = await client.getReferenceByName(SWISSNUM);
      expect(introducer.clid).toBe(1);
      expect(introducer.interfaceName).toBe(
        "RIIntroducerPublisherAndSubscriberService_v2.tahoe.allmydata.com",
      );
      // The second answer for the same object is the short form (spec §6.5).
      const again = await client.getReferenceByName(SWISSNUM);
      expect(again).toMatchObject({ clid: 1, interfaceName: undefined });

      const version = await introducer.callRemote("get_version");
      expect(version).toEqual({ kind: "dict", entries: [[bytes("application-version"), bytes("test")]] });

      const announcements: BananaValue[][] = [];
      const local = new Recorder("RIIntroducerSubscriberClient_v2.tahoe.allmydata.com", (_m, args) => {
        announcements.push(args);
        return null;
      });
      const answer = await introducer.callRemote("subscribe_v2", [
        client.referenceFor(local),
        bytes("storage"),
        null,
      ]);
      expect(answer).toBeNull();
      expect(announcements).toEqual([[bytes("hello")]]);
      expect(subscriber).toEqual({
        kind: "my-reference",
        clid: 1,
        interfaceName: "RIIntroducerSubscriberClient_v2.tahoe.allmydata.com",
        url: undefined,
      });
      expect(local.calls.map((c) => c.method)).toEqual(["announce_v2"]);

      // A refused call is an error answer; the connection stays up.
      const refused = introducer.callRemote("no_such_method");
      await expect(refused).rejects.toBeInstanceOf(FoolscapRemoteError);
      await expect(refused).rejects.toThrow(/foolscap\.tokens\.Violation: no method no_such_method/);
      await expect(client.callRemote(7, "get_version")).rejects.toThrow(/unknown CLID 7/);
      await expect(client.getReferenceByName("nope")).rejects.toThrow(
        /unable to find reference for name starting with 'no'/,
      );
      expect(client.isOpen).toBe(true);
      expect(await introducer.callRemote("get_version")).toBeTruthy();
    });
  }

  it("a call whose handler calls back, whose handler calls in again, completes (no deadlock)", async () => {
    const [a, b] = orderedIdentities();
    let serverConnection: FoolscapConnection | undefined;
    const service: Referenceable = {
      interfaceName: "RIOuter",
      async callLocal(method, args) {
        if (method === "inner") return bytes("inner done");
        // outer(callback): calls the callback, which calls `inner` here while `outer` still runs.
        const callback = serverConnection!.remoteReference(args[0] as MyReference);
        return callback.callRemote("run");
      },
    };
    const listening = await listen(a, service);
    const client = await connectToTub(`pb://${a.tubId}@tcp:127.0.0.1:${listening.port}/${SWISSNUM}`, {
      identity: b,
      connect: transport.connectorFor(),
    });
    cleanups.push(() => client.close());
    await expect.poll(() => listening.accepted.length).toBe(1);
    serverConnection = listening.accepted[0]!;
    const outer = await client.getReferenceByName(SWISSNUM);
    const callback: Referenceable = {
      interfaceName: "RICallback",
      callLocal: () => outer.callRemote("inner"),
    };
    expect(await outer.callRemote("outer", [client.referenceFor(callback)])).toEqual(bytes("inner done"));
  });

  it("answers keepalive PINGs, and a lost connection fails pending calls", async () => {
    const [a, b] = orderedIdentities();
    const service = new Recorder("RIFoo", () => new Promise<BananaValue>(() => {})); // never answers
    const listening = await listen(a, service);
    const client = await connectToTub(`pb://${a.tubId}@tcp:127.0.0.1:${listening.port}/${SWISSNUM}`, {
      identity: b,
      connect: transport.connectorFor(),
      connection: { keepaliveMs: 50 },
    });
    cleanups.push(() => client.close());
    const ref = await client.getReferenceByName(SWISSNUM);
    const pending = ref.callRemote("hang");
    // Idle for several keepalive periods: the server's PONGs keep it open.
    await new Promise((r) => setTimeout(r, 300));
    expect(client.isOpen).toBe(true);
    await expect.poll(() => listening.accepted.length).toBe(1);
    listening.accepted[0]!.close();
    await expect(pending).rejects.toMatchObject({ code: "TAHOE_ERR_FOOLSCAP_CONNECTION_LOST" });
    expect((await client.closed).code).toBe("TAHOE_ERR_FOOLSCAP_CONNECTION_LOST");
  });

  it("refuses a peer whose certificate is not the fURL's tub", async () => {
    const [real, impostor] = orderedIdentities();
    const client = createTubIdentity();
    const { port } = await serve((socket) => {
      // Answers for any tub id but proves only its own.
      negotiateAsListener(socket, {
        identity: impostor,
        knowsTubId: () => true,
        signal: AbortSignal.timeout(5000),
      }).catch(() => {});
    });
    const attempt = connectToTub(`pb://${real.tubId}@tcp:127.0.0.1:${port}/${SWISSNUM}`, {
      identity: client,
      connect: transport.connectorFor(),
    });
    await expect(attempt).rejects.toMatchObject({ code: "TAHOE_ERR_FOOLSCAP_WRONG_TUB" });
    await expect(attempt).rejects.toThrow(
      `connected to the wrong Tub: the fURL names '${real.tubId}', the peer is '${impostor.tubId}'`,
    );
  });

  it("an unknown tub id at the right address is refused with 500 unknown TubID", async () => {
    const [serverId, clientId] = orderedIdentities();
    const other = createTubIdentity();
    const listening = await listen(serverId, new Recorder("", () => null));
    const attempt = connectToTub(`pb://${other.tubId}@tcp:127.0.0.1:${listening.port}/${SWISSNUM}`, {
      identity: clientId,
      connect: transport.connectorFor(),
    });
    await expect(attempt).rejects.toMatchObject({ code: "TAHOE_ERR_FOOLSCAP_UNREACHABLE" });
    await expect(attempt).rejects.toThrow(/500 Internal Server Error: unknown TubID/);
  });

  it("garbage after negotiation closes the connection with a banana error, and the peer is told", async () => {
    const [serverId, clientId] = orderedIdentities();
    const received: Buffer[] = [];
    const { port } = await serve((socket) => {
      negotiateAsListener(socket, {
        identity: serverId,
        knowsTubId: () => true,
        signal: AbortSignal.timeout(5000),
      }).then(
        (n) => {
          n.socket.on("data", (d: Buffer) => received.push(d));
          n.socket.resume();
          n.socket.write(Buffer.from("00 88 0d 87 01 81 ff".replace(/ /g, ""), "hex"));
        },
        () => {},
      );
    });
    const client = await connectToTub(`pb://${serverId.tubId}@tcp:127.0.0.1:${port}/${SWISSNUM}`, {
      identity: clientId,
      connect: transport.connectorFor(),
    });
    const reason = await client.closed;
    expect(reason.code).toBe("TAHOE_ERR_FOOLSCAP_BANANA");
    expect(reason.message).toMatch(/invalid type byte 0xff at stream offset 6/);
    // Our fatal ERROR token reached the peer.
    await expect.poll(() => Buffer.concat(received).includes(Buffer.from("invalid type byte"))).toBe(true);
  });

  it("negotiateAsConnector reports a peer that is not Foolscap", async () => {
    const { port } = await serve((socket) => socket.end("HTTP/1.1 404 Not Found\r\n\r\n"));
    const socket = net.connect(port, "127.0.0.1");
    const target = createTubIdentity();
    await expect(
      negotiateAsConnector(socket, {
        identity: createTubIdentity(),
        targetTubId: target.tubId,
        host: "127.0.0.1",
        signal: AbortSignal.timeout(5000),
      }),
    ).rejects.toThrow(/refused the upgrade: "HTTP\/1.1 404 Not Found"/);
  });
});
