// The demo's summary: summary.json content built from the training run and the evaluation
// results, and its human-readable rendering (loss start/end, perplexities, cache reduction, speed-up).

import { join } from "node:path";
import type { CacheBenchRow, PerplexityResult } from "@anllm/evaluator";
import type { GenerateResult } from "@anllm/llama2-model";
import type { Device } from "@anllm/tensor";
import type { TrainingRun } from "../wiring/run-training";
import type { TrainConfig } from "./train-config";

/** Everything the summary is built from. */
export interface DemoResults {
  out: string;
  cfg: TrainConfig;
  promptText: string;
  device: Device;
  run: TrainingRun;
  trainSec: number;
  full: PerplexityResult | null;
  anchor: PerplexityResult | null;
  pplSec: number;
  gen: GenerateResult;
  cache: CacheBenchRow | null;
  wallSec: number;
}

/** The cache experiment's row as the demo summaries report it. */
export function cacheExperimentJson(c: CacheBenchRow) {
  return {
    promptLength: c.promptLength,
    newTokens: c.meanNewTokens,
    reduction: c.C,
    reductionBytes: c.Cbytes,
    peakEntries: c.meanPeakEntries,
    fullEntries: c.meanFullEntries,
    anchorMs: c.anchorMs,
    fullCacheMs: c.fullCacheMs,
    noCacheMs: c.noCacheMs ?? null,
    speedupVsFullCache: c.tFullCache,
    speedupVsNoCache: c.tNoCache ?? null,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The content of summary.json (and of `anllm demo --json`). */
export function demoSummary(r: DemoResults) {
  const { model, tokenizer, anchors } = r.run.loaded;
  const losses = r.run.metrics.map((m) => m.loss);
  const k = Math.min(5, Math.max(1, Math.floor(losses.length / 4)));
  const sample = Array.from(r.gen.tokens[0]!);
  const c = r.cache;
  return {
    ok: true,
    out: r.out,
    device: { kind: r.device.kind, name: r.device.name },
    model: {
      preset: r.cfg.model,
      parameters: [...model.parameters().values()].reduce((a, t) => a + t.size, 0),
      vocabSize: model.config.vocabSize,
      anchor: r.run.loaded.anchorMode,
      anchorIds: anchors.ids,
      tokenizer: tokenizer.name,
    },
    training: {
      steps: r.run.result.step,
      stopReason: r.run.result.stopReason === "aborted" ? "time-budget" : r.run.result.stopReason,
      batchSize: r.cfg.batchSize,
      seqLen: r.cfg.seqLen,
      lr: r.cfg.lr,
      tokens: r.run.metrics.at(-1)?.totalTokens ?? 0,
      lossStart: mean(losses.slice(0, k)),
      lossEnd: mean(losses.slice(-k)),
      lossFirst: losses[0] ?? null,
      lossLast: losses.at(-1) ?? null,
      averagedOver: k,
      tokensPerSec: mean(r.run.metrics.slice(1).map((m) => m.tokensPerSec)),
      wallSec: r.trainSec,
    },
    perplexity: {
      data: "embedded held-out split",
      contextLength: r.cfg.seqLen,
      windows: r.full?.windows ?? 0,
      full: r.full?.ppl ?? null,
      anchor: r.anchor?.ppl ?? null,
      wallSec: r.pplSec,
    },
    generation: {
      prompt: r.promptText,
      text: tokenizer.decode(sample),
      tokens: sample.length,
      cache: {
        peakEntries: r.gen.stats.peakEntries[0] ?? 0,
        fullEntries: r.gen.stats.fullEntries[0] ?? 0,
        reduction: 1 - (r.gen.stats.peakEntries[0] ?? 0) / (r.gen.stats.fullEntries[0] ?? 1),
      },
      tokensPerSec: (sample.length * 1000) / r.gen.timeMs,
    },
    cacheExperiment: c && cacheExperimentJson(c),
    files: {
      checkpoint: r.run.result.checkpointDir,
      metrics: join(r.out, "metrics.jsonl"),
      lossCurve: join(r.out, "loss-curve.svg"),
      summary: join(r.out, "summary.json"),
    },
    wallSec: r.wallSec,
  };
}

/** summary.json's shape. */
export type DemoSummary = ReturnType<typeof demoSummary>;

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`;
}

/** The summary as printed without --json. */
export function humanSummary(s: DemoSummary): string {
  const t = s.training;
  const c = s.cacheExperiment;
  const p = s.perplexity;
  return [
    `AnLLM demo (${s.model.preset}, ${(s.model.parameters / 1e6).toFixed(2)}M parameters, anchor ${s.model.anchor}) on ${s.device.kind} (${s.device.name})`,
    `training: ${t.steps} steps (${t.stopReason}), ${t.tokens} tokens, ${t.tokensPerSec.toFixed(0)} tokens/s, ${t.wallSec.toFixed(1)} s`,
    `  loss ${t.lossStart.toFixed(3)} -> ${t.lossEnd.toFixed(3)} (mean of first/last ${t.averagedOver} steps)`,
    `held-out perplexity (${p.windows} windows of ${p.contextLength}): full attention ${p.full?.toFixed(2)}, anchor attention ${p.anchor?.toFixed(2)}`,
    `sample (anchor KV cache, peak ${s.generation.cache.peakEntries} of ${s.generation.cache.fullEntries} entries, reduction ${pct(s.generation.cache.reduction)}):`,
    `  ${JSON.stringify(s.generation.prompt + s.generation.text)}`,
    c
      ? `cache experiment (${c.promptLength}-token prompt): K/V cache reduction ${pct(c.reduction)} (peak ${c.peakEntries.toFixed(0)} of ${c.fullEntries.toFixed(0)} entries); ` +
        `speed-up ${c.speedupVsFullCache.toFixed(2)}x vs full cache, ${c.speedupVsNoCache?.toFixed(2) ?? "-"}x vs no cache`
      : "cache experiment: skipped (no anchors)",
    `run folder: ${s.out} (checkpoint, metrics.jsonl, loss-curve.svg, summary.json); total ${s.wallSec.toFixed(1)} s`,
  ].join("\n");
}
