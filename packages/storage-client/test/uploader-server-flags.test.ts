import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode } from "@lafs/crypto";
import { afterEach, describe, expect, it } from "vitest";
import { serverFlagsFromFiles, serverFlagsFromText, withServerFlags } from "../src/index.js";

const id = () => `v0-${base32Encode(randomBytes(32))}`;
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function basedir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lafs-flags-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe("serverFlagsFromFiles", () => {
  it("allows every server and requires none when neither file exists", async () => {
    const flags = await serverFlagsFromFiles(await basedir({}));
    const someone = id();
    expect(flags.allowed(someone)).toBe(true);
    expect(flags.required(someone)).toBe(false);
    expect(flags.allowedIds).toBeUndefined();
    expect(flags.issues).toEqual([]);
  });

  it("treats servers-allowed as the complete list and servers-required as the required ones", async () => {
    const [alice, bob, carol] = [id(), id(), id()];
    const dir = await basedir({
      "servers-allowed": `# written by the control panel\n${alice} alice\n${bob}\tbob\n`,
      "servers-required": `${alice} alice\n`,
    });
    const flags = await serverFlagsFromFiles(dir);
    expect([alice, bob, carol].map((s) => flags.allowed(s))).toEqual([true, true, false]);
    expect([alice, bob, carol].map((s) => flags.required(s))).toEqual([true, false, false]);
    const servers = withServerFlags([{ id: alice }, { id: carol }], flags);
    expect(servers).toEqual([
      { id: alice, allowed: true, required: true },
      { id: carol, allowed: false, required: false },
    ]);
  });

  it("reports bad lines with their file and line number and ignores them", () => {
    const good = id();
    const flags = serverFlagsFromText(undefined, `${good}\nnot-a-server-id\n${good}\n`);
    expect(flags.required(good)).toBe(true);
    expect(flags.issues).toEqual([
      expect.objectContaining({
        file: "servers-required",
        line: 2,
        message: "'not-a-server-id' is not a server id",
      }),
      expect.objectContaining({ file: "servers-required", line: 3 }),
    ]);
  });

  it("an empty servers-allowed file allows nothing", () => {
    const flags = serverFlagsFromText("", undefined);
    expect(flags.allowed(id())).toBe(false);
  });
});
