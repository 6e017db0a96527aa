import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["sdk/**/*.test.ts", "worker/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two files at a time (the machine has 2 cores; VITEST_WORKERS overrides). Multi-process tests
    // may run side by side because stage processes listen on port 0 and pass on the address they
    // got, and ports a test must fix come from below the ephemeral range (test/lib/ports.ts).
    maxWorkers: Number(process.env.VITEST_WORKERS ?? 2),
  },
});
