// The model in the browser (browser.md), in Debian's Chromium on its WebGPU adapter (SwiftShader
// here): greedy generation from the bundled AnLLM-AC checkpoint gives the tokens and cache numbers
// `anllm generate --greedy --json` prints in Node for the same checkpoint and prompt, and the
// in-tab training gives the losses of @anllm/trainer's `train()` in Node for the same steps.
// Fails, not skips, when the browser offers no WebGPU adapter.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { getDevice } from "@anllm/tensor";
import { initNodeDevice } from "@anllm/tensor/node";
import type { BatchStream } from "@anllm/trainer";
import { train } from "@anllm/trainer/node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_MODEL, type CacheSummary, DEFAULT_PROMPT } from "../lib/browser-model";
import { type CorpusSlice, TAB_TRAINING, tabBatches, tabModel } from "../lib/tab-training";
import { launchChromium } from "./chromium";
import { distDir, docsRoot } from "./global-setup";
import { serveStatic } from "./static-server";

const repoRoot = join(docsRoot, "..", "..");
const MODEL_DIR = join(docsRoot, "public", BUNDLED_MODEL.dir);
const NEW_TOKENS = 24;
/**
 * Relative loss tolerance between the tab (SwiftShader) and Node (lavapipe or the machine's GPU):
 * the adapters round f32 sums differently and AdamW carries the differences from step to step
 * (results/browser-page.json records the largest difference of a run).
 */
const LOSS_TOLERANCE = 1e-4;

/** What `anllm generate --json` prints (the fields compared here). */
interface CliGenerate {
  tokens: number[];
  prompt: { tokens: number[] };
  cache: CacheSummary;
}

