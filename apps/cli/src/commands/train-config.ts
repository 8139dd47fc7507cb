// Options of `anllm train`: the flag table (defaults included), the JSON config file (same keys as
// the long flags), validation into a TrainConfig, and the rule for --resume (the stored config is
// reused; only steps and checkpointing may change).

import { existsSync, readFileSync } from "node:fs";
import { formatPolicy, parsePolicy } from "@anllm/anchor-mask";
import { SCHEDULE_KINDS, type ScheduleKind } from "@anllm/trainer";
import { choice, int, num, type OptionSpecs, str, type Values, withDefaults } from "../args";
import { UsageError } from "../errors";
import { parseIdRanges } from "../wiring/data";
import { ANCHOR_MODES, type AnchorMode } from "../wiring/tokenizer";

/** Fully resolved options of a training run (saved as train-config.json in the run folder). */
export interface TrainConfig {
  model: string;
  tokenizer: string;
  data: string[];
  anchor: AnchorMode;
  steps: number;
  batchSize: number;
  gradAccum: number;
  seqLen: number;
  lr: number;
  schedule: ScheduleKind;
  warmup: number;
  minLrRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  out: string;
  checkpointEvery: number;
  mode: "paper" | "pack";
  acInit: "mean" | "copy-period";
  onNonFinite: "stop" | "skip";
  /** allow --seq-len above the model's max_position_embeddings (the positions are extended) */
  extendPositions?: boolean;
  /** "f16": mixed precision (absent in configs of runs made before it existed: f32) */
  dtype?: "f32" | "f16";
  /** recompute each decoder layer in backward instead of keeping its activations */
  checkpointActivations?: boolean;
  /** documents per shuffle block of the data stream (absent: the loader's 256) */
  shuffleBlock?: number;
  /**
   * attention mask: absent = the anchor mask with --anchor ac|ep, causal with none; or a
   * `sepllm[:k=v,...]` policy (SepLLM's trainable mask: the rule its cache policy keeps)
   */
  mask?: string;
  /**
   * token ids whose prediction is scored, as `A-B,C` ranges (absent: every token); the others are
   * ignored like HF's -100 labels (completion-only training, e.g. the recall task's values)
   */
  lossIds?: string;
  /**
   * std of the normal init of a fresh preset's matrices (HF `initializer_range`; absent: 0.02);
   * larger values leave the uniform-attention plateau of lookup tasks sooner in small models
   */
  initStd?: number;
}

/** Flags of `anllm train` (also the keys of --config files). */
export const TRAIN_SPECS: OptionSpecs = {
  config: { type: "string", arg: "FILE", help: "JSON file with any of these options (flags win)" },
  model: {
    type: "string",
    arg: "PRESET|DIR",
    help: "model preset (tiny, small, llama2-7b, ...) or HF folder",
    default: "small",
  },
  tokenizer: {
    type: "string",
    arg: "NAME|PATH",
    help: "bytes, llama2 or tokenizer.json",
    computedDefault: "bytes for tiny/small, else llama2 / the model folder's",
  },
  data: {
    type: "string",
    multiple: true,
    arg: "PATH",
    help: "dataset folder or file (repeatable)",
    computedDefault: "the embedded corpus",
  },
  anchor: {
    type: "string",
    arg: "ac|ep|none",
    help: "anchor strategy (none = full causal attention)",
    default: "ac",
  },
  mask: {
    type: "string",
    arg: "anchor|causal|sepllm[:k=v,...]",
    help: "attention mask; sepllm = SepLLM's trainable mask, the same rule as --policy sepllm (needs --anchor none)",
    computedDefault: "anchor with --anchor ac|ep, causal with none",
  },
  steps: { type: "string", arg: "N", help: "optimiser steps", default: "100" },
  "batch-size": { type: "string", arg: "N", help: "sequences per micro-batch", default: "8" },
  "grad-accum": {
    type: "string",
    arg: "N",
    help: "micro-batches per optimiser step",
    default: "1",
  },
  "seq-len": {
    type: "string",
    arg: "N",
    help: "tokens per sequence (documents are right-truncated)",
    default: "128",
  },
  lr: { type: "string", arg: "LR", help: "peak learning rate", default: "3e-3" },
  schedule: {
    type: "string",
    arg: "constant|linear|cosine",
    help: "learning-rate schedule",
    default: "constant",
  },
  warmup: { type: "string", arg: "N", help: "warm-up steps", default: "10" },
  "min-lr-ratio": {
    type: "string",
    arg: "R",
    help: "floor of linear/cosine as a fraction of --lr",
    default: "0",
  },
  "weight-decay": { type: "string", arg: "WD", help: "AdamW decoupled weight decay", default: "0" },
  "max-grad-norm": {
    type: "string",
    arg: "X",
    help: "global-norm clipping (0 = off)",
    default: "1",
  },
  seed: { type: "string", arg: "N", help: "seed (weights, data order)", default: "34" },
  "loss-ids": {
    type: "string",
    arg: "A-B,C",
    help: "score only the predictions of these token ids (ranges); the others are ignored like HF's -100 labels (completion-only training)",
  },
  "shuffle-block": {
    type: "string",
    arg: "N",
    help: "documents per shuffle block: files are read in a seeded order and documents shuffled within blocks of N, so with small blocks the data follows the files (one source after another); a block larger than the corpus mixes every document",
    computedDefault: "256",
  },
  "checkpoint-activations": {
    type: "boolean",
    help: "keep only each decoder layer's input and recompute the layer in backward (less activation memory, one more forward per step)",
  },
  dtype: {
    type: "string",
    arg: "f32|f16",
    help: "f16: mixed precision (f32 weights and AdamW state, f16 forward and backward, dynamic loss scaling); f32 with a note where the adapter lacks shader-f16",
    default: "f32",
  },
  out: { type: "string", arg: "DIR", help: "run folder", default: "runs/train" },
  "checkpoint-every": {
    type: "string",
    arg: "N",
    help: "checkpoint every N steps (and at the end)",
    default: "50",
  },
  packing: {
    type: "boolean",
    help: "pack documents end to end (the paper uses one document per row)",
  },
  "init-std": {
    type: "string",
    arg: "STD",
    help: "std of the normal init of a fresh preset's weight matrices (HF initializer_range)",
    computedDefault: "0.02",
  },
  "ac-init": {
    type: "string",
    arg: "mean|copy-period",
    help: "initial <AC> embedding",
    default: "mean",
  },
  "on-nonfinite": {
    type: "string",
    arg: "stop|skip",
    help: "NaN/Inf loss or gradient: stop (checkpoint of the last good state) or skip the step",
    default: "stop",
  },
  resume: { type: "boolean", help: "continue the run in --out from its latest checkpoint" },
  "resume-from": {
    type: "string",
    arg: "step-N",
    help: "continue the run in --out from this checkpoint (a folder name under checkpoints/)",
  },
  "extend-positions": {
    type: "boolean",
    help: "allow --seq-len above the model's max_position_embeddings (extends its positions)",
  },
};

