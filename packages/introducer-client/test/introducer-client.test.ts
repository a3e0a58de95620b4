import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import { join } from "node:path";
import { formatNurl } from "@lafs/config";
import { createTlsIdentity } from "@lafs/crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  cacheFilePath,
  createIntroducerClient,
  type IntroducerClient,
  loadAnnouncementCache,
  signAnnouncement,
} from "../src/index.js";
import {
  generateNodeKey,
  SWISSNUM,
  startIntroducer,
  storageAnnouncement,
  type TestIntroducer,
  tcp,
  tempDir,
  until,
} from "./helpers.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(intro: { nurl: string }, extra: Partial<Parameters<typeof createIntroducerClient>[0]> = {}) {
  const c = createIntroducerClient({
    petname: "default",
    url: intro.nurl,
    connect: tcp,
    nickname: "client",
    myVersion: "lafs-ts/test",
    backoff: { initialMs: 50, maxMs: 200 },
    ...extra,
  });
  cleanups.push(() => c.stop());
  return c;
}

async function introducer(port = 0, tls?: TestIntroducer["tls"]): Promise<TestIntroducer> {
  const started = await startIntroducer(port, tls);
  cleanups.push(() => started.introducer.stop());
  return started;
}

const ids = (c: IntroducerClient) =>
  c
    .announcements()
    .map((r) => r.announcement.serverId)
    .sort();

