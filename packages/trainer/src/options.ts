// The trainer's options: what the caller supplies (parameters, a loss closure, a resumable batch
// stream) and the knobs of the recipe (steps, accumulation, clipping, schedule, checkpoints).

import type { SeededRandom, Tensor } from "@anllm/tensor";
import type { AdamWOptions } from "./adamw";
import type { Json, WeightsIO } from "./checkpoint";
import { TrainerConfigError } from "./errors";
import type { StepMetrics } from "./metrics";
import type { ProgressMode } from "./progress";
import { type ScheduleOptions, validateSchedule } from "./schedule";

/**
 * A resumable stream of batches. `iterate(cursor)` yields the batches after `cursor`
 * (undefined = from the beginning); `cursor()` returns the position just after the last batch
 * yielded so far (not after batches merely prefetched). Repeat epochs inside `iterate` if needed.
 */
export interface BatchStream<B> {
  iterate(cursor: Json | undefined): AsyncIterable<B>;
  cursor(): Json;
}

/** Passed to the loss closure on every micro-batch. */
export interface LossContext {
  /** optimiser step being computed (1-based) */
  step: number;
  /** micro-batch index within the step (0 .. gradAccum-1) */
  micro: number;
  /** the run's seeded generator (state saved in checkpoints) */
  rng: SeededRandom;
}

/** Options of {@link train}. */
export interface TrainOptions<B> {
  /** trainable f32 parameters by name (a tensor shared under two names is updated once) */
  params: Map<string, Tensor>;
  /** builds the scalar loss of one micro-batch (the trainer scales it by 1/gradAccum and backprops) */
  loss: (batch: B, ctx: LossContext) => Tensor;
  data: BatchStream<B>;
  /** total optimiser steps of the run (a resumed run continues up to this) */
  steps: number;
  /** micro-batches per optimiser step; default 1 */
  gradAccum?: number;
  /** tokens in a batch, for tokens/s; default: none counted */
  batchTokens?: (batch: B) => number;
  optimizer?: AdamWOptions;
  schedule: ScheduleOptions;
  /** global-norm clipping threshold; null = off; default 1.0 (the paper) */
  maxGradNorm?: number | null;
  /** seed of the run's generator; default 34 (the paper) */
  seed?: number;
  /** run folder: metrics.jsonl and checkpoints/ go here; omit for an in-memory run */
  outDir?: string;
  /** checkpoint every N steps (and at the end); default: only at the end */
  checkpointEvery?: number;
  /** checkpoints kept on disk; default 2 */
  keepCheckpoints?: number;
  /** continue from the newest checkpoint in outDir (true) or from a given checkpoint folder */
  resume?: boolean | string;
  /** what to do with a NaN/Infinity loss or gradient norm; default "stop" */
  onNonFinite?: "skip" | "stop";
  /** with "skip": stop after this many consecutive skipped steps; default 5 */
  maxConsecutiveSkips?: number;
  /** written as config.json in every checkpoint (the HF model config, typically) */
  config?: Json;
  /** extra text files written into every checkpoint */
  checkpointFiles?: Record<string, string>;
  /** custom weights format (default: model.safetensors keyed by parameter name) */
  weights?: WeightsIO;
  /** caller state saved in checkpoints and returned on resume */
  extraState?: Json;
  /**
   * Dynamic loss scaling for mixed precision (f16 forward/backward on f32 master weights), as
   * PyTorch's GradScaler: the loss is multiplied by the scale before backward; a step whose
   * gradients hold inf/NaN is skipped and the scale multiplied by `backoffFactor`; after
   * `growthInterval` good steps in a row it is multiplied by `growthFactor`. Gradients are
   * unscaled before clipping and the update. The scale is saved in checkpoints. Off by default.
   */
  lossScale?: LossScaleOptions | null;
  /** "auto" (default): bar on a TTY, log lines otherwise */
  progress?: ProgressMode;
  /** called after each step with its metrics */
  onStep?: (m: StepMetrics) => void | Promise<void>;
  /** caller data recorded with each step's metrics as `data` (e.g. the loader's skipped records) */
  stepData?: () => Json;
  /** abort: the trainer checkpoints (if outDir) and returns with stopReason "aborted" */
  signal?: AbortSignal;
  /** when the stream ends early: "stop" (default, checkpoint and return) or "error" */
  dataEnd?: "stop" | "error";
}

/** Dynamic loss scaling (see TrainOptions.lossScale); defaults are GradScaler's. */
export interface LossScaleOptions {
  /** initial scale; default 65536 (2^16) */
  init?: number;
  /** default 2 */
  growthFactor?: number;
  /** default 0.5 */
  backoffFactor?: number;
  /** good steps in a row before the scale grows; default 2000 */
  growthInterval?: number;
}

/** LossScaleOptions with every default filled in. */
export function resolveLossScale(o: LossScaleOptions): Required<LossScaleOptions> {
  return {
    init: o.init ?? 65536,
    growthFactor: o.growthFactor ?? 2,
    backoffFactor: o.backoffFactor ?? 0.5,
    growthInterval: o.growthInterval ?? 2000,
  };
}

function intAtLeast(field: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min)) {
    throw new TrainerConfigError(field, `expected an integer >= ${min}, got ${v}`);
  }
}

/** Throws {@link TrainerConfigError} for the first invalid option. */
export function validateTrainOptions<B>(o: TrainOptions<B>): void {
  if (!(o.params instanceof Map) || o.params.size === 0) {
    throw new TrainerConfigError("params", "expected a non-empty Map<string, Tensor>");
  }
  for (const [name, p] of o.params) {
    if (p.dtype !== "f32") {
      throw new TrainerConfigError("params", `"${name}" is ${p.dtype}; training is f32 only`);
    }
  }
  intAtLeast("steps", o.steps, 1);
  intAtLeast("gradAccum", o.gradAccum, 1);
  intAtLeast("checkpointEvery", o.checkpointEvery, 1);
  intAtLeast("keepCheckpoints", o.keepCheckpoints, 1);
  intAtLeast("maxConsecutiveSkips", o.maxConsecutiveSkips, 1);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) {
    throw new TrainerConfigError("seed", `expected an integer, got ${o.seed}`);
  }
  const clip = o.maxGradNorm;
  if (clip !== undefined && clip !== null && !(clip > 0)) {
    throw new TrainerConfigError("maxGradNorm", `expected a number > 0 or null, got ${clip}`);
  }
  if (o.resume && !o.outDir && typeof o.resume !== "string") {
    throw new TrainerConfigError(
      "resume",
      "resume: true needs outDir (the run folder to continue)",
    );
  }
  if (o.lossScale) {
    const ls = resolveLossScale(o.lossScale);
    if (!(ls.init > 0 && Number.isFinite(ls.init)))
      throw new TrainerConfigError(
        "lossScale.init",
        `expected a finite number > 0, got ${ls.init}`,
      );
    if (!(ls.growthFactor > 1))
      throw new TrainerConfigError(
        "lossScale.growthFactor",
        `expected > 1, got ${ls.growthFactor}`,
      );
    if (!(ls.backoffFactor > 0 && ls.backoffFactor < 1))
      throw new TrainerConfigError(
        "lossScale.backoffFactor",
        `expected a number in (0, 1), got ${ls.backoffFactor}`,
      );
    intAtLeast("lossScale.growthInterval", ls.growthInterval, 1);
  }
  validateSchedule(o.schedule);
}
