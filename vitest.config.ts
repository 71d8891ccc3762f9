import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers and processes; two cores do not take more at once.
    fileParallelism: true,
    maxWorkers: 2,
    pool: "forks",
  },
});
