// summary.json of the continual demo (base vs AnLLM-AC) and its table, as printed.

import { join } from "node:path";
import type { CacheBenchRow, PerplexityResult } from "@anllm/evaluator";
import type { GenerateResult } from "@anllm/llama2-model";
import type { Device } from "@anllm/tensor";
import type { BaseProvenance } from "../wiring/base-model";
import type { TrainingRun } from "../wiring/run-training";
import type { ContinualOptions } from "./demo-continual";
import { cacheExperimentJson } from "./demo-summary";

/** Timed runs of the anchor and full cache in the cache experiment (the median is reported). */
export const CACHE_REPEATS = 3;

/** Everything the summary is built from. */
export interface ContinualResults {
  o: ContinualOptions;
  device: Device;
  provenance: BaseProvenance | null;
  base: {
    full: PerplexityResult[];
    text: string;
    sample: GenerateResult;
    info: { parameters: number; vocabSize: number; tokenizer: string };
    sec: number;
  };
  step0: { anchor: PerplexityResult[]; sec: number };
  run: TrainingRun;
  trainSec: number;
  ac: {
    full: PerplexityResult[];
    anchor: PerplexityResult[];
    text: string;
    sample: GenerateResult;
    cache: CacheBenchRow | null;
  };
  plot: string;
  wallSec: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function cacheOf(g: GenerateResult) {
  const peak = g.stats.peakEntries[0] ?? 0;
  const full = g.stats.fullEntries[0] ?? 0;
  return { peakEntries: peak, fullEntries: full, reduction: full > 0 ? 1 - peak / full : 0 };
}

/** The content of summary.json (and of `anllm demo --json`). */
export function continualSummary(r: ContinualResults) {
  const { o, run } = r;
  const l = run.loaded;
  const losses = run.metrics.map((m) => m.loss);
  const k = Math.min(10, Math.max(1, Math.floor(losses.length / 4)));
  const byLength = o.protocol.lengths.map((length, i) => {
    const base = r.base.full[i]!.ppl;
    const acFull = r.ac.full[i]!.ppl;
    return {
      length,
      baseFull: base,
      acFull,
      acAnchor: r.ac.anchor[i]!.ppl,
      acAnchorBeforeTraining: r.step0.anchor[i]!.ppl,
      ratioAcFullToBase: acFull / base,
      windows: r.base.full[i]!.windows,
    };
  });
  const worst = Math.max(...byLength.map((x) => x.ratioAcFullToBase));
  const c = r.ac.cache;
  const acSample = Array.from(r.ac.sample.tokens[0]!);
  return {
    ok: true,
    mode: "continual",
    out: o.out,
    device: { kind: r.device.kind, name: r.device.name },
    base: {
      dir: o.base,
      ...r.base.info,
      trainedBy: r.provenance?.command ?? null,
      recordedHeldout: r.provenance?.heldout.results ?? null,
    },
    model: {
      anchor: l.anchorMode,
      anchorIds: l.anchors.ids,
      acInit: o.cfg.acInit,
      vocabSize: l.model.config.vocabSize,
      tokenizer: l.tokenizer.name,
    },
    training: {
      kind: "continual pre-training of the base with the AC anchor mask",
      steps: run.result.step,
      stopReason: run.result.stopReason === "aborted" ? "time-budget" : run.result.stopReason,
      batchSize: o.cfg.batchSize,
      seqLen: o.cfg.seqLen,
      packing: o.cfg.mode === "pack",
      // documents per shuffle block of the training stream (the loader's default when null)
      shuffleBlock: o.cfg.shuffleBlock ?? null,
      lr: o.cfg.lr,
      schedule: `constant after ${o.cfg.warmup} warm-up steps`,
      tokens: run.metrics.at(-1)?.totalTokens ?? 0,
      // step 1's loss is the model before any update (the <AC> rows untrained); later batches mix
      // books, web and wiki text and differ in difficulty, so first/last means move with them
      lossFirstStep: losses[0] ?? Number.NaN,
      lossStart: mean(losses.slice(0, k)),
      lossEnd: mean(losses.slice(-k)),
      averagedOver: k,
      // the training objective on held-out text (anchor mask, original tokens), before and after:
      // unlike the per-batch training loss it does not move with the batches' difficulty
      heldoutAnchorLoss: {
        length: o.protocol.lengths.at(-1)!,
        before: r.step0.anchor.at(-1)!.loss,
        after: r.ac.anchor.at(-1)!.loss,
      },
      tokensPerSec: mean(run.metrics.slice(1).map((m) => m.tokensPerSec)),
      wallSec: r.trainSec,
    },
    perplexity: {
      data: "embedded held-out split",
      protocol: `${o.protocol.maxWindows} windows per length, stride ${o.protocol.stride}, PPL = exp(mean window loss)`,
      fullAttention: "plain text, the same windows for both models",
      anchorMask:
        "text with <AC> after every sentence; only the original tokens' predictions scored",
      byLength,
      claim: {
        statement: `AnLLM-AC's full-attention perplexity stays within ${o.maxRatio}x of the base's at every context length`,
        maxRatio: o.maxRatio,
        worstRatio: worst,
        holds: worst <= o.maxRatio,
      },
    },
    samples: {
      prompt: o.promptText,
      base: { cache: "full", text: r.base.text, ...cacheOf(r.base.sample) },
      ac: {
        cache: "anchor",
        text: l.tokenizer.decode(acSample),
        ...cacheOf(r.ac.sample),
      },
    },
    cacheExperiment: c && {
      model: "AnLLM-AC",
      ...cacheExperimentJson(c),
      timing: `median of ${CACHE_REPEATS} runs of the anchor and the full cache, one no-cache run, after a warm-up`,
      note: `up to ${c.promptLength + c.meanNewTokens} positions; base and AnLLM-AC were trained on rows of ${o.cfg.seqLen} tokens, so this measures cache size and time, not quality`,
    },
    files: {
      checkpoint: run.result.checkpointDir,
      metrics: join(o.out, "metrics.jsonl"),
      lossCurve: join(o.out, "loss-curve.svg"),
      perplexityPlot: r.plot,
      summary: join(o.out, "summary.json"),
    },
    timings: { baseEvalSec: r.base.sec, beforeTrainingEvalSec: r.step0.sec, trainSec: r.trainSec },
    wallSec: r.wallSec,
  };
}

/** summary.json's shape in continual mode. */
export type ContinualSummary = ReturnType<typeof continualSummary>;

const f2 = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(2));
const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`;

function table(rows: string[][]): string[] {
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  return rows.map((r) =>
    r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join("  "),
  );
}

/** The summary as a readable side-by-side table. */
export function continualTable(s: ContinualSummary): string {
  const t = s.training;
  const p = s.perplexity;
  const c = s.cacheExperiment;
  const lengths = p.byLength.map((x) => `L=${x.length}`);
  return [
    `AnLLM demo: continual pre-training of a pre-trained base with the AC anchor mask, on ${s.device.kind} (${s.device.name})`,
    `base: ${s.base.dir} (${(s.base.parameters / 1e6).toFixed(2)}M parameters, full attention, ${s.base.tokenizer})`,
    `continual pre-training: <AC> added (${s.model.acInit} embedding, id ${s.model.anchorIds.join(",")}), ${t.steps} steps (${t.stopReason}), ${t.tokens} tokens, ` +
      `lr ${t.lr} ${t.schedule}, ${t.tokensPerSec.toFixed(0)} tokens/s, ${t.wallSec.toFixed(1)} s`,
    `  held-out loss with the anchor mask at L=${t.heldoutAnchorLoss.length} (the training objective on fixed text): ${t.heldoutAnchorLoss.before.toFixed(3)} -> ${t.heldoutAnchorLoss.after.toFixed(3)} (before -> after continual training)`,
    `  training loss ${t.lossFirstStep.toFixed(3)} at step 1 -> ${t.lossEnd.toFixed(3)} (mean of the last ${t.averagedOver} steps; first ${t.averagedOver}: ${t.lossStart.toFixed(3)}; batches differ in difficulty)`,
    "",
    `held-out perplexity (${p.protocol}):`,
    ...table([
      ["", ...lengths],
      ["base, full attention", ...p.byLength.map((x) => f2(x.baseFull))],
      ["AnLLM-AC, full attention", ...p.byLength.map((x) => f2(x.acFull))],
      ["  ratio AnLLM-AC / base", ...p.byLength.map((x) => `${x.ratioAcFullToBase.toFixed(3)}x`)],
      ["AnLLM-AC, anchor mask", ...p.byLength.map((x) => f2(x.acAnchor))],
      [
        "base + <AC> untrained, anchor mask",
        ...p.byLength.map((x) => f2(x.acAnchorBeforeTraining)),
      ],
    ]).map((l) => `  ${l}`),
    `  ${p.claim.statement}: ${p.claim.holds ? "yes" : "NO"} (worst ${p.claim.worstRatio.toFixed(3)}x)`,
    "",
    c
      ? `K/V cache on a ${c.promptLength}-token prompt + ${c.newTokens.toFixed(0)} new tokens (AnLLM-AC): reduction ${pct(c.reduction)} ` +
        `(peak ${c.peakEntries.toFixed(0)} of ${c.fullEntries.toFixed(0)} entries)`
      : "K/V cache experiment: skipped",
    ...(c
      ? table([
          ["", "anchor cache", "full cache", "no cache"],
          [
            "time (ms)",
            c.anchorMs.toFixed(0),
            c.fullCacheMs.toFixed(0),
            c.noCacheMs?.toFixed(0) ?? "-",
          ],
          [
            "speed-up of the anchor cache",
            "1.00x",
            `${c.speedupVsFullCache.toFixed(2)}x`,
            `${c.speedupVsNoCache?.toFixed(2) ?? "-"}x`,
          ],
        ]).map((l) => `  ${l}`)
      : []),
    "",
    `samples (prompt ${JSON.stringify(s.samples.prompt)}):`,
    `  base, full cache:      ${JSON.stringify(s.samples.base.text)}`,
    `  AnLLM-AC, anchor cache (peak ${s.samples.ac.peakEntries} of ${s.samples.ac.fullEntries} entries, ${pct(s.samples.ac.reduction)} smaller): ${JSON.stringify(s.samples.ac.text)}`,
    "",
    `run folder: ${s.out} (checkpoint, metrics.jsonl, loss-curve.svg, perplexity.svg, summary.json); total ${s.wallSec.toFixed(1)} s`,
  ].join("\n");
}
