import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createFileSequencer } from "../src/index.js";
import { tempDir } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("announcement sequencer", () => {
  it("counts up from the saved seqnum, saves each one first, and makes a fresh nonce", async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const path = join(dir.path, "announcement-seqnum");
    await writeFile(path, "41\n");
    const next = createFileSequencer(path, () => 0);
    const [a, b] = await Promise.all([next(), next()]);
    expect([a.seqnum, b.seqnum]).toEqual([42, 43]);
    expect(a.nonce).toMatch(/^[a-z2-7]{52}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(await readFile(path, "utf8")).toBe("43\n");
    // A new process continues where the file says.
    expect((await createFileSequencer(path, () => 0)()).seqnum).toBe(44);
  });

  it("never goes below the current time in seconds, so a lost file still outranks old announcements", async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const path = join(dir.path, "announcement-seqnum");
    expect((await createFileSequencer(path, () => 1_700_000_000_500)()).seqnum).toBe(1_700_000_000);
  });

  it("refuses a file that does not hold a number, naming it", async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const path = join(dir.path, "announcement-seqnum");
    await writeFile(path, "twelve\n");
    await expect(createFileSequencer(path)()).rejects.toMatchObject({
      code: "TAHOE_ERR_INTRODUCER_CLIENT_SEQNUM",
      message: `${path} holds 'twelve', not a seqnum`,
    });
  });
});
