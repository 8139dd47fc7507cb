// `anllm demo`, the main job on embedded defaults: trains a small Llama-2-architecture model with
// the AnLLM-AC anchor mask on the embedded corpus, evaluates full and anchor perplexity on the
// held-out split, generates with anchor inference, measures the K/V cache reduction and speed-up,
// and writes the run folder (checkpoint, metrics.jsonl, loss-curve.svg, summary.json).

import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CacheBenchRow,
  evaluatePerplexity,
  LlamaScorer,
  runCacheEval,
} from "@anllm/evaluator";
import { generate, PRESETS, preset } from "@anllm/llama2-model";
import { defaultDatasetPath } from "@anllm/redpajama-loader";
import { choice, helpText, int, num, parse, str, type Values } from "../args";
import type { Command } from "../command";
import { UsageError } from "../errors";
import { emit } from "../io";
import { ensureDevice } from "../wiring/device";
import { documentTokens } from "../wiring/heldout";
import { runTraining } from "../wiring/run-training";
import { ANCHOR_MODES } from "../wiring/tokenizer";
import { encodePrompt } from "./generate";
import type { TrainConfig } from "./train-config";

const SPECS = {
  out: {
    type: "string",
    arg: "DIR",
    help: "run folder (a previous demo there is replaced)",
    def: "runs/demo",
  },
  steps: { type: "string", arg: "N", help: "optimiser steps (at most)", def: "300" },
  "time-budget": {
    type: "string",
    arg: "SEC",
    help: "wall-clock budget of the whole demo; training stops early enough to leave time for evaluation",
    def: "240",
  },
  model: { type: "string", arg: "PRESET", help: "model preset", def: "small" },
  anchor: { type: "string", arg: "ac|ep|none", help: "anchor strategy", def: "ac" },
  "batch-size": { type: "string", arg: "N", help: "sequences per step", def: "8" },
  "seq-len": { type: "string", arg: "N", help: "tokens per sequence", def: "128" },
  lr: {
    type: "string",
    arg: "LR",
    help: "peak learning rate (constant after warm-up)",
    def: "3e-3",
  },
  warmup: { type: "string", arg: "N", help: "warm-up steps", def: "10" },
  seed: { type: "string", arg: "N", help: "seed", def: "34" },
  prompt: {
    type: "string",
    arg: "TEXT",
    help: "generation prompt",
    def: '"Once upon a time there was a little girl. She"',
  },
  "max-new-tokens": { type: "string", arg: "N", help: "tokens to generate", def: "48" },
  "eval-windows": { type: "string", arg: "N", help: "held-out windows for perplexity", def: "8" },
  "cache-prompt": {
    type: "string",
    arg: "N",
    help: "prompt length of the cache experiment",
    def: "384",
  },
} as const;

const USAGE = "anllm demo [--out DIR] [--steps N] [--time-budget SEC] [--json]";
const DEFAULT_PROMPT = "Once upon a time there was a little girl. She";

/** Removes a previous demo/train run in `out`; refuses to touch a folder that is something else. */
function prepareOut(out: string): void {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  if (!entries.includes("summary.json") && !entries.includes("train-config.json")) {
    throw new UsageError("demo", `--out ${out} exists and is not a run folder; pick another --out`);
  }
  rmSync(out, { recursive: true, force: true });
}

function demoConfig(v: Values, out: string): TrainConfig {
  const c = "demo";
  return {
    model: str(v, "model", "small")!,
    tokenizer: "bytes",
    data: [defaultDatasetPath("train")],
    anchor: choice(c, v, "anchor", ANCHOR_MODES, "ac"),
    steps: int(c, v, "steps", 300, 1)!,
    batchSize: int(c, v, "batch-size", 8, 1, 1024)!,
    gradAccum: 1,
    seqLen: int(c, v, "seq-len", 128, 8, 4096)!,
    lr: num(c, v, "lr", 3e-3, 0, 1)!,
    schedule: "constant",
    warmup: int(c, v, "warmup", 10, 0)!,
    minLrRatio: 0,
    weightDecay: 0,
    maxGradNorm: 1,
    seed: int(c, v, "seed", 34, 0, 2 ** 32 - 1)!,
    out,
    checkpointEvery: 1_000_000,
    mode: "paper",
    acInit: "mean",
    onNonFinite: "stop",
  };
}

