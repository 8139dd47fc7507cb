// `anllm demo`, the main job on embedded defaults. By default the paper's experiment at small scale
// (demo-continual.ts): continual pre-training of the shipped pre-trained base with the AnLLM-AC
// anchor mask, then base vs AnLLM-AC side by side. With --from-scratch, the earlier demo: trains a
// small Llama-2-architecture model with the AC mask from random weights on the embedded corpus,
// evaluates full and anchor perplexity on the held-out split, generates with anchor inference,
// measures the K/V cache reduction and speed-up. Both write the run folder (checkpoint,
// metrics.jsonl, loss-curve.svg, summary.json; the continual demo also perplexity.svg).

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { choice, int, intList, num, type OptionSpecs, str, type Values } from "../args";
import type { Command } from "../command";
import { UsageError } from "../errors";
import { emit, type Io } from "../io";
import { HELDOUT_PROTOCOL, shippedBaseDir } from "../wiring/base-model";
import { ensureDevice } from "../wiring/device";
import { documentTokens } from "../wiring/heldout";
import { resolveModelDir } from "../wiring/model";
import { checkInputPath } from "../wiring/paths";
import { runTraining, type TrainingRun } from "../wiring/run-training";
import { ANCHOR_MODES } from "../wiring/tokenizer";
import { type ContinualOptions, runContinualDemo } from "./demo-continual";
import { continualTable } from "./demo-continual-summary";
import { demoSummary, humanSummary } from "./demo-summary";
import type { TrainConfig } from "./train-config";

const SCRATCH_PROMPT = "Once upon a time there was a little girl. She";
const CONTINUAL_PROMPT = "And the king spake unto the people. And it came to pass, that";
/**
 * The continual run reads the corpus as the base was pre-trained (scripts/build-base-model.sh):
 * one shuffle block larger than the corpus's 4262 documents, so books, web and wiki text are mixed
 * (the loader's default 256-document blocks follow the file order: books first).
 */
const CONTINUAL_SHUFFLE_BLOCK = 8192;

const OPTIONS: OptionSpecs = {
  out: {
    type: "string",
    arg: "DIR",
    help: "run folder (a previous demo there is replaced)",
    default: "runs/demo",
  },
  "from-scratch": {
    type: "boolean",
    help: "train a small model from random weights instead of continuing the pre-trained base",
  },
  base: {
    type: "string",
    arg: "DIR",
    help: "full-attention base model to continue pre-training",
    computedDefault: "the shipped apps/cli/models/base-small",
  },
  steps: { type: "string", arg: "N", help: "optimiser steps (at most)", default: "300" },
  "time-budget": {
    type: "string",
    arg: "SEC",
    help: "wall-clock budget of the whole demo; training stops early enough to leave time for evaluation",
    default: "240",
  },
  model: {
    type: "string",
    arg: "PRESET",
    help: "model preset (--from-scratch only)",
    computedDefault: "small",
  },
  anchor: {
    type: "string",
    arg: "ac|ep|none",
    help: "anchor strategy (--from-scratch only; the continual demo is AnLLM-AC)",
    computedDefault: "ac",
  },
  "batch-size": { type: "string", arg: "N", help: "sequences per step", default: "8" },
  "seq-len": {
    type: "string",
    arg: "N",
    help: "tokens per sequence",
    computedDefault: "256 (the base's), 128 with --from-scratch",
  },
  lr: {
    type: "string",
    arg: "LR",
    help: "peak learning rate (constant after warm-up)",
    computedDefault: "3e-4, 3e-3 with --from-scratch",
  },
  warmup: { type: "string", arg: "N", help: "warm-up steps", default: "10" },
  "shuffle-block": {
    type: "string",
    arg: "N",
    help: "documents per shuffle block of the training stream",
    computedDefault: `${CONTINUAL_SHUFFLE_BLOCK} (the base recipe's: all documents mixed), the loader's 256 with --from-scratch`,
  },
  seed: { type: "string", arg: "N", help: "seed", default: "34" },
  prompt: {
    type: "string",
    arg: "TEXT",
    help: "generation prompt",
    computedDefault: `"${CONTINUAL_PROMPT}", "${SCRATCH_PROMPT}" with --from-scratch`,
  },
  "max-new-tokens": { type: "string", arg: "N", help: "tokens to generate", default: "48" },
  "eval-windows": {
    type: "string",
    arg: "N",
    help: "held-out windows for perplexity (per context length)",
    computedDefault: `${HELDOUT_PROTOCOL.maxWindows}, 8 with --from-scratch`,
  },
  lengths: {
    type: "string",
    arg: "L,L,...",
    help: "context lengths of the perplexity comparison (continual demo)",
    computedDefault: HELDOUT_PROTOCOL.lengths.join(","),
  },
  "max-ratio": {
    type: "string",
    arg: "R",
    help: "the claim checked: AnLLM-AC's full-attention perplexity within R x the base's",
    default: "1.1",
  },
  "cache-prompt": {
    type: "string",
    arg: "N",
    help: "prompt length of the cache experiment (continual: may exceed the base's positions; it measures size and time)",
    computedDefault: "2048, 384 with --from-scratch",
  },
  "cache-new-tokens": {
    type: "string",
    arg: "N",
    help: "tokens generated per prompt in the cache experiment",
    computedDefault: "8, 16 with --from-scratch",
  },
};

