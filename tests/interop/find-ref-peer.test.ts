import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { findRefPeer, REF_DIR_VARIABLE } from "../support/refpeer.js";

/**
 * The rule that keeps interop from silently not running: skip (loudly) only on a developer's
 * machine without the variable; in CI, or with the variable naming nothing built, fail.
 */

const saved = { dir: process.env[REF_DIR_VARIABLE], ci: process.env.CI };

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

afterEach(() => {
  setEnv(REF_DIR_VARIABLE, saved.dir);
  setEnv("CI", saved.ci);
  vi.restoreAllMocks();
});

describe("findRefPeer", () => {
  it("skips with a SKIPPING banner naming the variable and the build command outside CI", () => {
    setEnv(REF_DIR_VARIABLE, undefined);
    setEnv("CI", undefined);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(findRefPeer("some tests")).toBeUndefined();
    const banner = warn.mock.calls.map((c) => String(c[0])).join("\n");
    expect(banner).toContain("SKIPPING some tests");
    expect(banner).toContain("TAHOE_REF_DIR");
    expect(banner).toContain("refpeer/build.sh");
  });

  it("fails in CI when the variable is missing", () => {
    setEnv(REF_DIR_VARIABLE, undefined);
    setEnv("CI", "true");
    expect(() => findRefPeer("some tests")).toThrow(/CI is set but TAHOE_REF_DIR is not.*build\.sh/);
  });

  it("fails when the variable names a directory with no build in it", async () => {
    const empty = await mkdtemp(join(tmpdir(), "lafs-refpeer-empty-"));
    try {
      setEnv(REF_DIR_VARIABLE, empty);
      setEnv("CI", undefined);
      expect(() => findRefPeer("some tests")).toThrow(
        `TAHOE_REF_DIR=${empty} holds no built reference Tahoe-LAFS`,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
