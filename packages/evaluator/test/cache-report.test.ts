// Cache experiment (C and T with both baselines) on the reference model, and the report writers
// (Table-1 Markdown, perplexity table, SVG plot, JSON).
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildLongPrompt, runCacheBench } from "../src/cache-bench";
import { summarizeUsage } from "../src/metrics";
import type { PerplexityResult } from "../src/perplexity";
import { pplPlotSvg } from "../src/plot";
import type { TaskResult } from "../src/qa-eval";
import { averageResults } from "../src/qa-suite";
import { pplMarkdownTable, qaMarkdownTable, qaTaskTable, writeReport } from "../src/report";
import { VisibleCountScorer } from "../src/visible-count-scorer";
import { ids } from "./helpers";

describe("cache reduction C", () => {
  it("is 1 - peak/full per sample, averaged; a sample's peak is its worst run", () => {
    const u = (p: number, f: number) => ({
      peakEntries: p,
      fullEntries: f,
      peakBytes: 4 * p,
      fullBytes: 4 * f,
    });
    const r = summarizeUsage([[u(10, 100), u(20, 100)], [u(50, 100)]]);
    expect(r.C).toBeCloseTo((0.8 + 0.5) / 2, 12);
    expect(r.Cbytes).toBeCloseTo(r.C, 12);
    expect(r.meanPeakEntries).toBe(35);
  });
});

describe("runCacheBench", () => {
  it("builds exact-length prompts cycling sentences, with optional appended anchors", () => {
    const s = [ids(5, 6, 9), ids(7, 9)];
    expect([...buildLongPrompt(s, 7)]).toEqual([5, 6, 9, 7, 9, 5, 6]);
    expect([...buildLongPrompt(s, 6, 1, 3, 1)]).toEqual([1, 7, 9, 3, 5, 6]);
  });

  it("reduces the cache by >90% on a 2k prompt of ~20-token sentences and times both baselines", async () => {
    const scorer = new VisibleCountScorer({ vocabSize: 64, maxLength: 4096 });
    const ANCHOR = 63;
    // 20-token sentences: 19 content tokens + the anchor
    const sentences = Array.from({ length: 13 }, (_, k) =>
      Int32Array.from({ length: 20 }, (_, i) => (i === 19 ? ANCHOR : (k * 5 + i) % 60)),
    );
    const rows = await runCacheBench({
      scorer,
      sentences,
      anchorIds: [ANCHOR],
      promptLengths: [512, 2048],
      maxNewTokens: 8,
      chunkSize: 32,
    });
    expect(rows.map((r) => r.promptLength)).toEqual([512, 2048]);
    const r = rows[1]!;
    // peak = anchors (102) + open segment (<= 19) + chunk (<= 32); full = 2048 + 7 generated entries
    expect(r.meanFullEntries).toBe(2048 + 7);
    expect(r.meanPeakEntries).toBeLessThanOrEqual(102 + 19 + 32);
    expect(r.C).toBeGreaterThan(0.9);
    expect(r.tNoCache).toBeCloseTo(r.noCacheMs! / r.anchorMs, 9);
    expect(r.tFullCache).toBeCloseTo(r.fullCacheMs / r.anchorMs, 9);
    expect(r.baselinesAgree).toBe(1);
    expect(rows[0]!.C).toBeLessThan(r.C);
  });

  it("times the anchor and full cache `repeats` times and the no-cache baseline `noCacheRepeats` times", async () => {
    const scorer = new VisibleCountScorer({ vocabSize: 64, maxLength: 512 });
    const calls: string[] = [];
    const generate = scorer.generate.bind(scorer);
    scorer.generate = (prompts, opts) => {
      calls.push(`${opts.cache}:${prompts[0]!.length}`);
      return generate(prompts, opts);
    };
    const sentences = [Int32Array.from([1, 2, 3, 63])];
    await runCacheBench({
      scorer,
      sentences,
      anchorIds: [63],
      promptLengths: [128],
      maxNewTokens: 2,
      repeats: 3,
      noCacheRepeats: 1,
    });
    const timed = calls.filter((c) => c.endsWith(":128"));
    expect(timed.filter((c) => c.startsWith("anchor"))).toHaveLength(3);
    expect(timed.filter((c) => c.startsWith("full"))).toHaveLength(3);
    expect(timed.filter((c) => c.startsWith("none"))).toHaveLength(1);
  });
});

