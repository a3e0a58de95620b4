import { request } from "node:https";
import { connect, type Socket } from "node:net";
import type { ConnectionHint } from "@lafs/config";
import { createTlsIdentity, generateNodeKey, type NodeKey } from "@lafs/crypto";
import { afterEach } from "vitest";
import { createIntroducer, type Introducer, type IntroducerOptions, signAnnouncement } from "../src/index.js";

export const SWISSNUM = "abcdefghijklmnopqrstuvwxyz234567";
const tls = createTlsIdentity();

export async function startIntroducer(
  extra: Partial<IntroducerOptions> = {},
): Promise<{ introducer: Introducer; port: number }> {
  const introducer = createIntroducer({
    swissnum: SWISSNUM,
    tls,
    listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
    applicationVersion: "lafs-ts/test",
    ...extra,
  });
  await introducer.start();
  return { introducer, port: introducer.addresses()[0]!.port };
}

/**
 * What a test opens, closed after each test even when it failed: Foolscap connections and
 * subscription streams first, then the introducers. Push onto the lists as things open.
 */
export function closedAfterEach(): {
  introducers: Introducer[];
  streams: Stream[];
  connections: { close(): void }[];
} {
  const opened = {
    introducers: [] as Introducer[],
    streams: [] as Stream[],
    connections: [] as { close(): void }[],
  };
  afterEach(async () => {
    for (const c of opened.connections.splice(0)) c.close();
    for (const s of opened.streams.splice(0)) s.close();
    for (const i of opened.introducers.splice(0)) await i.stop();
  });
  return opened;
}

/** A plain TCP connection to a fURL's hint (what @lafs/foolscap's connectToTub dials with). */
export const tcp = (hint: ConnectionHint) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(hint.port!, hint.host, () => resolve(socket));
    socket.once("error", reject);
  });

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function call(port: number, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        rejectUnauthorized: false,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export function publish(port: number, ann: unknown): Promise<Reply> {
  return call(port, "POST", `/${SWISSNUM}/v1/publish`, JSON.stringify({ ann }));
}

/** An open subscription: the events seen so far, and a way to wait for more. */
export interface Stream {
  events: { type: string; ann?: [string, string, string]; count?: number }[];
  waitFor(predicate: (events: Stream["events"]) => boolean): Promise<void>;
  close(): void;
}

export function subscribe(port: number, query = "service=storage&nickname=test"): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const waiters: (() => void)[] = [];
    const events: Stream["events"] = [];
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "GET",
        path: `/${SWISSNUM}/v1/subscribe?${query}`,
        rejectUnauthorized: false,
      },
      (res) => {
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let i = buffer.indexOf("\n");
          while (i >= 0) {
            events.push(JSON.parse(buffer.slice(0, i)));
            buffer = buffer.slice(i + 1);
            i = buffer.indexOf("\n");
          }
          for (const w of waiters.splice(0)) w();
        });
        res.on("error", () => {});
        resolve({
          events,
          waitFor: (predicate) =>
            new Promise<void>((done, fail) => {
              const timer = setTimeout(
                () => fail(new Error(`timed out; events: ${JSON.stringify(events)}`)),
                5000,
              );
              const check = () => {
                if (predicate(events)) {
                  clearTimeout(timer);
                  done();
                } else waiters.push(check);
              };
              check();
            }),
          close: () => req.destroy(),
        });
      },
    );
    req.on("error", (e) => {
      if ((e as NodeJS.ErrnoException).code !== "ECONNRESET") reject(e);
    });
    req.end();
  });
}

export function storageAnnouncement(
  key: NodeKey,
  seqnum: number,
  extra: Record<string, unknown> = {},
): [string, string, string] {
  const signed = signAnnouncement(
    {
      version: 0,
      nickname: "server",
      "my-version": "lafs-ts/test",
      "oldest-supported": "1.0",
      "service-name": "storage",
      "anonymous-storage-NURLs": [],
      seqnum,
      nonce: `nonce${seqnum}`,
      ...extra,
    },
    key.privateKey,
  );
  return [...signed];
}

export { generateNodeKey };
