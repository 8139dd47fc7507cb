// Debian's Chromium for the browser tests (installed by scripts/setup-system.sh), headless, with
// WebGPU enabled: without a GPU it runs on Chromium's bundled SwiftShader Vulkan adapter.
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { expect } from "vitest";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--enable-unsafe-webgpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches the Chromium of the tests; fails (not skips) when it is not installed. `webgpu: false`
 * leaves out --enable-unsafe-webgpu: Chromium on Linux then offers no adapter.
 */
export async function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  expect(existsSync(CHROMIUM), `${CHROMIUM} missing: run scripts/setup-system.sh as root`).toBe(
    true,
  );
  const args =
    opts.webgpu === false
      ? CHROMIUM_ARGS.filter((a) => a !== "--enable-unsafe-webgpu")
      : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: CHROMIUM, args });
}
