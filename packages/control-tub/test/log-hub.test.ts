import { describe, expect, it } from "vitest";
import { createLogHub, LOG_LEVELS, redactText } from "../src/index.js";

describe("log hub", () => {
  it("records pino-shaped events with bindings, newest first", () => {
    let t = 1000;
    const hub = createLogHub({ now: () => t++ });
    const log = hub.logger.child({ component: "node" });
    log.info("first");
    log.warn({ server: "v0-abc" }, "second");
    const events = hub.recent();
    expect(events.map((e) => e.msg)).toEqual(["second", "first"]);
    expect(events[0]).toMatchObject({
      level: LOG_LEVELS.warn,
      time: 1001,
      component: "node",
      server: "v0-abc",
    });
  });

  it("filters by level and drops below its floor", () => {
    const hub = createLogHub({ level: "info" });
    hub.logger.debug("hidden");
    hub.logger.info("info");
    hub.logger.error("bad");
    expect(hub.recent().map((e) => e.msg)).toEqual(["bad", "info"]);
    expect(hub.recent({ level: "warn" }).map((e) => e.msg)).toEqual(["bad"]);
    expect(hub.recent({ limit: 1 }).map((e) => e.msg)).toEqual(["bad"]);
  });

  it("keeps only the newest events in its ring buffer", () => {
    const hub = createLogHub({ capacity: 3 });
    for (let i = 1; i <= 5; i++) hub.logger.info(`e${i}`);
    expect(hub.recent().map((e) => e.msg)).toEqual(["e5", "e4", "e3"]);
  });

  it("redacts swissnums, caps and secret-named fields", () => {
    const hub = createLogHub();
    hub.logger.info(
      {
        nurl: "pb://aaaa@tcp:127.0.0.1:1/SWISSNUMXYZ#v=1",
        swissnum: "abc",
        leaseRenewSecret: "s",
        nested: { apiKey: "k", cap: "URI:CHK:abcdef:ghijk:3:10:100" },
      },
      "uploaded URI:CHK:abcdef:ghijk:3:10:100",
    );
    const [event] = hub.recent();
    const text = JSON.stringify(event);
    expect(text).not.toContain("SWISSNUMXYZ");
    expect(text).not.toContain("abcdef");
    expect(event).toMatchObject({
      swissnum: "<redacted>",
      leaseRenewSecret: "<redacted>",
      nested: { apiKey: "<redacted>", cap: "URI:CHK:<redacted>" },
      msg: "uploaded URI:CHK:<redacted>",
    });
    expect(redactText("https://127.0.0.1:5/SECRET/status")).toBe("https://127.0.0.1:5/<secret>");
  });

  it("fans out to followers and counts what a full queue drops", async () => {
    const hub = createLogHub();
    const small = hub.follow({ queueLimit: 2 });
    const warnOnly = hub.follow({ level: "warn" });
    for (let i = 0; i < 5; i++) hub.logger.info(`e${i}`);
    hub.logger.warn("w");
    const batch = await small.take();
    expect(batch.events.map((e) => e.msg)).toEqual(["e0", "e1"]);
    expect(batch.dropped).toBe(4);
    expect(small.droppedTotal).toBe(4);
    expect((await warnOnly.take()).events.map((e) => e.msg)).toEqual(["w"]);
    const waiting = warnOnly.take();
    warnOnly.close();
    expect(await waiting).toEqual({ events: [], dropped: 0, closed: true });
  });
});
