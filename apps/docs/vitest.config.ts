// Tests of the docs site: unit tests of lib/, the dead-link check over the built site and the
// browser test (Playwright + Debian's Chromium). Settings come from the shared workspace config.
import { defineConfig } from "vitest/config";
import { sharedConfig } from "../../vitest.shared";

export default defineConfig({
  ...sharedConfig,
  test: { ...sharedConfig.test, globalSetup: ["./test/global-setup.ts"] },
});
