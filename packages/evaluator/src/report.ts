// Reports: Markdown tables mirroring the paper (Table 1: task accuracies, Avg, C, T; perplexity by
// length; cache experiment) and writeReport, which writes report.json / report.md / ppl.svg
// atomically.
import { join } from "node:path";
import { atomicWrite, makeDirs } from "@anllm/tensor/io";
import type { CacheBenchRow } from "./cache-bench";
import type { PerplexityResult } from "./perplexity";
import { type PplSeries, pplPlotSvg } from "./plot";
import type { QaSuiteResult } from "./qa-suite";
import { TASK_NAMES, type TaskName } from "./qa-tasks";

/** Column headers as in the paper's Table 1. */
export const TASK_LABELS: Record<TaskName, string> = {
  openbookqa: "OBQA",
  winogrande: "WG",
  arc_easy: "ARC-e",
  arc_challenge: "ARC-c",
  piqa: "PIQA",
  hellaswag: "HS",
  sciq: "SciQ",
  boolq: "BoolQ",
};

const pct = (x: number | undefined) =>
  x === undefined || Number.isNaN(x) ? "–" : (100 * x).toFixed(1);
const times = (x: number | undefined) => (x === undefined ? "–" : `${x.toFixed(2)}x`);

/** A labelled QA run (one table row), e.g. { label: "AnLLM-AC AnSAN", result }. */
export interface QaRow {
  label: string;
  result: QaSuiteResult;
}

/**
 * Table 1 layout: one row per run, one column per task (acc, or acc_norm where the task has it when
 * `metric` is "acc_norm"), Avg, C (cache reduction, %) and T (speed-up vs no cache; vs full cache).
 */
export function qaMarkdownTable(
  rows: readonly QaRow[],
  metric: "acc" | "acc_norm" = "acc",
): string {
  const tasks = TASK_NAMES.filter((t) =>
    rows.some((r) => r.result.results.some((x) => x.task === t)),
  );
  const head = [
    "Model",
    "Shots",
    ...tasks.map((t) => TASK_LABELS[t]),
    "Avg",
    "C (%)",
    "T (no cache)",
    "T (full cache)",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const { label, result } of rows) {
    const cells = tasks.map((t) => {
      const r = result.results.find((x) => x.task === t);
      if (!r) return "–";
      return pct((metric === "acc_norm" ? (r.accNorm ?? r.acc) : r.acc).mean);
    });
    const avg = metric === "acc_norm" ? result.average.accNormOrAcc : result.average.acc;
    const a = result.average;
    lines.push(
      `| ${[label, String(result.numFewshot), ...cells, pct(avg), pct(a.C), times(a.tNoCache), times(a.tFullCache)].join(" | ")} |`,
    );
  }
  lines.push(
    "",
    `Metric: ${metric}${metric === "acc_norm" ? " (acc for WG and BoolQ)" : ""}. C = 1 - peak kept K/V entries / full entries, per document, averaged. T = baseline time / anchor-cache time, measured in the same run.`,
  );
  return lines.join("\n");
}

/** Per-task detail of one run: n, acc ± stderr, acc_norm ± stderr, C, both T, mask check. */
export function qaTaskTable(result: QaSuiteResult): string {
  const pm = (m: { mean: number; stderr: number } | undefined) =>
    m ? `${pct(m.mean)} ± ${pct(m.stderr)}` : "–";
  const head = [
    "Task",
    "n",
    "Acc",
    "Acc norm",
    "C (%)",
    "C bytes (%)",
    "T (no cache)",
    "T (full cache)",
    "max abs Δll vs mask",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of result.results) {
    const cells = [
      TASK_LABELS[r.task],
      String(r.n),
      pm(r.acc),
      pm(r.accNorm),
      pct(r.cache?.C),
      pct(r.cache?.Cbytes),
    ];
    cells.push(
      times(r.speed?.tNoCache),
      times(r.speed?.tFullCache),
      r.maskCheck ? r.maskCheck.maxAbsDiff.toExponential(1) : "–",
    );
    lines.push(`| ${cells.join(" | ")} |`);
  }
  const a = result.average;
  lines.push(
    `| Avg | | ${pct(a.acc)} | ${pct(a.accNormOrAcc)} | ${pct(a.C)} | | ${times(a.tNoCache)} | ${times(a.tFullCache)} | |`,
  );
  return lines.join("\n");
}

