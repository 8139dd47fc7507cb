// `anllm demo` without --from-scratch: the paper's experiment at small scale. Loads the pre-trained
// base (full attention), adds `<AC>` with the mean embedding and continues pre-training it with the
// AnLLM-AC anchor mask (constant lr after warm-up), then compares base and AnLLM-AC: held-out
// full-attention perplexity at several context lengths (paper Fig. 3 right), anchor perplexity,
// a sample from each (base: full K/V cache; AnLLM-AC: anchor cache), and the K/V cache reduction
// and speed-ups on a long prompt. The evaluation of the base runs first and is timed: training
// stops early enough to leave that time (twice, plus the cache experiment) for the AnLLM side.

import { join } from "node:path";
import {
  type CacheBenchRow,
  LlamaScorer,
  type PerplexityResult,
  pplPlotSvg,
  runCacheEval,
} from "@anllm/evaluator";
import { type GenerateResult, generate } from "@anllm/llama2-model";
import { defaultDatasetPath } from "@anllm/redpajama-loader";
import { encodePrompt } from "@anllm/redpajama-loader/text";
import type { Device } from "@anllm/tensor";
import { atomicWrite } from "@anllm/tensor/io";
import { UsageError } from "../errors";
import type { Io } from "../io";
import {
  type HeldoutProtocol,
  plainHeldoutTokens,
  protocolPerplexity,
  readBaseProvenance,
  tokenBudget,
} from "../wiring/base-model";
import { documentTokens } from "../wiring/heldout";
import { type LoadedModel, loadModelDir } from "../wiring/model";
import { buildModel, runTraining, type TrainingRun } from "../wiring/run-training";
import { CACHE_REPEATS, type ContinualResults, continualSummary } from "./demo-continual-summary";
import type { TrainConfig } from "./train-config";

/** What the continual demo needs (validated by demo.ts). */
export interface ContinualOptions {
  out: string;
  /** the base model folder */
  base: string;
  /** the continual run: cfg.model is the base folder, anchor "ac", acInit "mean" */
  cfg: TrainConfig;
  budget: number;
  protocol: HeldoutProtocol;
  maxNew: number;
  promptText: string;
  cachePrompt: number;
  cacheNew: number;
  /** AnLLM-AC full-attention perplexity must stay within this factor of the base's */
  maxRatio: number;
}

/**
 * Seconds the cache experiment is given when the training budget is computed: measured on the
 * 2-core lavapipe machine at the default 2048-token prompt + 8 tokens (3 anchor, 3 full, 1 no-cache
 * run), scaled by (prompt / 2048)^2 since the full-cache and no-cache runs are attention-bound.
 */
function cacheReserveSec(o: ContinualOptions): number {
  return 5 + 40 * ((o.cachePrompt + o.cacheNew) / 2056) ** 2;
}

/** Generation settings shared by both samples (only the cache differs). */
function sampleOptions(l: LoadedModel, o: ContinualOptions, cache: "full" | "anchor") {
  return {
    maxNewTokens: o.maxNew,
    temperature: 0.8,
    topK: 20,
    seed: o.cfg.seed,
    eosId: l.tokenizer.eosId,
    anchorIds: cache === "anchor" ? l.anchors.ids : [],
    cache,
  } as const;
}

/**
 * Anchor-mask perplexity of an AC model: the held-out text with `<AC>` after every sentence (as in
 * training), only the original tokens' predictions scored.
 */
async function anchorPpl(l: LoadedModel, p: HeldoutProtocol): Promise<PerplexityResult[]> {
  const heldout = defaultDatasetPath("heldout");
  const { ids } = await documentTokens(heldout, l.tokenizer, l.anchors, tokenBudget(p));
  const anchorSet = new Set(l.anchors.ids);
  const targets = Uint8Array.from(ids, (id) => (anchorSet.has(id) ? 0 : 1));
  return protocolPerplexity(l, ids, p, { attention: "anchor", anchorIds: l.anchors.ids, targets });
}

/** 1. The base: full-attention perplexity and a sample with the full cache (timed). */
async function evaluateBase(o: ContinualOptions, io: Io) {
  const t0 = performance.now();
  const base = await loadModelDir("demo", o.base);
  if (base.anchorMode !== "none") {
    base.model.dispose();
    throw new UsageError(
      "demo",
      `--base ${o.base} was trained with --anchor ${base.anchorMode}; the demo continues a full-attention base`,
    );
  }
  io.err(
    `base ${o.base}: held-out perplexity with full attention at ${o.protocol.lengths.join(", ")} tokens\n`,
  );
  const plain = await plainHeldoutTokens(base, o.protocol);
  const full = await protocolPerplexity(base, plain, o.protocol);
  const prompt = encodePrompt(o.promptText, base.tokenizer, base.anchors);
  const sample = await generate(base.model, [prompt], sampleOptions(base, o, "full"));
  const parameters = [...base.model.parameters().values()].reduce((a, t) => a + t.size, 0);
  const info = {
    parameters,
    vocabSize: base.model.config.vocabSize,
    tokenizer: base.tokenizer.name,
  };
  const decode = (g: GenerateResult) => base.tokenizer.decode(Array.from(g.tokens[0]!));
  const text = decode(sample);
  base.model.dispose();
  return { full, sample, text, info, plain, sec: (performance.now() - t0) / 1000 };
}

