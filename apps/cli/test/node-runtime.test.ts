import { describe, expect, it } from "vitest";
import { nodeProcessArgs, nodeProcessEnv } from "../src/node-runtime.js";

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

  it("sizes the young generation unless NODE_OPTIONS already does", () => {
    expect(nodeProcessArgs({})).toEqual(["--max-semi-space-size=4"]);
    expect(nodeProcessArgs({ NODE_OPTIONS: "--max-semi-space-size=8" })).toEqual([]);
  });
});