/** Perplexity table: one row per series, one column per context length. */
export function pplMarkdownTable(series: readonly PplSeries[]): string {
  const lengths = [...new Set(series.flatMap((s) => s.results.map((r) => r.length)))].sort(
    (a, b) => a - b,
  );
  const head = ["Model", "Attention", ...lengths.map(String)];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const s of series) {
    const byLen = new Map<number, PerplexityResult>(s.results.map((r) => [r.length, r]));
    const cells = lengths.map((l) => (byLen.has(l) ? byLen.get(l)!.ppl.toFixed(2) : "–"));
    lines.push(`| ${[s.label, s.results[0]?.attention ?? "–", ...cells].join(" | ")} |`);
  }
  lines.push(
    "",
    "PPL = exp(mean over windows of the mean loss of the L-1 predictions of each window).",
  );
  return lines.join("\n");
}

/** Cache experiment table: C, bytes, times and T per prompt length. */
export function cacheMarkdownTable(rows: readonly CacheBenchRow[]): string {
  const head = [
    "Prompt",
    "New",
    "Peak kept",
    "Full",
    "C (%)",
    "C bytes (%)",
    "Anchor ms",
    "Full-cache ms",
    "No-cache ms",
    "T (no cache)",
    "T (full cache)",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    lines.push(
      `| ${[r.promptLength, r.meanNewTokens.toFixed(0), r.meanPeakEntries.toFixed(0), r.meanFullEntries.toFixed(0), pct(r.C), pct(r.Cbytes), r.anchorMs.toFixed(0), r.fullCacheMs.toFixed(0), r.noCacheMs?.toFixed(0) ?? "–", times(r.tNoCache), times(r.tFullCache)].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}

/** Everything a report may contain. */
export interface EvalReport {
  qa?: QaRow[];
  qaMetric?: "acc" | "acc_norm";
  perplexity?: PplSeries[];
  cache?: CacheBenchRow[];
  meta?: Record<string, unknown>;
}

/** Writes report.json, report.md and (with perplexity data) ppl.svg into `dir`; returns the paths. */
export async function writeReport(dir: string, report: EvalReport): Promise<string[]> {
  makeDirs(dir);
  const md: string[] = ["# anllm evaluation report", ""];
  if (report.qa?.length) {
    md.push("## Multiple-choice QA", "", qaMarkdownTable(report.qa, report.qaMetric), "");
    for (const row of report.qa) {
      const r = row.result;
      md.push(`### ${row.label} (${r.numFewshot}-shot, ${r.attention})`, "", qaTaskTable(r), "");
    }
  }
  if (report.perplexity?.length)
    md.push(
      "## Perplexity",
      "",
      pplMarkdownTable(report.perplexity),
      "",
      "![perplexity vs length](ppl.svg)",
      "",
    );
  if (report.cache?.length)
    md.push("## K/V cache reduction and speed-up", "", cacheMarkdownTable(report.cache), "");
  const paths = [join(dir, "report.json"), join(dir, "report.md")];
  await atomicWrite(paths[0]!, `${JSON.stringify(report, null, 2)}\n`);
  await atomicWrite(paths[1]!, `${md.join("\n")}\n`);
  if (report.perplexity?.length) {
    paths.push(join(dir, "ppl.svg"));
    await atomicWrite(paths[2]!, await pplPlotSvg(report.perplexity));
  }
  return paths;
}
