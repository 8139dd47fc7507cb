// Tests of the BUILT site (.vitepress/dist): no dead internal links; the build-time mask figure is
// right; and, in Debian's Chromium driven by Playwright, the interactive anchor-mask page shows the
// right tokens, mask and cache for a known sentence under AnLLM-EP and AnLLM-AC, with no console errors.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLinks } from "../lib/link-check";
import { policyResults } from "../lib/policy-results";
import { buildCharts, type ManifestEntry, parseDataFile } from "../lib/results";
import { launchChromium } from "./chromium";
import { distDir } from "./global-setup";
import { GOLDEN_MASK, ruleMask } from "./golden";
import { serveStatic } from "./static-server";

const GOLDEN_TEXT = "Hi there. Ok. I see. Yes";

describe("built site: links and build-time figures", () => {
  it("has no dead internal links", () => {
    const report = checkLinks(distDir);
    expect(report.pages).toBeGreaterThan(10);
    expect(report.links).toBeGreaterThan(100);
    expect(report.dead).toEqual([]);
  });

  it("renders the golden mask figure on the method page at build time", () => {
    const html = readFileSync(join(distDir, "guide", "method.html"), "utf8");
    const first = html.slice(html.indexOf('data-testid="mask-matrix"'));
    const cells = [...first.matchAll(/data-i="(\d+)" data-j="(\d+)" data-allowed="(\d)"/g)].slice(
      0,
      100,
    );
    expect(cells).toHaveLength(100);
    const rows = Array.from({ length: 10 }, () => new Array<string>(10).fill("?"));
    for (const [, i, j, v] of cells) rows[Number(i)]![Number(j)] = v!;
    expect(rows.map((r) => r.join(""))).toEqual(GOLDEN_MASK);
  });
});

/** Reads the mask the page shows, as row strings, from the SVG cells' data attributes. */
async function shownMask(page: Page): Promise<string[]> {
  return page.$$eval(
    '[data-testid="anchor-playground"] [data-testid="mask-matrix"] rect',
    (rects) => {
      const n = Math.round(Math.sqrt(rects.length));
      const rows = Array.from({ length: n }, () => new Array<string>(n).fill("?"));
      for (const r of rects) {
        rows[Number(r.getAttribute("data-i"))]![Number(r.getAttribute("data-j"))] =
          r.getAttribute("data-allowed") ?? "?";
      }
      return rows.map((row) => row.join(""));
    },
  );
}

async function shownTokens(page: Page): Promise<{ text: string; anchor: boolean }[]> {
  return page.$$eval('[data-testid="tokens"] li', (lis) =>
    lis.map((li) => ({
      text: li.querySelector(".piece")?.textContent ?? "",
      anchor: li.getAttribute("data-anchor") === "1",
    })),
  );
}

async function keptAfterLast(page: Page): Promise<string | null> {
  return page.$eval('[data-testid="cache-timeline"] g[data-step]:last-of-type', (g) =>
    g.getAttribute("data-kept"),
  );
}

