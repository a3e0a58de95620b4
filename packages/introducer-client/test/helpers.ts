import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { formatNurl } from "@lafs/config";
import { createTlsIdentity, generateNodeKey, type NodeKey, type TlsIdentity } from "@lafs/crypto";
import { createIntroducer, type Introducer } from "@lafs/introducer";
import {
  announcementFields,
  type ConnectFunction,
  type SignedAnnouncement,
  signAnnouncement,
  storageFields,
} from "../src/index.js";

export const SWISSNUM = "q2nvkmqhdxtclu7nncgfyvgkeqenm4ln";

/** Plain TCP, as apps/node uses until the transport's connector exists. */
export const tcp: ConnectFunction = (hint, signal) =>
  new Promise<Duplex>((resolve, reject) => {
    const socket = connect({ host: hint.host, port: hint.port! });
    const onAbort = () => socket.destroy(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      resolve(socket);
    });
    socket.once("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
  });

export interface TestIntroducer {
  introducer: Introducer;
  port: number;
  nurl: string;
  tls: TlsIdentity;
}

export async function startIntroducer(port = 0, tls = createTlsIdentity()): Promise<TestIntroducer> {
  const introducer = createIntroducer({
    swissnum: SWISSNUM,
    tls,
    listen: [{ kind: "tcp", port, interface: "127.0.0.1" }],
    keepaliveMs: 200,
  });
  await introducer.start();
  const bound = introducer.addresses()[0]!.port;
  const nurl = formatNurl({
    spkiHash: tls.spkiHash,
    hints: [{ kind: "tcp", host: "127.0.0.1", port: bound }],
    swissnum: SWISSNUM,
    version: 1,
  });
  return { introducer, port: bound, nurl, tls };
}

export function storageAnnouncement(key: NodeKey, seqnum: number, nickname = "server"): SignedAnnouncement {
  return signAnnouncement(
    announcementFields({
      service: "storage",
      nickname,
      myVersion: "lafs-ts/test",
      sequence: { seqnum, nonce: `n${seqnum}` },
      fields: storageFields({
        nurls: [`pb://${"A".repeat(43)}@127.0.0.1:1/${"s".repeat(32)}#v=1`],
        furl: `pb://${"a".repeat(32)}@tcp:127.0.0.1:1/${"s".repeat(32)}`,
        permutationSeedBase32: "mfrgg",
      }),
    }),
    key.privateKey,
  );
}

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "lafs-introducer-client-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { generateNodeKey };
