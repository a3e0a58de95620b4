import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { tubIdOfCertificate, verifyAnnouncement } from "@lafs/crypto";
import {
  acceptTubConnection,
  BananaDecoder,
  type BananaValue,
  bytes,
  bytesText,
  createTubIdentity,
  dict,
  type FoolscapConnection,
  FoolscapError,
  isSequence,
  type MyReference,
  type Referenceable,
  type RemoteReference,
  set,
} from "@lafs/foolscap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Our nodes, as real `tahoe run` processes, on an introducer given as a Foolscap fURL. Until
 * refpeer's Tahoe introducer runs in CI, the introducer here is Tahoe's introducer logic
 * (server.py, spec §9.3) written in this test over @lafs/foolscap; it also hands out the two
 * storage announcements the real Tahoe introducer sent in the recordings.
 */

const TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");
const VECTORS = join(import.meta.dirname, "../../../shared/vectors");
const INTRODUCER = "RIIntroducerPublisherAndSubscriberService_v2.tahoe.allmydata.com";
const run = promisify(execFile);

function recordedTahoeAnnouncements(): BananaValue[] {
  const lines = readFileSync(join(VECTORS, "foolscap-introducer-transcript.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map(
      (l) =>
        JSON.parse(l) as { type: string; conn?: string; dir?: string; b64?: string; banana_offset?: number },
    );
  const mine = lines.filter((l) => l.conn === "client.run1#1" && l.dir === "s2c");
  const stream = Buffer.concat(
    mine.filter((l) => l.type === "chunk").map((l) => Buffer.from(l.b64!, "base64")),
  );
  const offset = mine.find((l) => l.type === "decoded")!.banana_offset!;
  const out: BananaValue[] = [];
  for (const m of new BananaDecoder().push(stream.subarray(offset))) {
    if (m.type === "call" && m.method === "announce_v2" && isSequence(m.args[0]))
      out.push(...m.args[0].items);
  }
  return out;
}

/** Tahoe's introducer (server.py): store what is published, tell every subscriber. */
function startIntroducer() {
  const identity = createTubIdentity();
  const swissnum = "a".repeat(32);
  const stored = new Map<string, BananaValue>();
  for (const ann of recordedTahoeAnnouncements()) stored.set(`tahoe ${stored.size}`, ann);
  const subscribers: RemoteReference[] = [];
  const publishers: { peerTubId: string; ann: BananaValue }[] = [];
  const sockets = new Set<net.Socket>();
  const connections: FoolscapConnection[] = [];

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let conn: FoolscapConnection | undefined;
    const service: Referenceable = {
      interfaceName: INTRODUCER,
      async callLocal(method, args) {
        if (method === "get_version") {
          return dict([
            [bytes("http://allmydata.org/tahoe/protocols/introducer/v2"), dict([])],
            [bytes("application-version"), bytes("test-introducer")],
          ]);
        }
        if (method === "publish_v2") {
          const [ann] = args;
          if (!isSequence(ann) || ann.items.length !== 3)
            throw new FoolscapError("TAHOE_ERR_FOOLSCAP_VIOLATION", "bad ann");
          const signed = ann.items.map((b) => bytesText(b as Uint8Array)) as [string, string, string];
          const verified = verifyAnnouncement(signed);
          publishers.push({ peerTubId: conn!.peerTubId, ann });
          stored.set(`${verified.service} ${verified.serverId}`, ann);
          await Promise.all(
            subscribers.map((s) => s.callRemote("announce_v2", [set(ann)]).catch(() => null)),
          );
          return null;
        }
        if (method === "subscribe_v2") {
          const ref = conn!.remoteReference(args[0] as MyReference);
          subscribers.push(ref);
          await ref.callRemote("announce_v2", [set(...stored.values())]);
          return null;
        }
        throw new FoolscapError("TAHOE_ERR_FOOLSCAP_VIOLATION", `no method ${method}`);
      },
    };
    acceptTubConnection(socket, {
      identity,
      connection: { lookupName: (name) => (name === swissnum ? service : undefined) },
    }).then(
      (c) => {
        conn = c;
        connections.push(c);
      },
      () => {},
    );
  });
  return new Promise<{
    furl: string;
    publishers: typeof publishers;
    connections: FoolscapConnection[];
    close: () => Promise<void>;
  }>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        furl: `pb://${identity.tubId}@tcp:127.0.0.1:${(server.address() as AddressInfo).port}/${swissnum}`,
        publishers,
        connections,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

