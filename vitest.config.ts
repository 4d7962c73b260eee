import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**"],
    setupFiles: ["./vitest.setup.ts"],
    // Property suites are CPU-bound; two cores here, so run files in parallel forks.
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
