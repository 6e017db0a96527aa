import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["sdk/**/*.test.ts", "worker/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // One file at a time by default: the multi-process tests pick loopback ports before their
    // children bind them, and two files doing that at once collided (EADDRINUSE) once in three runs.
    maxWorkers: Number(process.env.VITEST_WORKERS ?? 1),
  },
});