describe("introducer client", () => {
  it("publishes, subscribes and verifies what it receives", async () => {
    const intro = await introducer();
    const server = generateNodeKey();
    const other = generateNodeKey();
    const publisher = client(intro, { petname: "pub" });
    publisher.publish(storageAnnouncement(server, 1));
    await publisher.start();
    const subscriber = client(intro);
    const seen: string[] = [];
    subscriber.onAnnouncement((r) =>
      seen.push(`${r.source} ${r.announcement.serverId} ${r.announcement.seqnum}`),
    );
    await subscriber.start();
    await until(() => subscriber.announcements().length === 1, "the first announcement");
    expect(subscriber.status()).toMatchObject({
      state: "connected",
      synced: true,
      hint: `tcp:127.0.0.1:${intro.port}`,
    });
    // A change published while connected reaches the subscriber at once.
    publisher.publish(storageAnnouncement(server, 2, "renamed"));
    const otherClient = client(intro, { petname: "other" });
    otherClient.publish(storageAnnouncement(other, 1));
    await otherClient.start();
    await until(() => subscriber.announcements().length === 2 && seen.length === 3, "the updates");
    expect(seen).toEqual([
      `introducer ${server.nodeId} 1`,
      `introducer ${server.nodeId} 2`,
      `introducer ${other.nodeId} 1`,
    ]);
    expect(ids(subscriber)).toEqual([server.nodeId, other.nodeId].sort());
    const mine = subscriber.announcements().find((r) => r.announcement.serverId === server.nodeId)!;
    expect(mine.announcement.nickname).toBe("renamed");
    expect(intro.introducer.status().subscribers.map((s) => s.nickname)).toContain("client");
  });

  it("refuses to publish a malformed announcement and rejects a NURL that is not one", () => {
    const c = client({ nurl: `pb://${"A".repeat(43)}@127.0.0.1:1/x#v=1` });
    expect(() => c.publish(["{}", "v0-", "v0-"])).toThrow(/not a node id/);
    expect(() => client({ nurl: "http://example.org/" })).toThrow(
      expect.objectContaining({ code: "TAHOE_ERR_INTRODUCER_CLIENT_URL" }),
    );
  });

  it("caches announcements, starts from the cache while the introducer is down, then resyncs", async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const cacheFile = cacheFilePath(dir.path, "default");
    const intro = await introducer();
    const server = generateNodeKey();
    await intro.introducer.stop();
    // A server's announcement is on the introducer; the subscriber caches it.
    const restarted = await introducer(intro.port, intro.tls);
    const pub = client(restarted, { petname: "pub" });
    pub.publish(storageAnnouncement(server, 1));
    await pub.start();
    const first = client(restarted, { cacheFile });
    await first.start();
    await until(() => first.announcements().length === 1, "the announcement");
    await first.stop();
    const text = await readFile(cacheFile, "utf8");
    expect(text).toContain(`key_s: ${server.nodeId}`);
    expect(text).toContain("sig: v0-");
    await pub.stop();
    await restarted.introducer.stop();

    // Introducer down: a new client starts from the cache.
    const second = client(restarted, { cacheFile });
    await second.start();
    expect(second.announcements().map((r) => [r.source, r.announcement.serverId])).toEqual([
      ["cache", server.nodeId],
    ]);
    await until(() => second.status().lastError !== undefined, "a connection error");
    expect(second.status()).toMatchObject({
      state: expect.stringMatching(/connecting|disconnected/),
      lastError: { code: "TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE" },
    });

    // The introducer comes back (same port, same key) and the server announces again.
    const back = await introducer(intro.port, intro.tls);
    const pub2 = client(back, { petname: "pub2" });
    pub2.publish(storageAnnouncement(server, 1));
    await pub2.start();
    await until(() => second.announcements()[0]?.source === "introducer", "the resync", 8000);
    expect(second.status()).toMatchObject({ state: "connected", synced: true });
  });

  it("re-verifies the cache and drops entries that were changed or lack a signature", async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const path = join(dir.path, "cache.yaml");
    const key = generateNodeKey();
    const [msg, sig] = storageAnnouncement(key, 4);
    const tampered = msg.replace('"seqnum": 4', '"seqnum": 5');
    await writeFile(
      path,
      [
        `- ann: {}\n  key_s: ${key.nodeId}\n  msg: '${msg}'\n  sig: ${sig}`,
        `- ann: {}\n  key_s: ${key.nodeId}\n  msg: '${tampered}'\n  sig: ${sig}`,
        `- ann: {nickname: tahoe}\n  key_s: ${key.nodeId}`,
        "- 7",
      ].join("\n"),
    );
    const { announcements, problems } = await loadAnnouncementCache(path);
    expect(announcements.map((a) => a.seqnum)).toEqual([4]);
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/entry 2: .*signature that does not verify/),
      expect.stringMatching(/entry 3 has no signed msg\/sig/),
      expect.stringMatching(/entry 4 is not a mapping/),
    ]);
    expect(problems.every((p) => p.code === "TAHOE_ERR_INTRODUCER_CLIENT_CACHE")).toBe(true);
    await writeFile(path, "{ not yaml");
    expect((await loadAnnouncementCache(path)).problems[0]!.message).toMatch(/is not YAML/);
    expect(await loadAnnouncementCache(join(dir.path, "missing.yaml"))).toEqual({
      announcements: [],
      problems: [],
    });
  });

  it("refuses an introducer whose certificate does not match the NURL's pin", async () => {
    const intro = await introducer();
    const wrong = formatNurl({
      spkiHash: createTlsIdentity().spkiHash,
      hints: [{ kind: "tcp", host: "127.0.0.1", port: intro.port }],
      swissnum: SWISSNUM,
      version: 1,
    });
    const c = client({ nurl: wrong });
    await c.start();
    await until(() => c.status().lastError !== undefined, "the pin error");
    expect(c.status().lastError).toMatchObject({ code: "TAHOE_ERR_INTRODUCER_CLIENT_WRONG_PIN" });
    expect(intro.introducer.status().subscribers).toEqual([]);
  });

  it("verifies each announcement itself: a lying introducer's forgery is dropped, the rest kept", async () => {
    const tls = createTlsIdentity();
    const honest = generateNodeKey();
    const good = storageAnnouncement(honest, 1);
    const victim = generateNodeKey();
    const [msg, sig] = storageAnnouncement(victim, 1);
    const forged = [msg.replace("127.0.0.1:1", "10.6.6.6:1"), sig, victim.nodeId];
    const evil = createServer({ key: tls.keyPem, cert: tls.certPem }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write(
        `${JSON.stringify({ type: "hello", protocol: "x", "application-version": "evil", "keepalive-ms": 1000 })}\n`,
      );
      res.write(`${JSON.stringify({ type: "announcement", ann: forged })}\n`);
      res.write(`${JSON.stringify({ type: "announcement", ann: good })}\n`);
      res.write(`${JSON.stringify({ type: "synced", count: 2 })}\n`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          evil.closeAllConnections();
          evil.close(() => r());
        }),
    );
    const port = (evil.address() as { port: number }).port;
    const nurl = formatNurl({
      spkiHash: tls.spkiHash,
      hints: [{ kind: "tcp", host: "127.0.0.1", port }],
      swissnum: SWISSNUM,
      version: 1,
    });
    const c = client({ nurl });
    await c.start();
    await until(() => c.status().synced, "the sync");
    expect(ids(c)).toEqual([honest.nodeId]);
  });

  it("publishes a signed announcement for any service and replaces it by service", async () => {
    const intro = await introducer();
    const key = generateNodeKey();
    const c = client(intro);
    c.publish(signAnnouncement({ "service-name": "other", seqnum: 1, nonce: "a" }, key.privateKey));
    c.publish(signAnnouncement({ "service-name": "other", seqnum: 2, nonce: "b" }, key.privateKey));
    await c.start();
    await until(() => intro.introducer.announcements().length === 1, "the publish");
    expect(intro.introducer.announcements()[0]!.announcement.seqnum).toBe(2);
  });
});
