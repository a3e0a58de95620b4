import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Runs the real binary on the separate modules (not the bundle), with a module hook that names
// every module it resolves, so the test sees what a verb makes Node load. Needs `pnpm build`.
const BIN = join(import.meta.dirname, "..", "bin", "tahoe.js");
const run = promisify(execFile);
const HOOK = `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  process.stderr.write("loaded " + result.url + "\\n");
  return result;
}`;
const REGISTER = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`;

async function loadedBy(args: string[], cwd: string): Promise<string[]> {
  const { stderr } = await run(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(REGISTER)}`, BIN, ...args],
    { cwd, env: { ...process.env, HOME: cwd, TAHOE_NO_BUNDLE: "1" } },
  );
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("loaded "))
    .map((line) => line.slice("loaded ".length));
}

const HEAVY = [
  "/packages/config/",
  "/apps/node/",
  "/packages/control-tub/",
  "/packages/transport/",
  "/fastify",
  "/zod",
  "/undici",
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lafs-cli-lazy-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("verbs load their implementation only when they run", () => {
  it.each([["--version"], ["--help"], ["run", "--help"], ["logs", "--help"], ["grid", "--help"]])(
    "tahoe %s loads no package a verb needs",
    async (...args) => {
      const loaded = await loadedBy(args, dir);
      expect(loaded.some((url) => url.endsWith("/apps/cli/dist/main.js"))).toBe(true);
      expect(loaded.filter((url) => HEAVY.some((part) => url.includes(part)))).toEqual([]);
    },
  );
});
