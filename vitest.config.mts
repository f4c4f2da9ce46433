import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup-pulumi.ts"],
    // The CLI tests spawn processes; a cold tsx compile can take a few seconds on 2 cores.
    testTimeout: 30_000,
  },
});
