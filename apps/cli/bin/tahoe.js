#!/usr/bin/env node
// The `tahoe` binary: a thin launcher for the compiled CLI.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/main.js", import.meta.url);
const bundle = new URL("../dist/bundle/main.js", import.meta.url);
const bundleInputs = new URL("../dist/bundle/inputs.json", import.meta.url);

/**
 * The bundle (scripts/bundle.mjs, part of the build) starts several times faster, but a package
 * rebuilt on its own since would not be in it: then the modules themselves run, never stale code.
 * TAHOE_NO_BUNDLE=1 runs the modules too (stack traces then name the original files).
 */
function bundleIsFresh() {
  if (process.env.TAHOE_NO_BUNDLE === "1") return false;
  try {
    const inputs = JSON.parse(readFileSync(bundleInputs, "utf8"));
    const cliDir = new URL("../", import.meta.url);
    return inputs.every(([path, mtimeMs, sha256]) => {
      const file = new URL(path, cliDir);
      if (statSync(file).mtimeMs <= mtimeMs) return true;
      // Rewritten since (tsc -b, a turbo cache restore): fresh only if the bytes are the same.
      return createHash("sha256").update(readFileSync(file)).digest("base64") === sha256;
    });
  } catch {
    return false;
  }
}

if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(
    "tahoe: this checkout is not built yet.\nRun `pnpm install` (or `pnpm build`) at the repository root.\n",
  );
  process.exit(1);
}
const { runCli } = await import((bundleIsFresh() ? bundle : main).href);
process.exitCode = await runCli(process.argv.slice(2));