/** Runs the CLI in Node on the bundled checkpoint, as the page runs it (greedy, chunk size 1). */
function cliGenerate(attention: "anchor" | "full"): CliGenerate {
  const args = [
    "--silent",
    "anllm",
    "generate",
    "--model",
    MODEL_DIR,
    "--prompt",
    DEFAULT_PROMPT,
    "--max-new-tokens",
    String(NEW_TOKENS),
    "--greedy",
    "--chunk-size",
    "1",
    "--attention",
    attention,
    "--json",
  ];
  const r = spawnSync("pnpm", args, {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" },
  });
  expect(r.status, `anllm generate failed:\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as CliGenerate;
}

describe("the model in the browser (browser.md)", () => {
  let server: Awaited<ReturnType<typeof serveStatic>>;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  /** what the run measured, written to $BROWSER_RECORD_JSON (relative to apps/docs) when set */
  const record: Record<string, unknown> = {};
  /** paths of the JavaScript files the page loaded and ran */
  const scripts = new Set<string>();

  beforeAll(async () => {
    server = await serveStatic(distDir);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on("request", (r) => {
      const path = new URL(r.url()).pathname;
      // scripts the page runs (VitePress's link prefetches of other pages are not "script")
      if (path.endsWith(".js") && r.resourceType() === "script") scripts.add(path);
    });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    page.on("response", (r) => {
      if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    const res = await page.goto(`${server.url}/browser.html`, { waitUntil: "load" });
    expect(res?.status()).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    const out = process.env.BROWSER_RECORD_JSON;
    if (!out) return;
    const git = (...a: string[]) =>
      execFileSync("git", a, { cwd: repoRoot, encoding: "utf8" }).trim();
    const file = join(docsRoot, out);
    mkdirSync(dirname(file), { recursive: true });
    const head = {
      command: `cd apps/docs && pnpm run build && BROWSER_RECORD_JSON=${out} npx vitest run test/browser-model.test.ts`,
      commit: git("rev-parse", "--short", "HEAD"),
      dirty: git("status", "--porcelain", "--untracked-files=no") !== "",
      date: new Date().toISOString(),
    };
    writeFileSync(file, `${JSON.stringify({ ...head, ...record }, null, 2)}\n`);
  });

  it("the browser offers a WebGPU adapter (fails without one)", async () => {
    const adapter = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
      if (!gpu) return null;
      const a = await gpu.requestAdapter();
      return a ? { vendor: a.info.vendor, architecture: a.info.architecture } : null;
    });
    expect(adapter, "Chromium offers no WebGPU adapter (navigator.gpu / requestAdapter)").not.toBe(
      null,
    );
    record.browserAdapter = adapter;
  });

  it("generates the tokens and cache numbers `anllm generate --greedy --json` prints", async () => {
    await page.waitForSelector('[data-testid="browser-inference"][data-status="ready"]', {
      timeout: 120_000,
    });
    // the device the page ran on: WebGPU on the browser's adapter (SwiftShader without a GPU)
    const device = await page.getByTestId("device-info").textContent();
    expect(device).toMatch(/webgpu/);
    expect(await page.getByTestId("prompt").inputValue()).toBe(DEFAULT_PROMPT);
    await page.getByTestId("max-new").fill(String(NEW_TOKENS));
    const shown: Record<string, { tokens: number[]; cache: CacheSummary }> = {};
    for (const mode of ["full", "anchor"] as const) {
      await page.getByTestId(`cache-${mode}`).check();
      await page.getByTestId("generate").click();
      await page.waitForSelector(`[data-testid="run-${mode}"]`, { timeout: 300_000 });
      await page.waitForSelector('[data-testid="browser-inference"][data-status="done"]');
      const row = page.getByTestId(`run-${mode}`);
      shown[mode] = {
        tokens: ((await row.getAttribute("data-tokens")) ?? "").split(",").map(Number),
        cache: JSON.parse((await row.getAttribute("data-cache")) ?? "null") as CacheSummary,
      };
    }
    for (const mode of ["anchor", "full"] as const) {
      const cli = cliGenerate(mode);
      expect(cli.tokens).toHaveLength(NEW_TOKENS);
      expect(shown[mode]?.tokens, `${mode} cache: tokens`).toEqual(cli.tokens);
      expect(shown[mode]?.cache, `${mode} cache: cache statistics`).toEqual(cli.cache);
    }
    record.generation = {
      prompt: DEFAULT_PROMPT,
      newTokens: NEW_TOKENS,
      page: shown,
      msPerToken: {
        anchor: Number.parseFloat(
          (await page.getByTestId("ms-per-token-anchor").textContent()) ?? "",
        ),
        full: Number.parseFloat((await page.getByTestId("ms-per-token-full").textContent()) ?? ""),
      },
      equalToCli: true,
    };
    // the anchor cache really dropped rows: peak below the full cache (three <AC> in the prompt)
    expect(shown.anchor!.cache.peakEntries).toBeLessThan(shown.anchor!.cache.fullEntries);
    expect(shown.full!.cache.peakEntries).toBe(shown.full!.cache.fullEntries);
    // the live view shows the last step of the anchor run: its kept rows and the timeline
    const lastRow = await page.$eval(
      '[data-testid="cache-timeline"] g[data-step]:last-of-type',
      (g) => g.getAttribute("data-kept"),
    );
    const keptNow = Number(await page.getByTestId("cache-entries-now").textContent());
    expect(lastRow?.split(",").length).toBe(keptNow);
    expect(await page.getByTestId("output-ids").getAttribute("data-ids")).toBe(
      shown.anchor!.tokens.join(","),
    );
    if (process.env.BROWSER_SCREENSHOT) {
      await page.evaluate(() => window.scrollTo(0, 0));
      mkdirSync(dirname(process.env.BROWSER_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: process.env.BROWSER_SCREENSHOT, fullPage: true });
    }
    expect(consoleErrors).toEqual([]);
  });

  it("trains in the tab with the losses of train() in Node, decreasing", async () => {
    await page.getByTestId("train-start").click();
    await page.waitForSelector('[data-testid="train-in-tab"][data-status="done"]', {
      timeout: 300_000,
    });
    const tab = JSON.parse(
      (await page.getByTestId("train-losses").getAttribute("data-losses")) ?? "[]",
    ) as number[];
    expect(tab).toHaveLength(TAB_TRAINING.steps);

    const slice = JSON.parse(
      readFileSync(join(distDir, "corpus-slice.json"), "utf8"),
    ) as CorpusSlice;
    const dev = await initNodeDevice();
    expect(getDevice()).toBe(dev);
    const { model, tokenizer, anchors } = tabModel(TAB_TRAINING.seed);
    const batches = tabBatches(slice, tokenizer, anchors, TAB_TRAINING);
    let next = 0;
    const data: BatchStream<(typeof batches)[number]> = {
      async *iterate() {
        for (; next < batches.length; next++) yield batches[next]!;
      },
      cursor: () => next,
    };
    const res = await train({
      params: model.parameters(),
      loss: (b) => model.loss(b),
      data,
      steps: TAB_TRAINING.steps,
      schedule: TAB_TRAINING.schedule,
      optimizer: TAB_TRAINING.optimizer,
      maxGradNorm: TAB_TRAINING.maxGradNorm,
      seed: TAB_TRAINING.seed,
      progress: "none",
    });
    model.dispose();
    const node = res.history.map((m) => m.loss);
    const worst = Math.max(...tab.map((l, i) => Math.abs(l - node[i]!) / Math.max(1, node[i]!)));
    console.log(
      `in-tab training: losses ${tab[0]?.toFixed(4)} -> ${tab.at(-1)?.toFixed(4)}; largest relative difference to Node (${dev.name}): ${worst.toExponential(2)}`,
    );
    record.training = {
      options: TAB_TRAINING,
      tabLosses: tab,
      nodeLosses: node,
      nodeDevice: dev.name,
      largestRelativeDifference: worst,
      tolerance: LOSS_TOLERANCE,
    };
    expect(node).toHaveLength(TAB_TRAINING.steps);
    tab.forEach((l, i) => {
      expect(
        Math.abs(l - node[i]!),
        `step ${i + 1}: tab ${l}, Node ${node[i]} (${dev.name})`,
      ).toBeLessThan(LOSS_TOLERANCE * Math.max(1, Math.abs(node[i]!)));
    });
    // decreasing: the last five steps' mean is well below the first step's loss
    const tail = tab.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(tail).toBeLessThan(tab[0]! - 0.5);
    expect(consoleErrors).toEqual([]);
  });

  it("loads its JavaScript, model code included, without the weights: sizes reported", () => {
    const files = [...scripts].sort().map((path) => {
      const bytes = readFileSync(join(distDir, path));
      return { path, bytes: statSync(join(distDir, path)).size, gzipBytes: gzipSync(bytes).length };
    });
    // the model code came as its own chunks (loaded on demand), not with every page
    expect(files.some((f) => /browser-model\.[\w-]+\.js$/.test(f.path))).toBe(true);
    expect(files.some((f) => /tab-training\.[\w-]+\.js$/.test(f.path))).toBe(true);
    const total = files.reduce((a, f) => a + f.bytes, 0);
    const gzip = files.reduce((a, f) => a + f.gzipBytes, 0);
    console.log(
      `browser.html loaded ${files.length} JavaScript files: ${(total / 1024).toFixed(1)} KiB (${(gzip / 1024).toFixed(1)} KiB gzipped), weights not included`,
    );
    record.bundle = {
      page: "browser.html after loading the model, generating with both caches and training in the tab",
      totalBytes: total,
      totalGzipBytes: gzip,
      weightsExcluded: BUNDLED_MODEL.files.map((f) => `${BUNDLED_MODEL.dir}/${f}`),
      files,
    };
  });

  it("says what to enable when the browser has no WebGPU adapter", async () => {
    const plain = await launchChromium({ webgpu: false });
    try {
      const p = await plain.newPage();
      const errors: string[] = [];
      p.on("pageerror", (e) => errors.push(e.message));
      await p.goto(`${server.url}/browser.html`, { waitUntil: "load" });
      await p.waitForSelector('[data-testid="browser-inference"][data-status="error"]', {
        timeout: 60_000,
      });
      const msg = await p.getByTestId("error").textContent();
      expect(msg).toMatch(/^DeviceUnavailableError: This browser offers no WebGPU adapter/);
      expect(msg).toContain("--enable-unsafe-webgpu");
      expect(errors).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it("shows a lost device as a readable message on the page", async () => {
    const ctx = await browser.newContext();
    try {
      // keep the page's GPUDevice reachable so the test can destroy it (as a GPU reset would)
      await ctx.addInitScript(() => {
        const request = GPUAdapter.prototype.requestDevice;
        GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, d) {
          const dev = await request.call(this, d);
          (globalThis as { lastGpuDevice?: GPUDevice }).lastGpuDevice = dev;
          return dev;
        };
      });
      const p = await ctx.newPage();
      const errors: string[] = [];
      p.on("pageerror", (e) => errors.push(e.message));
      await p.goto(`${server.url}/browser.html`, { waitUntil: "load" });
      await p.waitForSelector('[data-testid="browser-inference"][data-status="ready"]', {
        timeout: 120_000,
      });
      await p.evaluate(() =>
        (globalThis as { lastGpuDevice?: GPUDevice }).lastGpuDevice?.destroy(),
      );
      await p.getByTestId("max-new").fill("2");
      await p.getByTestId("generate").click();
      await p.waitForSelector('[data-testid="browser-inference"][data-status="error"]', {
        timeout: 60_000,
      });
      expect(await p.getByTestId("error").textContent()).toMatch(
        /^DeviceLostError: WebGPU device lost \(destroyed\)/,
      );
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
