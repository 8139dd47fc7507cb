// The training loop: for each optimiser step, pull `gradAccum` micro-batches, backprop each scaled
// loss, measure the global gradient norm, guard against NaN/Infinity, clip, apply AdamW with the
// scheduled learning rate, then write metrics, progress and (periodically) an atomic checkpoint.

import { join } from "node:path";
import {
  backward,
  memoryStats,
  type SeededRandom,
  scale,
  seededRandom,
  sum,
  type Tensor,
  tidy,
} from "@anllm/tensor";
import { makeDirs } from "@anllm/tensor/io";
import { AdamW } from "./adamw";
import {
  type Json,
  latestCheckpoint,
  loadCheckpoint,
  previousComplete,
  saveCheckpoint,
} from "./checkpoint";
import { clipFactor, globalGradNorm } from "./clip";
import { CheckpointError, DataExhaustedError, NonFiniteError } from "./errors";
import { MetricsWriter, type StepMetrics } from "./metrics";
import {
  type LossScaleOptions,
  resolveLossScale,
  type TrainOptions,
  validateTrainOptions,
} from "./options";
import { createProgress, type ProgressReporter } from "./progress";
import { learningRate } from "./schedule";

/** Why {@link train} returned. */
export type StopReason = "completed" | "data-exhausted" | "aborted" | "too-many-skips";

/** What {@link train} returns. */
export interface TrainResult {
  /** optimiser steps completed in total (including steps done before a resume) */
  step: number;
  /** the step the run started from (0, or the resumed checkpoint's step) */
  startStep: number;
  /** metrics of the steps run by this call */
  history: StepMetrics[];
  stopReason: StopReason;
  /** the last checkpoint written, or null */
  checkpointDir: string | null;
  /** caller state from the resumed checkpoint (undefined when not resumed) */
  resumedExtra?: Json;
  /** number of steps skipped for non-finite values */
  skippedSteps: number;
  wallMs: number;
}

/** Name (with `prefix`) of the first tensor holding NaN or ±Infinity, or null: one reduction each. */
async function firstNonFinite(tensors: Map<string, Tensor>, prefix = ""): Promise<string | null> {
  for (const [name, t] of tensors) {
    // 0 * x is 0 for every finite x and NaN for NaN and ±Infinity, and a sum of zeros cannot overflow
    const s = tidy(() => sum(scale(t, 0)));
    const v = await s.item();
    s.dispose();
    if (!Number.isFinite(v)) return prefix + name;
  }
  return null;
}

/**
 * A resume failure with the newest older checkpoint under `root` that is complete (trainer state,
 * weights and optimiser headers readable) named in it, so the user can resume from that instead.
 */
async function withPrevious(
  e: unknown,
  root: string | null,
  failed: string | null,
): Promise<unknown> {
  if (!root || !(e instanceof Error)) return e;
  const prev = await previousComplete(root, failed);
  if (!prev) return e;
  const path = e instanceof CheckpointError ? e.path : (failed ?? root);
  const detail = e instanceof CheckpointError ? e.detail : e.message;
  return new CheckpointError(path, detail, prev);
}

/** Drops duplicate tensors (one tensor under two names, e.g. tied embeddings): first name wins. */
function uniqueParams(params: Map<string, Tensor>): Map<string, Tensor> {
  const seen = new Set<Tensor>();
  const out = new Map<string, Tensor>();
  for (const [n, p] of params) {
    if (seen.has(p)) continue;
    seen.add(p);
    out.set(n, p);
  }
  return out;
}

/**
 * Trains `params` on `data` with `loss` (the recipe of apps/docs/guide/method.md).
 * @example
 * const res = await train({ params, loss: (b) => model.loss(b), data, steps: 100,
 *   schedule: { kind: "constant", lr: 2e-5, warmupSteps: 20 }, outDir: "runs/x", checkpointEvery: 50 });
 */
export async function train<B>(opts: TrainOptions<B>): Promise<TrainResult> {
  validateTrainOptions(opts);
  const run = new TrainingRun(opts);
  return run.run();
}

class TrainingRun<B> {
  readonly params: Map<string, Tensor>;
  readonly optimizer: AdamW;
  readonly gradAccum: number;
  readonly metrics: MetricsWriter | null;
  readonly ckptRoot: string | null;
  rng: SeededRandom;
  step = 0;
  startStep = 0;
  totalTokens = 0;
  cursor: Json | undefined = undefined;
  lastCheckpoint: string | null = null;
  resumedExtra: Json | undefined = undefined;
  skipped = 0;
  consecutiveSkips = 0;
  history: StepMetrics[] = [];
  lastSavedStep = -1;
  /** dynamic loss scaling (null: off): its options, the scale and the good steps since it changed */
  scaler: (Required<LossScaleOptions> & { scale: number; goodSteps: number }) | null;

