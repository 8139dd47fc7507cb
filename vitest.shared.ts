// Shared vitest settings: every package's vitest.config.ts spreads this, so all packages resolve
// workspace deps from source (the "@anllm/source" condition) and write test-results.json for the
// summary line that scripts/test-summary.mjs prints.
import { configDefaults, defineConfig } from "vitest/config";

export const sharedConfig = defineConfig({
  resolve: { conditions: ["@anllm/source"] },
  ssr: { resolve: { conditions: ["@anllm/source"] } },
  test: {
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    exclude: [...configDefaults.exclude, "**/dist/**"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results.json" },
  },
});
