import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatNurl, loadTahoeCfgText } from "@lafs/config";
import { silentLogger } from "@lafs/interface";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startIntroducerService } from "../src/introducer-service.js";
import { loadNodeIdentity } from "../src/node-identity.js";
import { tempDir } from "./helpers.js";

/**
 * private/introducer.furl and private/introducer.nurl at `tahoe run` of an introducer: Tahoe's
 * fURL kept (a Tahoe-LAFS directory keeps its address), our NURL beside it with the same
 * swissnum, an older lafs-ts directory (NURLs in introducer.furl) converted without a new
 * swissnum, and a file naming another tub refused with the file's name.
 */

let dir: ReturnType<typeof tempDir>;
let basedir: string;
const stops: (() => Promise<void>)[] = [];
beforeEach(() => {
  dir = tempDir();
  basedir = join(dir.path, "intro");
  mkdirSync(join(basedir, "private"), { recursive: true, mode: 0o700 });
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  dir.cleanup();
});

const SWISSNUM = "yhhffl5qj3hwei2qnf6rtwqvrmkou2rr";
const hints = [{ kind: "tcp" as const, host: "127.0.0.1", port: 40123 }];

async function start() {
  const identity = await loadNodeIdentity(basedir);
  const config = loadTahoeCfgText("[node]\n", { file: join(basedir, "tahoe.cfg") }).config!;
  const started = await startIntroducerService({
    basedir,
    config,
    identity,
    endpoints: { listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }], hints },
    applicationVersion: "lafs-ts/test",
    logger: silentLogger,
  });
  if (started) stops.push(() => started.introducer.stop());
  return { identity, started: started! };
}

const read = (file: string) => readFileSync(join(basedir, "private", file), "utf8");

describe("introducer addresses", () => {
  it("makes a fURL and a NURL with one swissnum, and keeps them at the next start", async () => {
    const { identity, started } = await start();
    const furl = read("introducer.furl");
    expect(furl).toMatch(new RegExp(`^pb://${identity.tubId}@tcp:127\\.0\\.0\\.1:40123/[a-z2-7]{32}\\n$`));
    const swissnum = furl.trim().split("/").pop()!;
    expect(read("introducer.nurl")).toBe(
      `${formatNurl({ spkiHash: identity.tls.spkiHash, hints, swissnum, version: 1 })}\n`,
    );
    expect(started.furl).toBe(furl.trim());
    expect(started.introducer.furl()).toBe(furl.trim());
    await started.introducer.stop();
    await start();
    expect(read("introducer.furl")).toBe(furl);
  });

  it("keeps the fURL Tahoe-LAFS wrote, byte for byte", async () => {
    const identity = await loadNodeIdentity(basedir);
    const tahoe = `pb://${identity.tubId}@tcp:127.0.0.1:40123/${SWISSNUM}\n`;
    writeFileSync(join(basedir, "private/introducer.furl"), tahoe);
    const { started } = await start();
    expect(read("introducer.furl")).toBe(tahoe);
    expect(started.nurls[0]).toMatch(new RegExp(`/${SWISSNUM}#v=1$`));
  });

  it("turns an older lafs-ts introducer.furl (NURLs) into the fURL, keeping the swissnum", async () => {
    const identity = await loadNodeIdentity(basedir);
    const nurl = formatNurl({ spkiHash: identity.tls.spkiHash, hints, swissnum: SWISSNUM, version: 1 });
    writeFileSync(join(basedir, "private/introducer.furl"), `${nurl}\n`);
    await start();
    expect(read("introducer.furl")).toBe(`pb://${identity.tubId}@tcp:127.0.0.1:40123/${SWISSNUM}\n`);
    expect(read("introducer.nurl")).toBe(`${nurl}\n`);
  });

  it("refuses a fURL of another tub, naming the file, and writes nothing", async () => {
    const other = `pb://${"a".repeat(32)}@tcp:127.0.0.1:40123/${SWISSNUM}\n`;
    writeFileSync(join(basedir, "private/introducer.furl"), other);
    const error = (await start().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: string; message: string };
    expect(error).toMatchObject({ code: "TAHOE_ERR_INTRODUCER_FURL_FILE" });
    expect(error.message).toContain(join(basedir, "private/introducer.furl"));
    expect(error.message).toContain(`names tub ${"a".repeat(32)}`);
    expect(read("introducer.furl")).toBe(other);
  });
});