const USAGE =
  "anllm demo [--out DIR] [--base DIR | --from-scratch] [--steps N] [--time-budget SEC] [--json]";
const ABOUT =
  "The paper's experiment at small scale: continues pre-training the shipped full-attention base with " +
  "the AC anchor mask (<AC> added with the mean embedding), then compares base and AnLLM-AC: held-out " +
  "perplexity at several context lengths, anchor perplexity, the K/V cache reduction and speed-ups, " +
  "and a sample from each. --from-scratch trains a small AnLLM-AC from random weights instead.";

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

function demoConfig(v: Values, out: string, scratch: boolean, base: string): TrainConfig {
  const c = "demo";
  return {
    model: scratch ? (str(v, "model") ?? "small") : base,
    tokenizer: scratch ? "bytes" : "from-model",
    data: [defaultDatasetPath("train")],
    anchor: scratch ? (choice(c, v, "anchor", ANCHOR_MODES) ?? "ac") : "ac",
    steps: int(c, v, "steps", 1)!,
    batchSize: int(c, v, "batch-size", 1, 1024)!,
    gradAccum: 1,
    seqLen: int(c, v, "seq-len", 8, 4096) ?? (scratch ? 128 : 256),
    // continual: a tenth of the base's 3e-3, as the paper continues Llama-2 far below its peak lr
    lr: num(c, v, "lr", 0, 1) ?? (scratch ? 3e-3 : 3e-4),
    schedule: "constant",
    warmup: int(c, v, "warmup", 0)!,
    minLrRatio: 0,
    weightDecay: 0,
    maxGradNorm: 1,
    seed: int(c, v, "seed", 0, 2 ** 32 - 1)!,
    ...shuffleBlock(v, scratch),
    out,
    checkpointEvery: 1_000_000,
    // the base was pre-trained on packed rows; the from-scratch demo keeps one document per row
    mode: scratch ? "paper" : "pack",
    acInit: "mean",
    onNonFinite: "stop",
    // the demo's --seq-len is capped at 4096; beyond the preset's positions it warns and extends
    extendPositions: true,
  };
}

function shuffleBlock(v: Values, scratch: boolean): { shuffleBlock?: number } {
  const n =
    int("demo", v, "shuffle-block", 1, 1 << 24) ?? (scratch ? undefined : CONTINUAL_SHUFFLE_BLOCK);
  return n === undefined ? {} : { shuffleBlock: n };
}

