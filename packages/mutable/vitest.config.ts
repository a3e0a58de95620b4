import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "mutable", include: ["test/**/*.test.ts"], testTimeout: 30_000 },
});
