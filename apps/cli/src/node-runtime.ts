import { setFlagsFromString } from "node:v8";

/**
 * Start-time settings for a `tahoe run` process that other code spawns (`tahoe grid up`).
 * A node cannot apply them to itself once running: glibc reads MALLOC_* when the process
 * starts, and V8 sizes its young generation when the isolate is created
 * (v8.setFlagsFromString is too late for it). docs/performance.md, "Memory (issue 8)", has
 * the measurements; an operator starting `tahoe run` some other way can set the same.
 */

/**
 * glibc's malloc thresholds, fixed (setting either turns off its dynamic raise). The node
 * frees its MiB-sized transfer buffers as soon as they are done with (freeNow in
 * @lafs/immutable), so the same few MiB are used over and over: an mmap threshold above
 * them (2 MiB) serves them from the heap without a page fault per page, and a trim threshold
 * of 2 MiB keeps a freed segment at the top of the heap for the next one instead of giving it
 * back and faulting it in again. Measured on a 1 GiB upload and download (docs/performance.md,
 * "Memory"): client CPU 11.5 / 5.2 s against 12.9 / 6.2 s with glibc's defaults and
 * 15.3 / 7.2 s with a fixed 128 KiB mmap threshold; after many 100 MiB transfers the client's
 * peak RSS settles near 131 MB (8 MiB of trim threshold: 137 to 140 MB). Other C libraries
 * ignore the variables.
 */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: "2097152", MALLOC_TRIM_THRESHOLD_: "2097152" } as const;

/**
 * A young generation of at most 2 x 4 MB instead of V8's 2 x 16 MB: transfers allocate few
 * JS objects, so a larger one only held 25 to 30 MB more heap; 1 MB cost a third more CPU.
 */
const SEMI_SPACE_FLAG = "--max-semi-space-size=4";

/** The environment for a node process: the caller's, with the malloc settings unless it has its own. */
export function nodeProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = Object.keys(env).some((name) => name.startsWith("MALLOC_"));
  return own ? { ...env } : { ...MALLOC_ENV, ...env };
}

/**
 * V8's heap heuristics for a small footprint (it grows and collects the old generation sooner).
 * A 1 GiB upload through a fresh client, 5 interleaved rounds: VmHWM 112 to 115 MB against 123
 * to 127 without it, client CPU and upload rate within the noise (docs/performance.md, "Client
 * peak RSS during a 1 GiB upload").
 */
const SIZE_FLAG = "--optimize-for-size";

/** Node options to put before the script, each unless NODE_OPTIONS already has it. */
export function nodeProcessArgs(env: NodeJS.ProcessEnv): string[] {
  const options = env.NODE_OPTIONS ?? "";
  return [
    ...(/--max-semi-space-size\b/.test(options) ? [] : [SEMI_SPACE_FLAG]),
    ...(/--optimize-for-size\b/.test(options) ? [] : [SIZE_FLAG]),
  ];
}

/** Whether the process was started with its young generation sized on purpose. */
function sizesYoungGeneration(execArgv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const pattern = /--(max-semi-space-size|semi-space-growth-factor)\b/;
  return execArgv.some((arg) => pattern.test(arg)) || pattern.test(env.NODE_OPTIONS ?? "");
}

/**
 * Keeps the young generation of a `tahoe run` started without the flag above (by an operator,
 * a test grid, a benchmark) at the size start-up left it, instead of V8's 2 x 16 MB: a
 * transfer allocates MiB-sized Buffers outside the JS heap and few JS objects, so a larger
 * young generation only holds garbage (docs/performance.md, "Issue 23": about 15 MB of peak
 * RSS). V8 reads --max-semi-space-size only when it creates the heap, but the growth factor
 * each time the young generation would grow, so setting it to 1 now stops the growth; on the
 * command line V8 raises a factor below 2 to 2, so this works only at run time. A node started
 * with either flag keeps what it was given.
 */
export function capYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  if (sizesYoungGeneration(execArgv, env)) return false;
  setFlags("--semi-space-growth-factor=1");
  return true;
}

/** Whether the process was started with its own WebAssembly tiering flags. */
function tiersWasm(execArgv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const pattern = /--(no-)?(liftoff|liftoff-only|wasm-tier-up|wasm-dynamic-tiering)\b/;
  return execArgv.some((arg) => pattern.test(arg)) || pattern.test(env.NODE_OPTIONS ?? "");
}

/**
 * Compiles the WebAssembly modules loaded from now on with V8's baseline compiler (Liftoff)
 * only. The one compiled later in a node is undici's HTTP parser (llhttp), on the first
 * connection to a storage server: V8 soon re-compiles its hot state machine, one very large
 * function, with TurboFan on a background thread, which took 44 MB of compiler memory for about
 * a third of a second and left about 10 MB in that thread's malloc arena (docs/performance.md,
 * "Issue 23: client memory (session 2)"). The parser reads only headers and body spans, so the
 * baseline code costs nothing measurable. V8 decides a module's tiers when it compiles it, so
 * `compileFirst` runs before the flag (the erasure coder's SIMD kernel, whose speed halves
 * under Liftoff) keep tiering up. A node started with its own WebAssembly tiering flags keeps them.
 */
export function compileWasmLeanly(
  compileFirst: () => void,
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  if (tiersWasm(execArgv, env)) return false;
  compileFirst();
  setFlags("--liftoff-only");
  return true;
}
