import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTlsIdentity } from "@lafs/crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ControlTub,
  createControlTub,
  createLogHub,
  type LogHub,
  type LogLine,
  newControlIdentity,
  openControlClient,
  writeControlFiles,
} from "../src/index.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startTub(overrides: { onStop?: () => void } = {}) {
  const identity = newControlIdentity();
  const logs = createLogHub();
  let reloads = 0;
  const tub = createControlTub({
    tls: identity.tls,
    port: 0,
    swissnum: identity.swissnum,
    logs,
    status: () => ({ version: "lafs-ts/test", uptimeSeconds: 1 }),
    onStop: overrides.onStop ?? (() => {}),
    reload: async () => ({ reloads: ++reloads }),
  });
  await tub.start();
  cleanups.push(() => tub.stop());
  const basedir = await mkdtemp(join(tmpdir(), "ctl-"));
  cleanups.push(() => rm(basedir, { recursive: true, force: true }));
  await writeControlFiles(basedir, identity, tub.address()!.port);
  return { tub, identity, logs, basedir };
}

function rawGet(tub: ControlTub, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: tub.address()!.port, path, rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.once("error", reject);
    req.end();
  });
}

async function collectLive(logs: LogHub, basedir: string, level: "info" | "warn", burst: number) {
  const client = await openControlClient(basedir);
  const abort = new AbortController();
  const lines: LogLine[] = [];
  let live = () => {};
  const isLive = new Promise<void>((resolve) => {
    live = resolve;
  });
  const done = client.logs({
    level,
    follow: true,
    signal: abort.signal,
    onLine: (line) => {
      lines.push(line);
      if ("live" in line) live();
    },
  });
  await isLive;
  for (let i = 0; i < burst; i++) logs.logger.info({ i }, `burst ${i}`);
  logs.logger.warn("end of burst");
  await expect
    .poll(() => lines.some((l) => "msg" in l && l.msg === "end of burst"), { timeout: 15_000 })
    .toBe(true);
  abort.abort();
  await done;
  return lines;
}

describe("control tub", () => {
  it("listens on 127.0.0.1 only, as the socket says", async () => {
    const { tub } = await startTub();
    expect(tub.address()!.host).toBe("127.0.0.1");
  });

  it("answers 404 without the swissnum or with a wrong one", async () => {
    const { tub, identity } = await startTub();
    expect(await rawGet(tub, "/status")).toBe(404);
    expect(await rawGet(tub, "/")).toBe(404);
    expect(await rawGet(tub, `/${"A".repeat(identity.swissnum.length)}/status`)).toBe(404);
    expect(await rawGet(tub, `/${identity.swissnum}x/status`)).toBe(404);
    expect(await rawGet(tub, `/${identity.swissnum}/status`)).toBe(200);
    expect(await rawGet(tub, `/${identity.swissnum}/nothing`)).toBe(404);
  });

  it("serves status, reload and stop through the pinned client", async () => {
    let stopped = 0;
    const { basedir } = await startTub({ onStop: () => stopped++ });
    const client = await openControlClient(basedir);
    expect(await client.status()).toEqual({ version: "lafs-ts/test", uptimeSeconds: 1 });
    expect(await client.reload()).toEqual({ reloads: 1 });
    await client.stop();
    await expect.poll(() => stopped).toBe(1);
  });

  it("refuses a server whose certificate is not the pinned one, before sending the swissnum", async () => {
    const { basedir, identity, tub } = await startTub();
    const other = createTlsIdentity();
    const client = await openControlClient(basedir, {
      url: { spkiHash: other.spkiHash, port: tub.address()!.port, swissnum: identity.swissnum },
    });
    await expect(client.status()).rejects.toMatchObject({
      code: "TAHOE_ERR_CONTROL_PIN_MISMATCH",
      message: expect.stringContaining("private/control.url"),
    });
  });

  it("says the node is not running when nothing answers", async () => {
    const { basedir, tub } = await startTub();
    await tub.stop();
    const client = await openControlClient(basedir);
    await expect(client.status()).rejects.toMatchObject({
      code: "TAHOE_ERR_CONTROL_NOT_RUNNING",
      message: expect.stringMatching(
        /is not running \(nothing answers on 127\.0\.0\.1:\d+ from private\/control\.url\)/,
      ),
    });
  });

  it("sends buffered events newest first, filtered by level", async () => {
    const { basedir, logs } = await startTub();
    logs.logger.info("one");
    logs.logger.warn("two");
    logs.logger.debug("three");
    const client = await openControlClient(basedir);
    const lines: LogLine[] = [];
    await client.logs({ level: "info", onLine: (l) => lines.push(l) });
    expect(lines.map((l) => ("msg" in l ? l.msg : l))).toEqual(["two", "one"]);
  });

  it("streams a burst of 10,000 events to a follower without losing any silently", async () => {
    const { basedir, logs } = await startTub();
    const lines = await collectLive(logs, basedir, "info", 10_000);
    const live = lines.slice(lines.findIndex((l) => "live" in l) + 1);
    const events = live.filter((l): l is Extract<LogLine, { seq: number }> => "seq" in l);
    const dropped = live.reduce(
      (n, l) => n + ("dropped" in l && typeof l.dropped === "number" ? l.dropped : 0),
      0,
    );
    expect(events.length + dropped).toBe(10_001);
    const seqs = events.map((e) => e.seq);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
    // The default queue holds the whole burst: nothing is dropped at all.
    expect(dropped).toBe(0);
  });
});
