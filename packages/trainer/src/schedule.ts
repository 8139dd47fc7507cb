// Learning-rate schedules, as multipliers of the peak rate: constant with linear warm-up (the
// paper's `constant_with_warmup`, apps/docs/guide/method.md), linear decay and cosine decay. The
// formulas follow Hugging Face Transformers' schedulers, indexed by the number of optimiser steps
// already done.

import { TrainerConfigError } from "./errors";

/** Which curve; "constant" with `warmupSteps: 20` is the paper's schedule. */
export type ScheduleKind = "constant" | "linear" | "cosine";

/** A learning-rate schedule; plain JSON so checkpoints can store it. */
export interface ScheduleOptions {
  kind: ScheduleKind;
  /** peak learning rate (the paper: 2e-5) */
  lr: number;
  /** steps of linear warm-up from 0 to `lr` (the paper: 20); default 0 */
  warmupSteps?: number;
  /** total optimiser steps; linear and cosine decay reach `minLrRatio * lr` there */
  totalSteps?: number;
  /** floor of the decaying schedules as a fraction of `lr`; default 0 */
  minLrRatio?: number;
}

/** All schedule kinds, for option validation. */
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ["constant", "linear", "cosine"];

/** Throws {@link TrainerConfigError} if the schedule cannot be evaluated. */
export function validateSchedule(s: ScheduleOptions): void {
  if (!SCHEDULE_KINDS.includes(s.kind)) {
    throw new TrainerConfigError(
      "schedule.kind",
      `expected one of ${SCHEDULE_KINDS.join(", ")}, got "${s.kind}"`,
    );
  }
  if (!(Number.isFinite(s.lr) && s.lr >= 0)) {
    throw new TrainerConfigError("schedule.lr", `expected a finite number >= 0, got ${s.lr}`);
  }
  const warm = s.warmupSteps ?? 0;
  if (!(Number.isInteger(warm) && warm >= 0)) {
    throw new TrainerConfigError("schedule.warmupSteps", `expected an integer >= 0, got ${warm}`);
  }
  if (s.kind !== "constant") {
    const total = s.totalSteps;
    if (total === undefined || !Number.isInteger(total) || total < 1) {
      throw new TrainerConfigError(
        "schedule.totalSteps",
        `"${s.kind}" needs an integer >= 1, got ${total}`,
      );
    }
  }
  const floor = s.minLrRatio ?? 0;
  if (!(floor >= 0 && floor <= 1)) {
    throw new TrainerConfigError(
      "schedule.minLrRatio",
      `expected a number in [0, 1], got ${floor}`,
    );
  }
}

/**
 * Learning rate for the optimiser step that follows `done` completed steps (so the first step
 * uses `done = 0`; during warm-up it gets lr * done / warmupSteps, as in Transformers).
 * @example
 * learningRate({ kind: "constant", lr: 2e-5, warmupSteps: 20 }, 10); // 1e-5
 */
export function learningRate(s: ScheduleOptions, done: number): number {
  const warm = s.warmupSteps ?? 0;
  if (done < warm) return (s.lr * done) / Math.max(1, warm);
  if (s.kind === "constant") return s.lr;
  const total = s.totalSteps ?? done;
  const floor = s.minLrRatio ?? 0;
  const progress = Math.min(1, Math.max(0, (done - warm) / Math.max(1, total - warm)));
  const factor = s.kind === "linear" ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return s.lr * (floor + (1 - floor) * factor);
}