  constructor(readonly o: TrainOptions<B>) {
    this.params = uniqueParams(o.params);
    this.optimizer = new AdamW(this.params, o.optimizer);
    this.gradAccum = o.gradAccum ?? 1;
    this.rng = seededRandom(o.seed ?? 34);
    if (o.outDir) makeDirs(o.outDir);
    this.metrics = o.outDir ? new MetricsWriter(join(o.outDir, "metrics.jsonl")) : null;
    this.ckptRoot = o.outDir ? join(o.outDir, "checkpoints") : null;
    const ls = o.lossScale ? resolveLossScale(o.lossScale) : null;
    this.scaler = ls ? { ...ls, scale: ls.init, goodSteps: 0 } : null;
  }

  async run(): Promise<TrainResult> {
    const t0 = Date.now();
    await this.maybeResume();
    const total = this.o.steps;
    const progress = createProgress(this.o.progress ?? "auto", this.step, total);
    let reason: StopReason = "completed";
    try {
      reason = await this.loop(progress);
    } finally {
      progress.stop();
      this.optimizer.dispose();
    }
    return {
      step: this.step,
      startStep: this.startStep,
      history: this.history,
      stopReason: reason,
      checkpointDir: this.lastCheckpoint,
      resumedExtra: this.resumedExtra,
      skippedSteps: this.skipped,
      wallMs: Date.now() - t0,
    };
  }

  private async maybeResume(): Promise<void> {
    const r = this.o.resume;
    if (!r) {
      // a fresh run: lines left by an earlier run killed before its first checkpoint are stale
      await this.metrics?.truncateAfter(0);
      return;
    }
    let dir: string | null;
    try {
      dir = typeof r === "string" ? r : await latestCheckpoint(this.ckptRoot!);
    } catch (e) {
      throw await withPrevious(e, this.ckptRoot, null);
    }
    if (!dir) {
      throw new CheckpointError(this.ckptRoot!, "resume requested but no checkpoint exists here");
    }
    let st: Awaited<ReturnType<typeof loadCheckpoint>>;
    try {
      st = await loadCheckpoint(dir, this.params, this.optimizer, this.o.weights);
      const bad =
        (await firstNonFinite(this.params)) ??
        (await firstNonFinite(this.optimizer.m, "m.")) ??
        (await firstNonFinite(this.optimizer.v, "v."));
      if (bad) {
        throw new CheckpointError(
          dir,
          `tensor "${bad}" holds NaN or Infinity, so this checkpoint is not a usable state`,
        );
      }
    } catch (e) {
      throw await withPrevious(e, this.ckptRoot, dir);
    }
    this.step = this.startStep = st.step;
    this.totalTokens = st.totalTokens;
    this.rng = seededRandom.fromState(st.rng);
    this.cursor = st.dataCursor;
    this.resumedExtra = st.extra;
    // a checkpoint of a run without loss scaling continues from the initial scale
    if (this.scaler && st.lossScale) Object.assign(this.scaler, st.lossScale);
    this.lastCheckpoint = dir;
    this.lastSavedStep = st.step;
    await this.metrics?.truncateAfter(st.step);
  }

  private async loop(progress: ProgressReporter): Promise<StopReason> {
    const it = this.o.data.iterate(this.cursor)[Symbol.asyncIterator]();
    const every = this.o.checkpointEvery;
    while (this.step < this.o.steps) {
      if (this.o.signal?.aborted) {
        await this.checkpoint();
        return "aborted";
      }
      const m = await this.trainStep(it);
      if (m === "exhausted") {
        if (this.o.dataEnd === "error") throw new DataExhaustedError(this.step + 1);
        await this.checkpoint();
        return "data-exhausted";
      }
      progress.update(m);
      if (m.skipped && this.consecutiveSkips >= (this.o.maxConsecutiveSkips ?? 5)) {
        await this.checkpoint();
        return "too-many-skips";
      }
      if (every && this.step % every === 0 && this.step < this.o.steps) await this.checkpoint();
    }
    await this.checkpoint();
    return "completed";
  }

  /** Runs one optimiser step; "exhausted" when the stream ended before its micro-batches. */
  private async trainStep(it: AsyncIterator<B>): Promise<StepMetrics | "exhausted"> {
    const t0 = performance.now();
    const stepNo = this.step + 1;
    const lr = learningRate(this.o.schedule, this.step);
    let lossSum = 0;
    let tokens = 0;
    for (let micro = 0; micro < this.gradAccum; micro++) {
      const r = await it.next();
      if (r.done) {
        this.optimizer.zeroGrad();
        return "exhausted";
      }
      tokens += this.o.batchTokens?.(r.value) ?? 0;
      lossSum += await this.microStep(r.value, stepNo, micro);
    }
    const loss = lossSum / this.gradAccum;
    const ls = this.scaler;
    // the gradients hold scale * dL/dw: their norm, unscaled
    const gradNorm = (await globalGradNorm(this.params.values())) / (ls?.scale ?? 1);
    // with loss scaling, inf/NaN gradients of a finite loss are an f16 overflow: skip the step
    // and shrink the scale (GradScaler), rather than a divergence
    const overflow = ls !== null && Number.isFinite(loss) && !Number.isFinite(gradNorm);
    const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
    if (!finite && !overflow) await this.handleNonFinite(stepNo, loss, gradNorm);
    const factor = clipFactor(gradNorm, this.o.maxGradNorm === undefined ? 1 : this.o.maxGradNorm);
    if (finite) this.optimizer.step(lr, factor / (ls?.scale ?? 1));
    this.optimizer.zeroGrad();
    if (ls) this.updateScale(ls, overflow, stepNo);
    this.step = stepNo;
    this.totalTokens += tokens;
    this.cursor = this.o.data.cursor();
    const m = this.record(
      stepNo,
      {
        loss,
        lr,
        gradNorm,
        tokens,
        clipped: factor < 1,
        skipped: !finite,
        ...(ls ? { lossScale: ls.scale } : {}),
      },
      t0,
    );
    await this.o.onStep?.(m);
    return m;
  }