/** 2. AnLLM-AC before continual training (the base with the mean-initialised <AC>): anchor ppl. */
async function evaluateStep0(o: ContinualOptions, io: Io) {
  const t0 = performance.now();
  io.err("base + <AC> (mean embedding), before continual training: anchor perplexity\n");
  const l = await buildModel(o.cfg);
  try {
    return { anchor: await anchorPpl(l, o.protocol), sec: (performance.now() - t0) / 1000 };
  } finally {
    l.model.dispose();
  }
}

/** 3. Continual pre-training with the AC mask until --steps or the budget minus the reserve. */
async function continualTraining(
  o: ContinualOptions,
  io: Io,
  t0: number,
  reserveSec: number,
): Promise<TrainingRun> {
  const ctl = new AbortController();
  io.err(
    `continual pre-training with the AC anchor mask (reserving ${reserveSec.toFixed(0)} s of the ${o.budget} s budget for the evaluation)\n`,
  );
  return runTraining(o.cfg, io, {
    resume: false,
    progress: "log",
    signal: ctl.signal,
    onStep: () => {
      if (performance.now() - t0 + reserveSec * 1000 >= o.budget * 1000) ctl.abort();
    },
  });
}

/** 4. AnLLM-AC: full and anchor perplexity, a sample with the anchor cache, the cache experiment. */
async function evaluateAc(o: ContinualOptions, run: TrainingRun, plain: Int32Array, io: Io) {
  const l = run.loaded;
  io.err("AnLLM-AC: held-out perplexity with full attention and with the anchor mask\n");
  const full = await protocolPerplexity(l, plain, o.protocol);
  const anchor = await anchorPpl(l, o.protocol);
  io.err("AnLLM-AC: sample with the anchor K/V cache\n");
  const prompt = encodePrompt(o.promptText, l.tokenizer, l.anchors);
  const sample = await generate(l.model, [prompt], sampleOptions(l, o, "anchor"));
  io.err(
    `cache experiment: ${o.cachePrompt}-token prompt, anchor cache vs full cache vs no cache\n`,
  );
  const scorer = new LlamaScorer(l.model, { maxLength: o.cachePrompt + o.cacheNew });
  const rows = await runCacheEval({
    scorer,
    tokenizer: l.tokenizer,
    anchors: l.anchors,
    promptLengths: [o.cachePrompt],
    maxNewTokens: o.cacheNew,
    bosId: l.tokenizer.bosId,
    repeats: CACHE_REPEATS,
    // the recompute baseline costs ~10x a cached run; its one run still gives T vs no cache
    noCacheRepeats: 1,
  });
  const cache: CacheBenchRow | null = rows[0] ?? null;
  return { full, anchor, sample, text: l.tokenizer.decode(Array.from(sample.tokens[0]!)), cache };
}

/** Runs the continual demo into o.out; returns summary.json's content. */
export async function runContinualDemo(o: ContinualOptions, device: Device, io: Io, t0: number) {
  const provenance = readBaseProvenance(o.base);
  const base = await evaluateBase(o, io);
  const step0 = await evaluateStep0(o, io);
  // the AnLLM side scores twice (full + anchor) what the base scored once, then the cache experiment
  const reserveSec = 2 * base.sec + step0.sec + cacheReserveSec(o);
  const run = await continualTraining(o, io, t0, reserveSec);
  const trainSec = (performance.now() - t0) / 1000;
  const ac = await evaluateAc(o, run, base.plain, io);
  const plot = join(o.out, "perplexity.svg");
  await atomicWrite(
    plot,
    await pplPlotSvg(
      [
        { label: "base (full attention)", results: base.full },
        { label: "AnLLM-AC (full attention)", results: ac.full },
        { label: "AnLLM-AC (anchor mask)", results: ac.anchor },
        { label: "base + <AC>, before training (anchor mask)", results: step0.anchor },
      ],
      "Held-out perplexity vs context length",
    ),
  );
  const results: ContinualResults = {
    o,
    device,
    provenance,
    base,
    step0,
    run,
    trainSec,
    ac,
    plot,
    wallSec: (performance.now() - t0) / 1000,
  };
  const summary = continualSummary(results);
  await atomicWrite(join(o.out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  run.loaded.model.dispose();
  return summary;
}
