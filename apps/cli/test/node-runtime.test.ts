import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { capYoungGeneration, nodeProcessArgs, nodeProcessEnv } from "../src/node-runtime.js";

const execFileAsync = promisify(execFile);

describe("start-time settings for the nodes `tahoe grid up` spawns", () => {
  it("adds both malloc thresholds and keeps the rest of the environment", () => {
    const env = nodeProcessEnv({ PATH: "/usr/bin", HOME: "/home/u" });
    expect(env).toMatchObject({
      PATH: "/usr/bin",
      HOME: "/home/u",
      MALLOC_MMAP_THRESHOLD_: "2097152",
      MALLOC_TRIM_THRESHOLD_: "2097152",
    });
  });

  it("leaves malloc alone when the caller set any MALLOC_ variable", () => {
    const env = nodeProcessEnv({ MALLOC_ARENA_MAX: "2" });
    expect(env).toEqual({ MALLOC_ARENA_MAX: "2" });
  });

  it("sizes the young generation and optimizes for size unless NODE_OPTIONS already does", () => {
    expect(nodeProcessArgs({})).toEqual(["--max-semi-space-size=4", "--optimize-for-size"]);
    expect(nodeProcessArgs({ NODE_OPTIONS: "--max-semi-space-size=8" })).toEqual(["--optimize-for-size"]);
    expect(nodeProcessArgs({ NODE_OPTIONS: "--optimize-for-size" })).toEqual(["--max-semi-space-size=4"]);
    expect(nodeProcessArgs({ NODE_OPTIONS: "--max-semi-space-size=8 --optimize-for-size" })).toEqual([]);
  });
});

describe("capYoungGeneration: `tahoe run` keeps V8's young generation small by itself", () => {
  it("stops the growth unless the process was started with the young generation sized", () => {
    const set: string[] = [];
    const record = (flags: string) => set.push(flags);
    expect(capYoungGeneration([], {}, record)).toBe(true);
    expect(set).toEqual(["--semi-space-growth-factor=1"]);
    expect(capYoungGeneration(["--max-semi-space-size=4"], {}, record)).toBe(false);
    expect(capYoungGeneration([], { NODE_OPTIONS: "--max-semi-space-size=16 --inspect" }, record)).toBe(
      false,
    );
    expect(capYoungGeneration(["--semi-space-growth-factor=4"], {}, record)).toBe(false);
    expect(set).toHaveLength(1);
  });

  it("holds a real process's young generation near its start-up size while it allocates", async () => {
    // The built module, in a fresh process: V8 sizes the heap per process.
    const dist = join(import.meta.dirname, "..", "dist", "node-runtime.js");
    const script = (cap: boolean) => `
      import { getHeapSpaceStatistics } from "node:v8";
      const { capYoungGeneration } = await import(${JSON.stringify(dist)});
      if (${cap}) capYoungGeneration([], {});
      let keep = [];
      for (let i = 0; i < 2e6; i++) {
        keep.push({ i, pair: [i, i + 1] });
        if (keep.length > 50000) keep = [];
      }
      const space = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
      console.log(space.space_size);
    `;
    const newSpace = async (cap: boolean) =>
      Number((await execFileAsync(process.execPath, ["--input-type=module", "-e", script(cap)])).stdout);
    const [capped, uncapped] = await Promise.all([newSpace(true), newSpace(false)]);
    expect(capped).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(uncapped).toBeGreaterThan(2 * capped);
  });
});
