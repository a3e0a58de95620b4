import { defineConfig } from "vitest/config";

// One run over every package, so the summary line counts the whole project.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts", "tests/vitest.config.ts"],
    reporters: ["default", "./tools/vitest-summary.ts"],
    testTimeout: 20_000,
  },
});
