/**
 * Start-time settings for a `tahoe run` process that other code spawns (`tahoe grid up`).
 * A node cannot apply them to itself once running: glibc reads MALLOC_* when the process
 * starts, and V8 sizes its young generation when the isolate is created
 * (v8.setFlagsFromString is too late for it). docs/performance.md, "Memory (issue 8)", has
 * the measurements; an operator starting `tahoe run` some other way can set the same.
 */

/**
 * A fixed glibc mmap threshold (this is its default value; setting it turns off the dynamic
 * raise): the MiB-sized share buffers are then mapped and unmapped one by one instead of
 * fragmenting the heap arenas, which kept 30 to 70 MB of freed memory in the client's RSS after
 * a 1 GiB transfer. Other C libraries ignore the variable.
 */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: "131072" } as const;

/**
 * A young generation of at most 2 x 4 MB instead of V8's 2 x 16 MB: transfers allocate few
 * JS objects, so a larger one only held 25 to 30 MB more heap; 1 MB cost a third more CPU.
 */
const SEMI_SPACE_FLAG = "--max-semi-space-size=4";

/** The environment for a node process: the caller's, with the malloc setting unless it has its own. */
export function nodeProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MALLOC_ENV, ...env };
}

/** Node options to put before the script, unless NODE_OPTIONS already sizes the semi-space. */
export function nodeProcessArgs(env: NodeJS.ProcessEnv): string[] {
  return /--max-semi-space-size\b/.test(env.NODE_OPTIONS ?? "") ? [] : [SEMI_SPACE_FLAG];
}
