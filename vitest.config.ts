import { defineConfig } from "vitest/config";

// One run over every package, so the summary line counts the whole project. Each project sets
// its own timeouts (20 s per test: real processes on a loaded 2-core machine).
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts", "tests/vitest.config.ts"],
    reporters: ["default", "./tools/vitest-summary.ts"],
  },
});
