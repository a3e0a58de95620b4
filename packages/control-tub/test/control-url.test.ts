import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  formatControlUrl,
  newControlIdentity,
  parseControlUrl,
  readControlIdentity,
  writeControlFiles,
} from "../src/index.js";

const SPKI = "A".repeat(43);
let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

describe("private/control.url", () => {
  it("round-trips a NURL with one 127.0.0.1 location", () => {
    const text = formatControlUrl({ spkiHash: SPKI, port: 4321, swissnum: "sw" });
    expect(text).toBe(`pb://${SPKI}@127.0.0.1:4321/sw#v=1\n`);
    expect(parseControlUrl(text, "f")).toEqual({ spkiHash: SPKI, port: 4321, swissnum: "sw" });
  });

  it("refuses any other location, naming the file", () => {
    expect(() => parseControlUrl(`pb://${SPKI}@10.0.0.1:4321/sw#v=1`, "/x/private/control.url")).toThrow(
      expect.objectContaining({
        code: "TAHOE_ERR_CONTROL_URL_FILE",
        message: expect.stringContaining("/x/private/control.url"),
      }),
    );
    expect(() => parseControlUrl("garbage", "f")).toThrow(
      expect.objectContaining({ code: "TAHOE_ERR_CONTROL_URL_FILE" }),
    );
  });

  it("writes private files that read back as the same identity", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctl-"));
    dirs.push(dir);
    const identity = newControlIdentity();
    await writeControlFiles(dir, identity, 5555);
    const back = await readControlIdentity(dir);
    expect(back?.swissnum).toBe(identity.swissnum);
    expect(back?.tls.spkiHash).toBe(identity.tls.spkiHash);
    expect((await stat(join(dir, "private/control.pem"))).mode & 0o077).toBe(0);
    expect(await readFile(join(dir, "private/control.url"), "utf8")).toContain("@127.0.0.1:5555/");
  });
});
