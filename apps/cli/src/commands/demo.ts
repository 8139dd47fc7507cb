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
import { encodePrompt } from "@anllm/redpajama-loader/text";
import { choice, int, num, type OptionSpecs, str, type Values } from "../args";
import type { Command } from "../command";
import { UsageError } from "../errors";
import { emit, type Io } from "../io";
import { ensureDevice } from "../wiring/device";
import { documentTokens } from "../wiring/heldout";
import { runTraining, type TrainingRun } from "../wiring/run-training";
import { ANCHOR_MODES } from "../wiring/tokenizer";
import { demoSummary, humanSummary } from "./demo-summary";
import type { TrainConfig } from "./train-config";

const OPTIONS: OptionSpecs = {
  out: {
    type: "string",
    arg: "DIR",
    help: "run folder (a previous demo there is replaced)",
    default: "runs/demo",
  },
  steps: { type: "string", arg: "N", help: "optimiser steps (at most)", default: "300" },
  "time-budget": {
    type: "string",
    arg: "SEC",
    help: "wall-clock budget of the whole demo; training stops early enough to leave time for evaluation",
    default: "240",
  },
  model: { type: "string", arg: "PRESET", help: "model preset", default: "small" },
  anchor: { type: "string", arg: "ac|ep|none", help: "anchor strategy", default: "ac" },
  "batch-size": { type: "string", arg: "N", help: "sequences per step", default: "8" },
  "seq-len": { type: "string", arg: "N", help: "tokens per sequence", default: "128" },
  lr: {
    type: "string",
    arg: "LR",
    help: "peak learning rate (constant after warm-up)",
    default: "3e-3",
  },
  warmup: { type: "string", arg: "N", help: "warm-up steps", default: "10" },
  seed: { type: "string", arg: "N", help: "seed", default: "34" },
  prompt: {
    type: "string",
    arg: "TEXT",
    help: "generation prompt",
    default: "Once upon a time there was a little girl. She",
  },
  "max-new-tokens": { type: "string", arg: "N", help: "tokens to generate", default: "48" },
  "eval-windows": {
    type: "string",
    arg: "N",
    help: "held-out windows for perplexity",
    default: "8",
  },
  "cache-prompt": {
    type: "string",
    arg: "N",
    help: "prompt length of the cache experiment",
    default: "384",
  },
  "cache-new-tokens": {
    type: "string",
    arg: "N",
    help: "tokens generated per prompt in the cache experiment",
    default: "16",
  },
};

const USAGE = "anllm demo [--out DIR] [--steps N] [--time-budget SEC] [--json]";
const ABOUT =
  "Trains a small Llama-2 with the AC anchor mask on the embedded corpus, then evaluates perplexity, " +
  "generates with the anchor KV cache and reports the cache reduction and speed-up.";

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
    model: str(v, "model")!,
    tokenizer: "bytes",
    data: [defaultDatasetPath("train")],
    anchor: choice(c, v, "anchor", ANCHOR_MODES)!,
    steps: int(c, v, "steps", 1)!,
    batchSize: int(c, v, "batch-size", 1, 1024)!,
    gradAccum: 1,
    seqLen: int(c, v, "seq-len", 8, 4096)!,
    lr: num(c, v, "lr", 0, 1)!,
    schedule: "constant",
    warmup: int(c, v, "warmup", 0)!,
    minLrRatio: 0,
    weightDecay: 0,
    maxGradNorm: 1,
    seed: int(c, v, "seed", 0, 2 ** 32 - 1)!,
    out,
    checkpointEvery: 1_000_000,
    mode: "paper",
    acInit: "mean",
    onNonFinite: "stop",
    // the demo's --seq-len is capped at 4096; beyond the preset's positions it warns and extends
    extendPositions: true,
  };
}