/** The evaluation after training costs about this many training steps (measured on lavapipe). */
const EVAL_RESERVE_STEPS = 12;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** max_position_embeddings of a model folder's config.json (UsageError when unreadable). */
function folderMaxSeqLen(dir: string): number {
  const path = join(dir, "config.json");
  if (!existsSync(path)) {
    throw new UsageError(
      "demo",
      `--base ${dir}: no config.json (expected an HF or checkpoint folder)`,
    );
  }
  let n: unknown;
  try {
    n = JSON.parse(readFileSync(path, "utf8")).max_position_embeddings;
  } catch (e) {
    throw new UsageError("demo", `${path} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof n !== "number" || !Number.isInteger(n) || n < 2) {
    throw new UsageError("demo", `${path}: "max_position_embeddings" must be an integer >= 2`);
  }
  return n;
}

/** Validated demo options (UsageError for bad values, before anything is written). */
async function demoOptions(v: Values) {
  const c = "demo";
  const out = str(v, "out")!;
  const scratch = v["from-scratch"] === true;
  for (const flag of scratch ? ["base", "lengths"] : ["model", "anchor"]) {
    if (v[flag] !== undefined) {
      throw new UsageError(
        c,
        scratch
          ? `--${flag} belongs to the continual demo; --from-scratch trains --model from random weights`
          : `--${flag} applies to --from-scratch only; the continual demo continues --base with AC anchors`,
      );
    }
  }
  const lengths = scratch ? [] : (intList(c, v, "lengths") ?? HELDOUT_PROTOCOL.lengths);
  if (lengths.some((l) => l < 2)) throw new UsageError(c, "--lengths expects lengths >= 2");
  const given = str(v, "base");
  const cfg = demoConfig(v, out, scratch, given ?? "");
  const o = {
    out,
    scratch,
    base: given ?? "",
    cfg,
    budget: num(c, v, "time-budget", 1)!,
    maxNew: int(c, v, "max-new-tokens", 1, 4096)!,
    windows: int(c, v, "eval-windows", 1, 4096) ?? (scratch ? 8 : HELDOUT_PROTOCOL.maxWindows),
    lengths,
    maxRatio: num(c, v, "max-ratio", 1)!,
    cachePrompt: int(c, v, "cache-prompt", 16, 16384) ?? (scratch ? 384 : 2048),
    cacheNew: int(c, v, "cache-new-tokens", 1, 1024) ?? (scratch ? 16 : 8),
    promptText: str(v, "prompt") ?? (scratch ? SCRATCH_PROMPT : CONTINUAL_PROMPT),
    json: v.json === true,
  };
  if (!scratch) {
    // the shipped base is looked up only once the other options are known to be valid
    o.base = given ?? shippedBaseDir();
    o.cfg.model = o.base;
    checkInputPath(c, "--base", o.base);
  }
  if (scratch && !Object.hasOwn(PRESETS, o.cfg.model)) {
    throw new UsageError(
      c,
      `--model expects a preset (${Object.keys(PRESETS).join(", ")}), got "${o.cfg.model}"`,
    );
  }
  const positions = scratch
    ? preset(o.cfg.model).maxSeqLen
    : folderMaxSeqLen(await resolveModelDir(o.base));
  const maxSeqLen = Math.max(positions, o.cfg.seqLen);
  // the continual cache experiment measures size and time, so it may run past the base's positions
  if (scratch && o.cachePrompt + o.cacheNew > maxSeqLen) {
    throw new UsageError(
      c,
      `--cache-prompt ${o.cachePrompt} + --cache-new-tokens ${o.cacheNew} exceeds the model's maxSeqLen ${maxSeqLen}`,
    );
  }
  if (!scratch && Math.max(...lengths) > maxSeqLen) {
    throw new UsageError(
      c,
      `--lengths ${Math.max(...lengths)} exceeds the model's maxSeqLen ${maxSeqLen}`,
    );
  }
  return o;
}

type DemoOptions = Awaited<ReturnType<typeof demoOptions>>;

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

/** The continual demo's options (see demo-continual.ts). */
function continualOptions(o: DemoOptions): ContinualOptions {
  return {
    out: o.out,
    base: o.base,
    cfg: o.cfg,
    budget: o.budget,
    protocol: { lengths: o.lengths, stride: HELDOUT_PROTOCOL.stride, maxWindows: o.windows },
    maxNew: o.maxNew,
    promptText: o.promptText,
    cachePrompt: o.cachePrompt,
    cacheNew: o.cacheNew,
    maxRatio: o.maxRatio,
  };
}

export const demoCommand: Command = {
  usage: USAGE,
  about: ABOUT,
  options: OPTIONS,
  async run({ values: v }, io) {
    const t0 = performance.now();
    const o = await demoOptions(v);
    prepareOut(o.out);
    const device = await ensureDevice(io);
    if (!o.scratch) {
      const summary = await runContinualDemo(continualOptions(o), device, io, t0);
      // with --json the table still goes to stderr, so a log shows the comparison too
      if (o.json) io.err(`${continualTable(summary)}\n`);
      emit(io, o.json, summary, () => continualTable(summary));
      return 0;
    }
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