  /** GradScaler's update: back off on overflow, grow after growthInterval good steps. */
  private updateScale(
    ls: NonNullable<TrainingRun<B>["scaler"]>,
    overflow: boolean,
    step: number,
  ): void {
    if (overflow) {
      this.skipped += 1;
      ls.scale *= ls.backoffFactor;
      ls.goodSteps = 0;
      process.stderr.write(
        `note: inf/NaN gradients at step ${step} (f16 overflow): step skipped, loss scale now ${ls.scale}\n`,
      );
      return;
    }
    ls.goodSteps += 1;
    if (ls.goodSteps >= ls.growthInterval) {
      ls.scale *= ls.growthFactor;
      ls.goodSteps = 0;
    }
  }

  /** Forward + backward of one micro-batch; returns its (unscaled) loss. */
  private async microStep(batch: B, step: number, micro: number): Promise<number> {
    const ctx = { step, micro, rng: this.rng };
    const k = (this.scaler?.scale ?? 1) / this.gradAccum;
    const lossT = tidy(() => {
      const l = this.o.loss(batch, ctx);
      if (l.size !== 1)
        throw new Error(`the loss closure must return a scalar, got shape [${l.shape}]`);
      backward(k === 1 ? l : scale(l, k));
      return l;
    });
    const v = await lossT.item();
    lossT.dispose();
    return v;
  }

  private async handleNonFinite(step: number, loss: number, gradNorm: number): Promise<void> {
    const what = Number.isFinite(loss) ? "gradNorm" : "loss";
    const value = what === "loss" ? loss : gradNorm;
    if ((this.o.onNonFinite ?? "stop") === "skip") {
      this.skipped += 1;
      this.consecutiveSkips += 1;
      process.stderr.write(
        `warning: non-finite ${what} (${value}) at step ${step}; step skipped\n`,
      );
      return;
    }
    // The parameters and moments still hold the state after step - 1: save that.
    this.optimizer.zeroGrad();
    const dir = await this.checkpoint();
    const firstAfterResume =
      this.o.resume !== undefined && this.o.resume !== false && step === this.startStep + 1;
    throw new NonFiniteError(step, what, value, dir, "", firstAfterResume);
  }

  private record(
    step: number,
    v: Pick<
      StepMetrics,
      "loss" | "lr" | "gradNorm" | "tokens" | "clipped" | "skipped" | "lossScale"
    >,
    t0: number,
  ): StepMetrics {
    if (!v.skipped) this.consecutiveSkips = 0;
    const stepMs = performance.now() - t0;
    const mem = memoryStats();
    const m: StepMetrics = {
      step,
      ...v,
      totalTokens: this.totalTokens,
      tokensPerSec: stepMs > 0 ? (v.tokens * 1000) / stepMs : 0,
      stepMs,
      memory: {
        liveBytes: mem.liveBytes,
        peakBytes: mem.peakBytes,
        pooledBytes: mem.pooledBytes,
        rssBytes: process.memoryUsage().rss,
      },
      time: new Date().toISOString(),
      ...(this.o.stepData ? { data: this.o.stepData() } : {}),
    };
    this.history.push(m);
    this.metrics?.write(m);
    return m;
  }

  /** Writes a checkpoint of the current state (if there is a run folder and anything new). */
  private async checkpoint(): Promise<string | null> {
    if (!this.ckptRoot) return null;
    if (this.lastCheckpoint && this.lastSavedStep === this.step) return this.lastCheckpoint;
    this.lastCheckpoint = await saveCheckpoint(
      this.ckptRoot,
      {
        params: this.params,
        optimizer: this.optimizer,
        state: {
          step: this.step,
          totalTokens: this.totalTokens,
          schedule: this.o.schedule,
          rng: this.rng.state(),
          dataCursor: this.cursor ?? this.o.data.cursor(),
          extra: this.o.extraState ?? null,
          lossScale: this.scaler
            ? { scale: this.scaler.scale, goodSteps: this.scaler.goodSteps }
            : null,
        },
        config: this.o.config,
        files: this.o.checkpointFiles,
        weights: this.o.weights,
      },
      this.o.keepCheckpoints ?? 2,
    );
    this.lastSavedStep = this.step;
    return this.lastCheckpoint;
  }
}
