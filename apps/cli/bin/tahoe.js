#!/usr/bin/env node
// The `tahoe` binary: a thin launcher for the compiled CLI.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(
    "tahoe: this checkout is not built yet.\nRun `pnpm install` (or `pnpm build`) at the repository root.\n",
  );
  process.exit(1);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
