import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode } from "@lafs/crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  assertRequiredServersKnown,
  requiredButUnknown,
  serverFlagsFromFiles,
  serverFlagsFromText,
  withServerFlags,
} from "../src/index.js";

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

describe("the default for servers not yet decided", () => {
  it("is allowed without servers-allowed and not-allowed with it, unless tahoe.cfg says otherwise", () => {
    const [alice, newcomer] = [id(), id()];
    expect(serverFlagsFromText(undefined, undefined).allowed(newcomer)).toBe(true);
    const listed = serverFlagsFromText(`${alice} alice\n`, undefined);
    expect([listed.allowed(alice), listed.allowed(newcomer)]).toEqual([true, false]);
    expect(listed.newServersSource).toBe("default");
    const cfg = serverFlagsFromText(`${alice}\n`, undefined, undefined, { newServers: "allowed" });
    expect([cfg.allowed(newcomer), cfg.newServersSource]).toEqual([true, "tahoe.cfg"]);
    const none = serverFlagsFromText(undefined, undefined, undefined, { newServers: "not-allowed" });
    expect(none.allowed(newcomer)).toBe(false);
  });

  it("takes control-panel.json's choice over tahoe.cfg, and never allows a decided server it does not list", () => {
    const [alice, bob, newcomer] = [id(), id(), id()];
    const panel = JSON.stringify({ version: 1, newServersAllowed: true, decided: [alice, bob] });
    const flags = serverFlagsFromText(`${alice}\n`, `${alice}\n`, panel, { newServers: "not-allowed" });
    expect([alice, bob, newcomer].map((s) => flags.allowed(s))).toEqual([true, false, true]);
    expect(flags.newServersSource).toBe("control panel");
    expect(flags.decided(newcomer)).toBe(false);
    expect(flags.decided(bob)).toBe(true);
  });

  it("reports a broken control-panel.json with its line and ignores it", async () => {
    const someone = id();
    const dir = await basedir({
      "control-panel.json": '{\n  "version": 1,\n  "newServersAllowed": "yes"\n}\n',
    });
    const flags = await serverFlagsFromFiles(dir);
    expect(flags.allowed(someone)).toBe(true);
    expect(flags.panel).toBeUndefined();
    expect(flags.issues).toEqual([
      expect.objectContaining({ file: "control-panel.json", line: 3, key: "newServersAllowed" }),
    ]);
  });
});

describe("a required server nothing announced", () => {
  it("stops uploads with placement's required-but-not-connected message", () => {
    const [known, ghost] = [id(), id()];
    const flags = serverFlagsFromText(undefined, `${ghost} ghost\n`);
    const servers = [{ id: known, permutationSeed: new Uint8Array(32), connected: true, writable: true }];
    expect(requiredButUnknown(servers, flags).map((s) => s.id)).toEqual([ghost]);
    expect(() => assertRequiredServersKnown(servers, flags, { k: 1, happy: 1, n: 1 })).toThrow(
      /uploads disabled: .* required but not connected/,
    );
    const none = serverFlagsFromText(undefined, `${known}\n`);
    expect(() => assertRequiredServersKnown(servers, none, { k: 1, happy: 1, n: 1 })).not.toThrow();
  });
});