interface Snapshot {
  introducers: { petname: string; state: string; synced: boolean }[];
  servers: {
    serverId: string;
    nickname: string;
    learnedFrom: { kind: string }[];
    connection: { state: string };
  }[];
}

let root: string;
let introducer: Awaited<ReturnType<typeof startIntroducer>>;
const dirs: Record<string, string> = {};
const children: ChildProcess[] = [];

async function start(dir: string): Promise<void> {
  const child = spawn(process.execPath, [TAHOE, "run", "--allow-stdin-close", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("node running")) resolve();
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`${dir} exited with ${code}: ${output}`)));
  });
}

async function until(check: (s: Snapshot) => boolean, what: string, timeoutMs = 30_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: Snapshot | undefined;
  while (Date.now() < deadline) {
    try {
      last = JSON.parse(await readFile(join(dirs.client!, "private/server-list.json"), "utf8")) as Snapshot;
      if (check(last)) return last;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last server list: ${JSON.stringify(last, null, 1)}`);
}

beforeAll(async () => {
  introducer = await startIntroducer();
  root = await mkdtemp(join(tmpdir(), "lafs-foolscap-grid-"));
  dirs.storage = join(root, "storage");
  dirs.client = join(root, "client");
  const common = [`--introducer=${introducer.furl}`, "--webport=none"];
  await run(process.execPath, [
    TAHOE,
    "create-node",
    "--hostname=127.0.0.1",
    "--nickname=lafs-storage",
    ...common,
    dirs.storage,
  ]);
  await run(process.execPath, [TAHOE, "create-client", "--nickname=lafs-client", ...common, dirs.client]);
  await Promise.all([start(dirs.storage), start(dirs.client)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
  await introducer?.close();
  if (root) await rm(root, { recursive: true, force: true });
}, 30_000);

describe("our nodes on an introducer given as a Foolscap fURL", () => {
  it("the client subscribes over Foolscap and connects to the storage node it learns of", async () => {
    const s = await until(
      (snap) => snap.servers.find((x) => x.nickname === "lafs-storage")?.connection.state === "connected",
      "the client to connect to the storage node",
    );
    expect(s.introducers).toMatchObject([{ state: "connected", synced: true }]);
    // The two Tahoe storage servers of the recording are listed too (their ports are long gone).
    expect(s.servers.map((x) => x.nickname).sort()).toEqual(["lafs-storage", "ref-storage1", "ref-storage2"]);
    expect(s.servers.every((x) => x.learnedFrom.some((l) => l.kind === "introducer"))).toBe(true);
  });

  it("the storage node publishes Tahoe 1.20's form over the tub of its node.pem", async () => {
    const pem = await readFile(join(dirs.storage!, "private/node.pem"), "utf8");
    const tubId = tubIdOfCertificate(pem).tubId;
    const published = introducer.publishers.find((p) => p.peerTubId === tubId);
    expect(published).toBeDefined();
    const [msg] = (published!.ann as unknown as { items: Uint8Array[] }).items;
    const fields = JSON.parse(bytesText(msg!)) as Record<string, unknown>;
    expect(fields["service-name"]).toBe("storage");
    expect(fields.nickname).toBe("lafs-storage");
    expect(fields["anonymous-storage-FURL"]).toMatch(new RegExp(`^pb://${tubId}@`));
    expect(fields["anonymous-storage-NURLs"]).toHaveLength(1);
  });
});