describe("built site in Chromium", () => {
  let server: Awaited<ReturnType<typeof serveStatic>>;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    server = await serveStatic(distDir);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    page.on("requestfailed", (r) => {
      // Prefetches cut short by the next navigation are aborted, not broken.
      if (r.failure()?.errorText !== "net::ERR_ABORTED") {
        consoleErrors.push(`${page.url()}: request failed ${r.url()} (${r.failure()?.errorText})`);
      }
    });
    page.on("response", (r) => {
      if (r.status() >= 400) consoleErrors.push(`${page.url()}: HTTP ${r.status()} for ${r.url()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string): Promise<void> {
    const res = await page.goto(`${server.url}${path}`, { waitUntil: "load" });
    expect(res?.status(), path).toBe(200);
    // Wait for VitePress to hydrate (the Vue app is mounted on #app).
    await page.waitForFunction(() => {
      const app = document.querySelector("#app") as (Element & { __vue_app__?: unknown }) | null;
      return app?.__vue_app__ !== undefined;
    });
  }

  it("AnLLM-EP: the golden sentence gives the golden mask, anchors and cache", async () => {
    await open("/playground.html");
    await page.getByTestId("strategy-ep").check();
    await page.getByTestId("mask-input").fill(GOLDEN_TEXT);
    await page.waitForSelector(
      '[data-testid="anchor-playground"] [data-testid="mask-matrix"][data-n="10"]',
    );
    const tokens = await shownTokens(page);
    expect(tokens.map((t) => t.text)).toEqual([
      "<s>",
      "Hi",
      "▁there",
      ".",
      "▁Ok",
      ".",
      "▁I",
      "▁see",
      ".",
      "▁Yes",
    ]);
    expect(tokens.flatMap((t, i) => (t.anchor ? [i] : []))).toEqual([3, 5, 8]);
    expect(await shownMask(page)).toEqual(GOLDEN_MASK);
    expect(await keptAfterLast(page)).toBe("3,5,8,9");
    if (process.env.DOCS_SCREENSHOT) {
      await page.screenshot({ path: process.env.DOCS_SCREENSHOT, fullPage: true });
    }
  });

  it("AnLLM-AC: <AC> after every sentence; the mask follows the rule", async () => {
    await page.getByTestId("strategy-ac").check();
    await page.waitForSelector(
      '[data-testid="anchor-playground"] [data-testid="mask-matrix"][data-n="14"]',
    );
    const tokens = await shownTokens(page);
    expect(tokens.map((t) => t.text)).toEqual([
      "<s>",
      "Hi",
      "▁there",
      ".",
      "<AC>",
      "▁Ok",
      ".",
      "<AC>",
      "▁I",
      "▁see",
      ".",
      "<AC>",
      "▁Yes",
      "<AC>",
    ]);
    const flags = tokens.map((t) => (t.anchor ? 1 : 0));
    expect(flags.flatMap((a, i) => (a ? [i] : []))).toEqual([4, 7, 11, 13]);
    expect(await shownMask(page)).toEqual(ruleMask(flags));
    expect(await keptAfterLast(page)).toBe("4,7,11,13");
  });

  it("Llama-2 tokenizer (loaded on demand): real pieces, the golden EP mask, AC by the rule", async () => {
    await page.getByTestId("tokenizer-llama2").check();
    await page.getByTestId("strategy-ep").check();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="tokens"] li .id')?.textContent === "1" &&
        document.querySelector('[data-testid="tokens"] li:nth-child(2) .piece')?.textContent ===
          "▁Hi",
    );
    const tokens = await shownTokens(page);
    expect(tokens.map((t) => t.text)).toEqual([
      "<s>",
      "▁Hi",
      "▁there",
      ".",
      "▁Ok",
      ".",
      "▁I",
      "▁see",
      ".",
      "▁Yes",
    ]);
    expect(await shownMask(page)).toEqual(GOLDEN_MASK);
    await page.getByTestId("strategy-ac").check();
    await page.waitForSelector(
      '[data-testid="anchor-playground"] [data-testid="mask-matrix"][data-n="14"]',
    );
    const ac = await shownTokens(page);
    expect(ac.filter((t) => t.anchor).map((t) => t.text)).toEqual(["<AC>", "<AC>", "<AC>", "<AC>"]);
    expect(await shownMask(page)).toEqual(ruleMask(ac.map((t) => (t.anchor ? 1 : 0))));
  });

  it("draws one chart per kind of result data in data/, with one line per series", async () => {
    const dataDir = join(distDir, "..", "..", "data");
    const manifest = existsSync(join(dataDir, "manifest.json"))
      ? (JSON.parse(readFileSync(join(dataDir, "manifest.json"), "utf8")) as ManifestEntry[])
      : [];
    const files = manifest.map((m) =>
      parseDataFile(m.file, readFileSync(join(dataDir, m.file), "utf8")),
    );
    // the general charts, then the cache-policy section's (lib/policy-results.ts)
    const expected = [...buildCharts(manifest, files), ...policyResults(manifest, files).charts];
    await open("/results.html");
    const shown = await page.$$eval("[data-chart]", (figs) =>
      figs.map((f) => ({
        id: f.getAttribute("data-chart"),
        lines: f.querySelectorAll("path").length,
      })),
    );
    expect(shown).toEqual(expected.map((c) => ({ id: c.id, lines: c.series.length })));
  });

  it("loads every guide, package, reference and results page with no console errors", async () => {
    const pages = readdirSync(distDir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".html") && f !== "404.html")
      .filter((f) => !f.startsWith("api/") || f === "api/index.html")
      .map((f) => `/${f.split("\\").join("/")}`);
    expect(pages.length).toBeGreaterThan(12);
    for (const path of pages) await open(path);
    expect(consoleErrors).toEqual([]);
  });
});
