#!/usr/bin/env node
// Runs turbo with telemetry and the update check switched off: turbo otherwise phones
// home, and nothing this project runs may reach beyond this machine or the registries.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const bin = require.resolve("turbo/bin/turbo");
const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: "1",
  DO_NOT_TRACK: "1",
  TURBO_NO_UPDATE_NOTIFIER: "1",
};
const result = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(result.status ?? 1);