const ppl = (
  length: number,
  v: number,
  attention: "causal" | "anchor" = "causal",
): PerplexityResult => ({
  length,
  ppl: v,
  pplLongLoRA: v,
  loss: Math.log(v),
  windows: 3,
  attention,
  tokenAccuracy: 0.5,
  timeMs: 1,
});

describe("reports", () => {
  const task = (t: TaskResult["task"], acc: number, accNorm?: number, C?: number): TaskResult => ({
    task: t,
    n: 10,
    numFewshot: 0,
    attention: C === undefined ? "full" : "anchor",
    inference: C === undefined ? "recompute" : "cache",
    acc: { mean: acc, stderr: 0 },
    ...(accNorm !== undefined ? { accNorm: { mean: accNorm, stderr: 0 } } : {}),
    truncatedRequests: 0,
    timeMs: 1,
    docs: [],
    ...(C !== undefined
      ? {
          cache: {
            C,
            Cbytes: C,
            meanPeakEntries: 1,
            meanFullEntries: 2,
            meanPeakBytes: 1,
            meanFullBytes: 2,
            samples: 10,
          },
          speed: {
            docs: 10,
            anchorCacheMs: 1,
            noCacheMs: 3,
            fullCacheMs: 1.5,
            tNoCache: 3,
            tFullCache: 1.5,
          },
        }
      : {}),
  });

  it("Table 1 markdown: per-task accuracy, Avg, C and T", () => {
    const full = [task("openbookqa", 0.5, 0.6), task("boolq", 0.7)];
    const ansan = [task("openbookqa", 0.4, 0.5, 0.9), task("boolq", 0.6, undefined, 0.8)];
    const md = qaMarkdownTable([
      {
        label: "base",
        result: {
          model: "m",
          numFewshot: 0,
          attention: "full",
          results: full,
          average: averageResults(full),
        },
      },
      {
        label: "AnSAN",
        result: {
          model: "m",
          numFewshot: 0,
          attention: "anchor",
          results: ansan,
          average: averageResults(ansan),
        },
      },
    ]);
    const lines = md.split("\n");
    expect(lines[0]).toBe(
      "| Model | Shots | OBQA | BoolQ | Avg | C (%) | T (no cache) | T (full cache) |",
    );
    expect(lines[2]).toBe("| base | 0 | 50.0 | 70.0 | 60.0 | – | – | – |");
    expect(lines[3]).toBe("| AnSAN | 0 | 40.0 | 60.0 | 50.0 | 85.0 | 3.00x | 1.50x |");
    expect(
      qaMarkdownTable(
        [
          {
            label: "AnSAN",
            result: {
              model: "m",
              numFewshot: 0,
              attention: "anchor",
              results: ansan,
              average: averageResults(ansan),
            },
          },
        ],
        "acc_norm",
      ).split("\n")[2],
    ).toContain("| 50.0 | 60.0 | 55.0 |");
  });

  it("per-task table with stderr, C, T and the mask check", () => {
    const ansan = [task("openbookqa", 0.4, 0.5, 0.9)];
    const md = qaTaskTable({
      model: "m",
      numFewshot: 5,
      attention: "anchor",
      results: ansan,
      average: averageResults(ansan),
    });
    expect(md.split("\n")[2]).toBe(
      "| OBQA | 10 | 40.0 ± 0.0 | 50.0 ± 0.0 | 90.0 | 90.0 | 3.00x | 1.50x | – |",
    );
  });

  it("perplexity table and SVG plot", async () => {
    const series = [
      { label: "base", results: [ppl(256, 9.5), ppl(512, 8.25)] },
      { label: "AnLLM-AC", results: [ppl(256, 9.75, "anchor")] },
    ];
    const md = pplMarkdownTable(series).split("\n");
    expect(md[0]).toBe("| Model | Attention | 256 | 512 |");
    expect(md[3]).toBe("| AnLLM-AC | anchor | 9.75 | – |");
    const svg = await pplPlotSvg(series);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("AnLLM-AC");
    expect(svg).toContain("context length (tokens)");
    expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(2);
  });

  it("writeReport writes JSON, Markdown and the plot", async () => {
    const dir = await mkdtemp(join(tmpdir(), "anllm-report-"));
    const paths = await writeReport(dir, {
      perplexity: [{ label: "base", results: [ppl(256, 9.5)] }],
      meta: { seed: 1 },
    });
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual([
      "report.json",
      "report.md",
      "ppl.svg",
    ]);
    expect(JSON.parse(await readFile(paths[0]!, "utf8")).meta.seed).toBe(1);
    expect(await readFile(paths[1]!, "utf8")).toContain("| base | causal | 9.50 |");
  });
});
