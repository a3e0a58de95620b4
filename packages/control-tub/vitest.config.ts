import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "control-tub", include: ["test/**/*.test.ts"], testTimeout: 20_000 },
});
