import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BananaDecoder,
  type BananaMessage,
  type BananaValue,
  bytesText,
  connectToTub,
  createTubIdentity,
  type FoolscapConnection,
  isDict,
  isSequence,
  type Referenceable,
  signedFromBanana,
} from "@lafs/foolscap";
import { afterAll, describe, expect, it } from "vitest";
import { createIntroducer, type Introducer } from "../src/index.js";
import { tcp } from "./helpers.js";

/**
 * The spec's "introducer replay" (../shared/vectors/foolscap-introducer-transcript.md): every
 * call that real Tahoe-LAFS 1.20 nodes made to a Tahoe introducer in the recordings (before it
 * restarted) is made again, in the recorded order, to our introducer over a real connection;
 * its answers and the announce_v2 calls it makes must be what Tahoe's introducer sent: the same
 * reference (clid, interface, long then short form), a get_version with the same bytes keys,
 * None for publish_v2 and subscribe_v2, and the same announcements in the same calls.
 */

const VECTORS = join(import.meta.dirname, "../../../../shared/vectors");

interface Line {
  scenario: string;
  type: string;
  conn?: string;
  server_conn?: string;
  dir?: "c2s" | "s2c";
  b64?: string;
  t?: number;
  banana_offset?: number;
}

const lines = readFileSync(join(VECTORS, "foolscap-introducer-transcript.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as Line);

/** The recorded Banana messages of one direction of one connection. */
function messages(scenario: string, conn: string, dir: "c2s" | "s2c"): BananaMessage[] {
  const mine = lines.filter((l) => l.scenario === scenario && l.conn === conn && l.dir === dir);
  const stream = Buffer.concat(
    mine.filter((l) => l.type === "chunk").map((l) => Buffer.from(l.b64!, "base64")),
  );
  const offset = mine.find((l) => l.type === "decoded")!.banana_offset!;
  return new BananaDecoder({ vocabIndex: 1 }).push(stream.subarray(offset));
}

/** A value reduced to what must match: bytes as text, references as their wire fields. */
function shape(value: BananaValue): unknown {
  if (value instanceof Uint8Array) return { bytes: bytesText(value) };
  if (typeof value !== "object" || value === null) return value;
  if (value.kind === "my-reference") {
    return { ref: value.clid, iname: value.interfaceName, hasUrl: value.url !== undefined };
  }
  if (isDict(value)) {
    return Object.fromEntries(
      value.entries.map(([k, v]) => [
        JSON.stringify(shape(k)),
        k instanceof Uint8Array && bytesText(k) === "application-version" ? "*" : shape(v),
      ]),
    );
  }
  if (isSequence(value)) return { [value.kind]: value.items.map(shape) };
  return value;
}

/** What the introducer's announce_v2 calls carried: per call, the announcement msgs, sorted. */
function announced(calls: BananaValue[][]): string[][] {
  return calls.map((args) =>
    isSequence(args[0]) ? args[0].items.map((item) => signedFromBanana(item)![0]).sort() : [],
  );
}

const running: Introducer[] = [];
const open: FoolscapConnection[] = [];
afterAll(async () => {
  for (const c of open) c.close();
  for (const i of running) await i.stop();
});

/** The connections to the first run of the introducer, in the order they were made. */
function firstRunConnections(scenario: string): string[] {
  return lines
    .filter(
      (l) => l.scenario === scenario && l.type === "conn" && l.server_conn?.startsWith("introducer.run1#"),
    )
    .sort((a, b) => a.t! - b.t!)
    .map((l) => l.conn!);
}

describe.each(["a-b-c", "d-introducer-master"])(
  "replaying scenario %s against our introducer",
  (scenario) => {
    it("answers every recorded call as Tahoe's introducer did, and announces the same sets", async () => {
      const conns = firstRunConnections(scenario);
      const firstCall = messages(scenario, conns[0]!, "c2s").find((m) => m.type === "call")!;
      if (firstCall.type !== "call") throw new Error("no call");
      const swissnum = bytesText(firstCall.kwargs.find(([k]) => k === "name")![1] as Uint8Array);
      const introducer = createIntroducer({
        swissnum,
        tls: (() => {
          const id = createTubIdentity();
          return { keyPem: id.keyPem, certPem: id.certPem };
        })(),
        listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
        foolscap: { hints: [] },
        applicationVersion: "lafs-ts/replay",
      });
      await introducer.start();
      running.push(introducer);
      const port = introducer.addresses()[0]!.port;
      const furl = introducer.furl()!.replace("@/", `@tcp:127.0.0.1:${port}/`);

      const received = new Map<string, BananaValue[][]>();
      const answers = new Map<string, Map<number, unknown>>();
      for (const conn of conns) {
        const calls: BananaValue[][] = [];
        received.set(conn, calls);
        const ours = new Map<number, unknown>();
        answers.set(conn, ours);
        const connection = await connectToTub(furl, { identity: createTubIdentity(), connect: tcp });
        open.push(connection);
        const locals = new Map<number, Referenceable>();
        const local = (clid: number, interfaceName: string): Referenceable => {
          let object = locals.get(clid);
          if (!object) {
            object = {
              interfaceName,
              callLocal(method, args) {
                if (method === "announce_v2") calls.push(args);
                return null;
              },
            };
            locals.set(clid, object);
          }
          return object;
        };
        const mapped = (value: BananaValue): BananaValue =>
          typeof value === "object" &&
          value !== null &&
          !(value instanceof Uint8Array) &&
          value.kind === "my-reference"
            ? connection.referenceFor(local(value.clid, value.interfaceName ?? ""))
            : value;
        for (const m of messages(scenario, conn, "c2s")) {
          if (m.type !== "call") continue;
          const answer = await connection.callRemote(m.objId, m.method, m.args.map(mapped), m.kwargs);
          ours.set(m.reqId, shape(answer));
        }
      }
      // The last publish reaches earlier subscribers asynchronously.
      const expectedCalls = (conn: string) =>
        messages(scenario, conn, "s2c").filter(
          (m): m is Extract<BananaMessage, { type: "call" }> =>
            m.type === "call" && m.method === "announce_v2",
        );
      const deadline = Date.now() + 5000;
      while (conns.some((c) => received.get(c)!.length < expectedCalls(c).length) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }

      for (const conn of conns) {
        const recorded = new Map<number, unknown>();
        for (const m of messages(scenario, conn, "s2c")) {
          if (m.type === "answer") recorded.set(m.reqId, shape(m.value));
        }
        // getReferenceByName (once or twice), get_version, subscribe_v2, and publish_v2 on servers.
        expect(recorded.size, conn).toBeGreaterThanOrEqual(3);
        expect(answers.get(conn), `${conn}: answers by reqID`).toEqual(recorded);
        expect(expectedCalls(conn).length, conn).toBeGreaterThan(0);
        expect(announced(received.get(conn)!), `${conn}: announce_v2 calls`).toEqual(
          announced(expectedCalls(conn).map((m) => m.args)),
        );
      }
    });
  },
);
