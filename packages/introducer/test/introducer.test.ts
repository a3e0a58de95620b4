import { generateNodeKey } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import { describe, expect, it } from "vitest";
import {
  call,
  closedAfterEach,
  publish,
  SWISSNUM,
  startIntroducer,
  storageAnnouncement,
  subscribe,
} from "./helpers.js";

const { introducers: running, streams } = closedAfterEach();

async function start(extra = {}) {
  const started = await startIntroducer(extra);
  running.push(started.introducer);
  return started;
}

async function open(port: number, query?: string) {
  const stream = await subscribe(port, query);
  streams.push(stream);
  return stream;
}

describe("introducer service", () => {
  it("streams every held announcement, a synced marker, then each accepted change", async () => {
    const { introducer, port } = await start();
    const a = generateNodeKey();
    const b = generateNodeKey();
    expect((await publish(port, storageAnnouncement(a, 1))).status).toBe(200);
    const stream = await open(port);
    await stream.waitFor((e) => e.some((x) => x.type === "synced"));
    expect(stream.events.map((e) => e.type)).toEqual(["hello", "announcement", "synced"]);
    expect(stream.events[0]).toMatchObject({
      protocol: "lafs-introducer-v1",
      "application-version": "lafs-ts/test",
    });
    expect(stream.events[1]!.ann![2]).toBe(a.nodeId);
    expect(stream.events[2]!.count).toBe(1);

    const reply = await publish(port, storageAnnouncement(b, 5));
    expect(JSON.parse(reply.body)).toEqual({ status: "accepted", seqnum: 5 });
    await stream.waitFor((e) => e.filter((x) => x.type === "announcement").length === 2);
    expect(stream.events.at(-1)!.ann![2]).toBe(b.nodeId);
    expect(introducer.announcements().map((h) => h.announcement.serverId)).toEqual([a.nodeId, b.nodeId]);
  });

  it("keeps the newest by seqnum, treats a re-sent announcement as unchanged and refuses a replay", async () => {
    const { introducer, port } = await start();
    const key = generateNodeKey();
    const first = storageAnnouncement(key, 10);
    expect((await publish(port, first)).status).toBe(200);
    expect(JSON.parse((await publish(port, first)).body).status).toBe("unchanged");
    const newer = storageAnnouncement(key, 11, { nickname: "renamed" });
    expect(JSON.parse((await publish(port, newer)).body).status).toBe("accepted");
    const replay = await publish(port, first);
    expect(replay.status).toBe(409);
    expect(JSON.parse(replay.body).error).toMatchObject({
      code: "TAHOE_ERR_INTRODUCER_REPLAY",
      message: expect.stringContaining("seqnum 10, but seqnum 11 is already held"),
    });
    const held = introducer.announcements();
    expect(held).toHaveLength(1);
    expect(held[0]!.announcement.nickname).toBe("renamed");
    expect(introducer.status().refused).toEqual({ TAHOE_ERR_INTRODUCER_REPLAY: 1 });
  });

  it("refuses forged, oversized and malformed announcements with distinct statuses", async () => {
    const { introducer, port } = await start({ limits: { maxAnnouncementBytes: 2048 } });
    const key = generateNodeKey();
    const [msg, sig, signer] = storageAnnouncement(key, 1);
    const forged = await publish(port, [
      msg.replace('"nickname": "server"', '"nickname": "evil"'),
      sig,
      signer,
    ]);
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.body).error.code).toBe("TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE");
    const big = await publish(port, storageAnnouncement(key, 2, { padding: "x".repeat(3000) }));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error.code).toBe("TAHOE_ERR_ANNOUNCEMENT_TOO_LARGE");
    const huge = await call(port, "POST", `/${SWISSNUM}/v1/publish`, "x".repeat(20_000));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body).error.code).toBe("TAHOE_ERR_INTRODUCER_REQUEST");
    const notJson = await call(port, "POST", `/${SWISSNUM}/v1/publish`, "{nope");
    expect([notJson.status, JSON.parse(notJson.body).error.code]).toEqual([
      400,
      "TAHOE_ERR_INTRODUCER_REQUEST",
    ]);
    const wrongShape = await publish(port, { msg: "x" });
    expect([wrongShape.status, JSON.parse(wrongShape.body).error.code]).toEqual([
      400,
      "TAHOE_ERR_ANNOUNCEMENT_MALFORMED",
    ]);
    expect(introducer.announcements()).toEqual([]);
    expect(introducer.status().refused).toEqual({
      TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE: 1,
      TAHOE_ERR_ANNOUNCEMENT_TOO_LARGE: 1,
      TAHOE_ERR_INTRODUCER_REQUEST: 2,
      TAHOE_ERR_ANNOUNCEMENT_MALFORMED: 1,
    });
  });

  it("logs every refusal with its code and the peer's address", async () => {
    const warnings: Record<string, unknown>[] = [];
    const record = (fields: Record<string, unknown> | string, message?: string) => {
      if (typeof fields === "object") warnings.push({ ...fields, message });
    };
    const logger: Logger = {
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: record,
      error: () => {},
      fatal: () => {},
      child: () => logger,
    };
    const { port } = await start({ logger });
    const key = generateNodeKey();
    const [msg, sig, signer] = storageAnnouncement(key, 1);
    await publish(port, [msg.replace("server", "evil"), sig, signer]);
    expect(warnings).toEqual([
      {
        code: "TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE",
        from: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        message: expect.stringMatching(/^refused announcement: .*does not verify$/),
      },
    ]);
  });

  it("limits services and publishes per node id", async () => {
    const { port } = await start({ limits: { maxServicesPerNode: 2, maxPublishesPerMinute: 4 } });
    const key = generateNodeKey();
    const service = (name: string, seqnum: number) =>
      storageAnnouncement(key, seqnum, { "service-name": name });
    expect((await publish(port, service("a", 1))).status).toBe(200);
    expect((await publish(port, service("b", 1))).status).toBe(200);
    const third = await publish(port, service("c", 1));
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error.message).toMatch(/already announces 2 services/);
    expect((await publish(port, service("a", 2))).status).toBe(200);
    const fifth = await publish(port, service("a", 3));
    expect(fifth.status).toBe(429);
    expect(JSON.parse(fifth.body).error.message).toMatch(/published 4 times in the last minute/);
    // Another node is not held back by the first one's budget.
    expect((await publish(port, storageAnnouncement(generateNodeKey(), 1))).status).toBe(200);
  });

  it("answers 404 without the swissnum and shows an escaped status page under it", async () => {
    const { port } = await start();
    expect((await call(port, "GET", "/")).status).toBe(404);
    expect((await call(port, "GET", "/wrongwrongwrongwrongwrongwrong23/")).status).toBe(404);
    expect((await call(port, "GET", "/wrong/v1/subscribe")).status).toBe(404);
    expect((await call(port, "GET", `/${SWISSNUM}/v1/nothing`)).status).toBe(404);
    const key = generateNodeKey();
    await publish(port, storageAnnouncement(key, 3, { nickname: "<script>x</script>" }));
    const stream = await open(port, "service=storage&nickname=watcher&my-version=v9");
    await stream.waitFor((e) => e.some((x) => x.type === "synced"));
    const page = await call(port, "GET", `/${SWISSNUM}/`);
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.body).toContain("&lt;script&gt;x&lt;/script&gt;");
    expect(page.body).not.toContain("<script>");
    expect(page.body).toContain("watcher");
    const json = JSON.parse((await call(port, "GET", `/${SWISSNUM}/?t=json`)).body);
    expect(json.announcements).toEqual([
      expect.objectContaining({
        serverId: key.nodeId,
        service: "storage",
        seqnum: 3,
        nickname: "<script>x</script>",
      }),
    ]);
    expect(json.subscribers).toEqual([
      expect.objectContaining({ nickname: "watcher", myVersion: "v9", service: "storage" }),
    ]);
  });

  it("sends pings on idle streams and only the subscribed service", async () => {
    const { port } = await start({ keepaliveMs: 50 });
    const stream = await open(port, "service=other");
    await publish(port, storageAnnouncement(generateNodeKey(), 1));
    await stream.waitFor((e) => e.filter((x) => x.type === "ping").length >= 2);
    expect(stream.events.some((e) => e.type === "announcement")).toBe(false);
  });

  it("refuses options no node directory gives and a port in use", async () => {
    const { port } = await start();
    await expect(startIntroducer({ swissnum: "a/b" })).rejects.toMatchObject({
      code: "TAHOE_ERR_INTRODUCER_OPTIONS",
    });
    await expect(
      startIntroducer({ listen: [{ kind: "tcp", port, interface: "127.0.0.1" }] }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_INTRODUCER_LISTEN",
    });
  });
});