/** Keys that may differ from the stored config when resuming. */
const RESUME_MUTABLE = new Set([
  "steps",
  "checkpoint-every",
  "checkpoint-activations",
  "on-nonfinite",
  "out",
  "resume",
  "resume-from",
  "config",
  "json",
  "help",
]);

/** Reads a --config JSON file into flag values (strings / string arrays), checking its keys. */
export function readConfigFile(path: string): Values {
  if (!existsSync(path)) throw new UsageError("train", `--config file not found: ${path}`);
  let obj: unknown;
  try {
    obj = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError("train", `--config ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new UsageError("train", `--config ${path} must hold a JSON object of option: value`);
  }
  const out: Values = {};
  for (const [k, v] of Object.entries(obj)) {
    const spec = TRAIN_SPECS[k];
    if (!spec || k === "config" || k === "resume" || k === "resume-from") {
      throw new UsageError("train", `--config ${path}: unknown option "${k}"`);
    }
    if (spec.type === "boolean") {
      if (typeof v !== "boolean")
        throw new UsageError("train", `--config ${path}: "${k}" must be true or false`);
      out[k] = v;
    } else if (spec.multiple) out[k] = (Array.isArray(v) ? v : [v]).map(String);
    else if (typeof v === "string" || typeof v === "number") out[k] = String(v);
    else throw new UsageError("train", `--config ${path}: "${k}" must be a string or a number`);
  }
  return out;
}

function defaultTokenizer(model: string): string {
  // a folder brings its own (anllm.json of a checkpoint/run, tokenizer.json, else Llama-2)
  if (existsSync(model)) return "from-model";
  return model === "tiny" || model === "small" ? "bytes" : "llama2";
}

/**
 * Validates the given flag values (command line merged over --config) into a TrainConfig, with the
 * table's defaults for the rest (UsageError names the flag).
 */
export function toTrainConfig(given: Values, defaultData: () => string): TrainConfig {
  const c = "train";
  const v = withDefaults(given, TRAIN_SPECS);
  const model = str(v, "model")!;
  const data = (v.data as string[] | undefined) ?? [defaultData()];
  const steps = int(c, v, "steps", 1)!;
  return {
    model,
    tokenizer: str(v, "tokenizer") ?? defaultTokenizer(model),
    data,
    anchor: choice(c, v, "anchor", ANCHOR_MODES)!,
    steps,
    batchSize: int(c, v, "batch-size", 1, 4096)!,
    gradAccum: int(c, v, "grad-accum", 1, 65536)!,
    seqLen: int(c, v, "seq-len", 2, 1 << 20)!,
    lr: num(c, v, "lr", 0, 10)!,
    schedule: choice(c, v, "schedule", SCHEDULE_KINDS)!,
    warmup: int(c, v, "warmup", 0)!,
    minLrRatio: num(c, v, "min-lr-ratio", 0, 1)!,
    weightDecay: num(c, v, "weight-decay", 0, 10)!,
    maxGradNorm: num(c, v, "max-grad-norm", 0)!,
    seed: int(c, v, "seed", 0, 2 ** 32 - 1)!,
    out: str(v, "out")!,
    checkpointEvery: int(c, v, "checkpoint-every", 1)!,
    mode: v.packing === true ? "pack" : "paper",
    acInit: choice(c, v, "ac-init", ["mean", "copy-period"] as const)!,
    onNonFinite: choice(c, v, "on-nonfinite", ["stop", "skip"] as const)!,
    ...(v["extend-positions"] === true ? { extendPositions: true } : {}),
    dtype: choice(c, v, "dtype", ["f32", "f16"] as const)!,
    ...(v["checkpoint-activations"] === true ? { checkpointActivations: true } : {}),
    ...(v["shuffle-block"] !== undefined
      ? { shuffleBlock: int(c, v, "shuffle-block", 1, 1 << 24)! }
      : {}),
    ...maskOption(c, v),
    ...(v["loss-ids"] !== undefined ? { lossIds: lossIdsOption(c, str(v, "loss-ids")!) } : {}),
    ...(v["init-std"] !== undefined ? { initStd: num(c, v, "init-std", 1e-6, 10)! } : {}),
  };
}

function lossIdsOption(c: string, text: string): string {
  try {
    parseIdRanges(text);
  } catch (e) {
    throw new UsageError(c, `--loss-ids: ${(e as Error).message} (expected e.g. 776-865,5)`);
  }
  return text.replace(/\s+/g, "");
}

/** --mask: checked against --anchor; sepllm's options parsed here so a typo fails before training. */
function maskOption(c: string, v: Values): { mask?: string } {
  const mask = str(v, "mask");
  if (mask === undefined) return {};
  const anchor = str(v, "anchor");
  if (mask === "anchor" || mask === "causal") {
    if ((mask === "anchor") !== (anchor !== "none"))
      throw new UsageError(
        c,
        `--mask ${mask} does not fit --anchor ${anchor} (anchor mask: --anchor ac|ep; causal: --anchor none)`,
      );
    return {};
  }
  let policy: ReturnType<typeof parsePolicy>;
  try {
    policy = parsePolicy(mask);
  } catch (e) {
    throw new UsageError(c, `--mask: ${(e as Error).message}`);
  }
  if (policy.kind !== "sepllm" && policy.kind !== "sink")
    throw new UsageError(c, `--mask takes anchor, causal, sepllm[:...] or sink[:...], got ${mask}`);
  if (anchor !== "none")
    throw new UsageError(
      c,
      `--mask ${policy.kind} trains without anchor tokens: pass --anchor none`,
    );
  return { mask: formatPolicy(policy) };
}

/** Merges a resumed run's stored config with the flags given now (only mutable keys may differ). */
export function resumeConfig(stored: TrainConfig, now: TrainConfig, given: Values): TrainConfig {
  const byFlag: Record<string, keyof TrainConfig> = {
    model: "model",
    tokenizer: "tokenizer",
    data: "data",
    anchor: "anchor",
    "batch-size": "batchSize",
    "grad-accum": "gradAccum",
    "seq-len": "seqLen",
    lr: "lr",
    schedule: "schedule",
    warmup: "warmup",
    "min-lr-ratio": "minLrRatio",
    "weight-decay": "weightDecay",
    "max-grad-norm": "maxGradNorm",
    seed: "seed",
    packing: "mode",
    "ac-init": "acInit",
    "extend-positions": "extendPositions",
    dtype: "dtype",
    "checkpoint-activations": "checkpointActivations",
    "shuffle-block": "shuffleBlock",
    mask: "mask",
    "loss-ids": "lossIds",
    "init-std": "initStd",
  };
  for (const flag of Object.keys(given)) {
    if (RESUME_MUTABLE.has(flag) || given[flag] === undefined) continue;
    const key = byFlag[flag];
    if (key && JSON.stringify(stored[key]) !== JSON.stringify(now[key])) {
      throw new UsageError(
        "train",
        `--${flag} ${JSON.stringify(now[key])} differs from the run being resumed (${JSON.stringify(stored[key])}); ` +
          "a resumed run keeps its options (only --steps and --checkpoint-every may change)",
      );
    }
  }
  return {
    ...stored,
    steps: given.steps !== undefined ? now.steps : stored.steps,
    checkpointEvery:
      given["checkpoint-every"] !== undefined ? now.checkpointEvery : stored.checkpointEvery,
    onNonFinite:
      given["on-nonfinite"] !== undefined ? now.onNonFinite : (stored.onNonFinite ?? "stop"),
    // recomputing layers changes memory and time, not the numbers: it may change on resume
    ...(given["checkpoint-activations"] !== undefined
      ? { checkpointActivations: now.checkpointActivations === true }
      : {}),
    out: now.out,
  };
}