/** The evaluation after training costs about this many training steps (measured on lavapipe). */
const EVAL_RESERVE_STEPS = 12;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Validated demo options (UsageError for bad values, before anything is written). */
function demoOptions(v: Values) {
  const c = "demo";
  const out = str(v, "out")!;
  const o = {
    out,
    cfg: demoConfig(v, out),
    budget: num(c, v, "time-budget", 1)!,
    maxNew: int(c, v, "max-new-tokens", 1, 4096)!,
    windows: int(c, v, "eval-windows", 1, 4096)!,
    cachePrompt: int(c, v, "cache-prompt", 16)!,
    cacheNew: int(c, v, "cache-new-tokens", 1, 1024)!,
    promptText: str(v, "prompt")!,
    json: v.json === true,
  };
  if (!Object.hasOwn(PRESETS, o.cfg.model)) {
    throw new UsageError(
      c,
      `--model expects a preset (${Object.keys(PRESETS).join(", ")}), got "${o.cfg.model}"`,
    );
  }
  const maxSeqLen = Math.max(preset(o.cfg.model).maxSeqLen, o.cfg.seqLen);
  if (o.cachePrompt + o.cacheNew > maxSeqLen) {
    throw new UsageError(
      c,
      `--cache-prompt ${o.cachePrompt} + --cache-new-tokens ${o.cacheNew} exceeds the model's maxSeqLen ${maxSeqLen}`,
    );
  }
  return o;
}

type DemoOptions = ReturnType<typeof demoOptions>;

/** 1. Training, stopped by --steps or by the time budget minus the expected evaluation time. */
async function trainPhase(o: DemoOptions, io: Io, t0: number): Promise<TrainingRun> {
  const ctl = new AbortController();
  const stepMs: number[] = [];
  return runTraining(o.cfg, io, {
    resume: false,
    progress: o.json ? "log" : "auto",
    signal: ctl.signal,
    onStep: (m) => {
      stepMs.push(m.stepMs);
      // the first steps include kernel compilation: estimate from the median once there are 3
      const reserve = stepMs.length >= 3 ? EVAL_RESERVE_STEPS * median(stepMs) : 0;
      if (performance.now() - t0 + reserve >= o.budget * 1000) ctl.abort();
    },
  });
}

/** 2-4. Held-out perplexity (full, anchor), a sample with the anchor cache, the cache experiment. */
async function evaluatePhase(o: DemoOptions, run: TrainingRun, io: Io) {
  const { model, tokenizer, anchors } = run.loaded;
  const L = o.cfg.seqLen;
  io.err("evaluating held-out perplexity (full and anchor attention)\n");
  const t0 = performance.now();
  const held = await documentTokens(
    defaultDatasetPath("heldout"),
    tokenizer,
    anchors,
    (o.windows + 2) * L,
  );
  const scorer = new LlamaScorer(model, { maxLength: Math.max(L, o.cachePrompt + o.cacheNew) });
  const pplOpts = { lengths: [L], stride: L, maxWindows: o.windows, anchorIds: anchors.ids };
  const [full] = await evaluatePerplexity(scorer, held.ids, { ...pplOpts, attention: "causal" });
  const [anchor] = await evaluatePerplexity(scorer, held.ids, { ...pplOpts, attention: "anchor" });
  const pplSec = (performance.now() - t0) / 1000;
  io.err("generating with the anchor KV cache\n");
  const gen = await generate(model, [encodePrompt(o.promptText, tokenizer, anchors)], {
    maxNewTokens: o.maxNew,
    temperature: 0.8,
    topK: 20,
    seed: o.cfg.seed,
    eosId: tokenizer.eosId,
    anchorIds: anchors.ids,
    cache: anchors.ids.length > 0 ? "anchor" : "full",
  });
  io.err(`cache experiment: ${o.cachePrompt}-token prompt, anchor vs full cache vs no cache\n`);
  let cache: CacheBenchRow | null = null;
  if (anchors.ids.length > 0) {
    const rows = await runCacheEval({
      scorer,
      tokenizer,
      anchors,
      promptLengths: [o.cachePrompt],
      maxNewTokens: o.cacheNew,
      bosId: tokenizer.bosId,
    });
    cache = rows[0] ?? null;
  }
  return { full: full ?? null, anchor: anchor ?? null, pplSec, gen, cache };
}

export const demoCommand: Command = {
  usage: USAGE,
  about: ABOUT,
  options: OPTIONS,
  async run({ values: v }, io) {
    const t0 = performance.now();
    const o = demoOptions(v);
    prepareOut(o.out);
    const device = await ensureDevice(io);
    const run = await trainPhase(o, io, t0);
    const trainSec = (performance.now() - t0) / 1000;
    const ev = await evaluatePhase(o, run, io);
    const summary = demoSummary({
      out: o.out,
      cfg: o.cfg,
      promptText: o.promptText,
      device,
      run,
      trainSec,
      ...ev,
      wallSec: (performance.now() - t0) / 1000,
    });
    writeFileSync(join(o.out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    emit(io, o.json, summary, () => humanSummary(summary));
    run.loaded.model.dispose();
    return 0;
  },
};