/** The evaluation after training costs about this many training steps (measured on lavapipe). */
const EVAL_RESERVE_STEPS = 12;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export const demoCommand: Command = {
  name: "demo",
  summary: "the main job: train a small AnLLM-AC, evaluate, generate, summarise",
  async run(argv, io) {
    const { values: v } = parse("demo", argv, SPECS);
    if (v.help) {
      io.out(
        helpText(
          USAGE,
          "Trains a small Llama-2 with the AC anchor mask on the embedded corpus, then evaluates perplexity, generates with the anchor KV cache and reports the cache reduction and speed-up.",
          SPECS,
        ),
      );
      return 0;
    }
    const t0 = performance.now();
    const out = str(v, "out", "runs/demo")!;
    const cfg = demoConfig(v, out);
    const budget = num("demo", v, "time-budget", 240, 1)!;
    const maxNew = int("demo", v, "max-new-tokens", 48, 1, 4096)!;
    const windows = int("demo", v, "eval-windows", 8, 1, 4096)!;
    const cachePrompt = int("demo", v, "cache-prompt", 384, 16)!;
    const cacheNew = int("demo", v, "cache-new-tokens", 16, 1, 1024)!;
    const promptText = str(v, "prompt", DEFAULT_PROMPT)!;
    if (!Object.hasOwn(PRESETS, cfg.model)) {
      throw new UsageError(
        "demo",
        `--model expects a preset (${Object.keys(PRESETS).join(", ")}), got "${cfg.model}"`,
      );
    }
    const maxSeqLen = Math.max(preset(cfg.model).maxSeqLen, cfg.seqLen);
    if (cachePrompt + cacheNew > maxSeqLen) {
      throw new UsageError(
        "demo",
        `--cache-prompt ${cachePrompt} + --cache-new-tokens ${cacheNew} exceeds the model's maxSeqLen ${maxSeqLen}`,
      );
    }
    prepareOut(out);
    const device = await ensureDevice(io);
    // 1. training, stopped by --steps or by the time budget minus the expected evaluation time
    const ctl = new AbortController();
    const stepMs: number[] = [];
    const run = await runTraining(cfg, io, {
      resume: false,
      progress: v.json ? "log" : "auto",
      signal: ctl.signal,
      onStep: (m) => {
        stepMs.push(m.stepMs);
        // the first steps include kernel compilation: estimate from the median once there are 3
        const reserve = stepMs.length >= 3 ? EVAL_RESERVE_STEPS * median(stepMs) : 0;
        if (performance.now() - t0 + reserve >= budget * 1000) ctl.abort();
      },
    });
    const tTrain = performance.now();
    const { model, tokenizer, anchors } = run.loaded;
    const losses = run.metrics.map((m) => m.loss);
    const k = Math.min(5, Math.max(1, Math.floor(losses.length / 4)));
    // 2. held-out perplexity, full and anchor attention
    io.err("evaluating held-out perplexity (full and anchor attention)\n");
    const L = cfg.seqLen;
    const held = await documentTokens(
      defaultDatasetPath("heldout"),
      tokenizer,
      anchors,
      (windows + 2) * L,
    );
    const scorer = new LlamaScorer(model, { maxLength: Math.max(L, cachePrompt + cacheNew) });
    const pplOpts = { lengths: [L], stride: L, maxWindows: windows, anchorIds: anchors.ids };
    const [full] = await evaluatePerplexity(scorer, held.ids, { ...pplOpts, attention: "causal" });
    const [anchor] = await evaluatePerplexity(scorer, held.ids, {
      ...pplOpts,
      attention: "anchor",
    });
    const tEval = performance.now();
    // 3. a sample generated with anchor inference
    io.err("generating with the anchor KV cache\n");
    const prompt = encodePrompt(promptText, tokenizer, anchors);
    const gen = await generate(model, [prompt], {
      maxNewTokens: maxNew,
      temperature: 0.8,
      topK: 20,
      seed: cfg.seed,
      eosId: tokenizer.eosId,
      anchorIds: anchors.ids,
      cache: anchors.ids.length > 0 ? "anchor" : "full",
    });
    const sample = Array.from(gen.tokens[0]!);
    // 4. the cache experiment: long many-sentence prompt, anchor vs full cache vs recompute
    io.err(`cache experiment: ${cachePrompt}-token prompt, anchor vs full cache vs no cache\n`);
    let cache: CacheBenchRow | null = null;
    if (anchors.ids.length > 0) {
      const rows = await runCacheEval({
        scorer,
        tokenizer,
        anchors,
        promptLengths: [cachePrompt],
        maxNewTokens: cacheNew,
        bosId: tokenizer.bosId,
      });
      cache = rows[0] ?? null;
    }
    const tEnd = performance.now();
    const summary = {
      ok: true,
      out,
      device: { kind: device.kind, name: device.name },
      model: {
        preset: cfg.model,
        parameters: [...model.parameters().values()].reduce((a, t) => a + t.size, 0),
        vocabSize: model.config.vocabSize,
        anchor: run.loaded.anchorMode,
        anchorIds: anchors.ids,
        tokenizer: tokenizer.name,
      },
      training: {
        steps: run.result.step,
        stopReason: run.result.stopReason === "aborted" ? "time-budget" : run.result.stopReason,
        batchSize: cfg.batchSize,
        seqLen: cfg.seqLen,
        lr: cfg.lr,
        tokens: run.metrics.at(-1)?.totalTokens ?? 0,
        lossStart: mean(losses.slice(0, k)),
        lossEnd: mean(losses.slice(-k)),
        lossFirst: losses[0] ?? null,
        lossLast: losses.at(-1) ?? null,
        averagedOver: k,
        tokensPerSec: mean(run.metrics.slice(1).map((m) => m.tokensPerSec)),
        wallSec: (tTrain - t0) / 1000,
      },
      perplexity: {
        data: "embedded held-out split",
        contextLength: L,
        windows: full?.windows ?? 0,
        full: full?.ppl ?? null,
        anchor: anchor?.ppl ?? null,
        wallSec: (tEval - tTrain) / 1000,
      },
      generation: {
        prompt: promptText,
        text: tokenizer.decode(sample),
        tokens: sample.length,
        cache: {
          peakEntries: gen.stats.peakEntries[0],
          fullEntries: gen.stats.fullEntries[0],
          reduction: 1 - gen.stats.peakEntries[0]! / gen.stats.fullEntries[0]!,
        },
        tokensPerSec: (sample.length * 1000) / gen.timeMs,
      },
      cacheExperiment: cache && {
        promptLength: cache.promptLength,
        newTokens: cache.meanNewTokens,
        reduction: cache.C,
        reductionBytes: cache.Cbytes,
        peakEntries: cache.meanPeakEntries,
        fullEntries: cache.meanFullEntries,
        anchorMs: cache.anchorMs,
        fullCacheMs: cache.fullCacheMs,
        noCacheMs: cache.noCacheMs ?? null,
        speedupVsFullCache: cache.tFullCache,
        speedupVsNoCache: cache.tNoCache ?? null,
      },
      files: {
        checkpoint: run.result.checkpointDir,
        metrics: join(out, "metrics.jsonl"),
        lossCurve: join(out, "loss-curve.svg"),
        summary: join(out, "summary.json"),
      },
      wallSec: (tEnd - t0) / 1000,
    };
    writeFileSync(join(out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    emit(io, v.json === true, summary, () => humanSummary(summary));
    model.dispose();
    return 0;
  },
};

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`;
}

function humanSummary(s: {
  device: { kind: string; name: string };
  model: { preset: string; parameters: number; anchor: string; vocabSize: number };
  training: {
    steps: number;
    stopReason: string;
    lossStart: number;
    lossEnd: number;
    tokens: number;
    tokensPerSec: number;
    wallSec: number;
    averagedOver: number;
  };
  perplexity: {
    full: number | null;
    anchor: number | null;
    windows: number;
    contextLength: number;
  };
  generation: {
    prompt: string;
    text: string;
    cache: { peakEntries?: number; fullEntries?: number; reduction: number };
  };
  cacheExperiment: {
    promptLength: number;
    reduction: number;
    speedupVsFullCache: number;
    speedupVsNoCache: number | null;
    peakEntries: number;
    fullEntries: number;
  } | null;
  out: string;
  wallSec: number;
}): string {
  const t = s.training;
  const c = s.cacheExperiment;
  return [
    `AnLLM demo (${s.model.preset}, ${(s.model.parameters / 1e6).toFixed(2)}M parameters, anchor ${s.model.anchor}) on ${s.device.kind} (${s.device.name})`,
    `training: ${t.steps} steps (${t.stopReason}), ${t.tokens} tokens, ${t.tokensPerSec.toFixed(0)} tokens/s, ${t.wallSec.toFixed(1)} s`,
    `  loss ${t.lossStart.toFixed(3)} -> ${t.lossEnd.toFixed(3)} (mean of first/last ${t.averagedOver} steps)`,
    `held-out perplexity (${s.perplexity.windows} windows of ${s.perplexity.contextLength}): full attention ${s.perplexity.full?.toFixed(2)}, anchor attention ${s.perplexity.anchor?.toFixed(2)}`,
    `sample (anchor KV cache, peak ${s.generation.cache.peakEntries} of ${s.generation.cache.fullEntries} entries, reduction ${pct(s.generation.cache.reduction)}):`,
    `  ${JSON.stringify(s.generation.prompt + s.generation.text)}`,
    c
      ? `cache experiment (${c.promptLength}-token prompt): K/V cache reduction ${pct(c.reduction)} (peak ${c.peakEntries.toFixed(0)} of ${c.fullEntries.toFixed(0)} entries); ` +
        `speed-up ${c.speedupVsFullCache.toFixed(2)}x vs full cache, ${c.speedupVsNoCache?.toFixed(2) ?? "-"}x vs no cache`
      : "cache experiment: skipped (no anchors)",
    `run folder: ${s.out} (checkpoint, metrics.jsonl, loss-curve.svg, summary.json); total ${s.wallSec.toFixed(1)} s`,
  ].join("\n");
}
