import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  capYoungGeneration,
  compileWasmLeanly,
  nodeProcessArgs,
  nodeProcessEnv,
} from "../src/node-runtime.js";

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

describe("compileWasmLeanly: WebAssembly compiled after start stays on V8's baseline tier", () => {
  it("compiles what must stay fast first, then sets --liftoff-only, unless the process chose its own tiers", () => {
    const calls: string[] = [];
    const record = (flags: string) => calls.push(flags);
    expect(compileWasmLeanly(() => calls.push("compiled"), [], {}, record)).toBe(true);
    expect(calls).toEqual(["compiled", "--liftoff-only"]);
    expect(compileWasmLeanly(() => calls.push("compiled"), ["--no-liftoff"], {}, record)).toBe(false);
    expect(
      compileWasmLeanly(() => calls.push("compiled"), [], { NODE_OPTIONS: "--wasm-tier-up" }, record),
    ).toBe(false);
    expect(compileWasmLeanly(() => calls.push("compiled"), ["--liftoff-only"], {}, record)).toBe(false);
    expect(calls).toHaveLength(2);
  });

  it("lets a module compiled first tier up to TurboFan, and keeps one compiled later on Liftoff", async () => {
    // A real process with V8's own trace of each function compile: two modules that differ only
    // in their export's name (so V8 does not share their code), each run until hot.
    const dist = join(import.meta.dirname, "..", "dist", "node-runtime.js");
    const script = (lean: boolean) => `
      const { compileWasmLeanly } = await import(${JSON.stringify(dist)});
      // (func (param i32) (result i32) (local i32): adds n + (n-1) + ... + 1 in a loop)
      const bytes = (name) => new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f,
        3, 2, 1, 0, 7, 8, 1, 4, ...Buffer.from(name), 0, 0, 0x0a, 0x1b, 1, 0x19, 1, 1, 0x7f, 3, 0x40,
        0x20, 1, 0x20, 0, 0x6a, 0x21, 1, 0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x20, 1, 0x0b]);
      const load = (name) => new WebAssembly.Instance(new WebAssembly.Module(bytes(name))).exports[name];
      let first;
      if (${lean}) compileWasmLeanly(() => { first = load("spin"); }, [], {});
      else first = load("spin");
      const later = load("spim");
      for (const f of [first, later]) {
        for (let round = 0; round < 20; round++) {
          for (let i = 0; i < 200; i++) f(10000);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    `;
    const turbofanCompiles = async (lean: boolean) => {
      const { stdout } = await execFileAsync(process.execPath, [
        "--trace-wasm-compilation-times",
        "--input-type=module",
        "-e",
        script(lean),
      ]);
      return stdout.split("\n").filter((line) => / using TurboFan\b/.test(line)).length;
    };
    const [lean, plain] = await Promise.all([turbofanCompiles(true), turbofanCompiles(false)]);
    expect(plain).toBe(2);
    expect(lean).toBe(1);
  });
});
