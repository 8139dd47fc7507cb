// Public, browser-safe surface of @anllm/trainer: AdamW, learning-rate schedules, clipping and the
// types of the training loop. The loop itself (`train`), atomic checkpoints and the metrics stream
// write to disk and live in @anllm/trainer/node. Safetensors I/O is @anllm/tensor/io's.
export { AdamW, type AdamWOptions } from "./adamw";
export type {
  CheckpointContent,
  Json,
  LatestPointer,
  TrainerState,
  WeightsIO,
} from "./checkpoint";
export { clipFactor, globalGradNorm } from "./clip";
export { CheckpointError, DataExhaustedError, NonFiniteError, TrainerConfigError } from "./errors";
export type { StepMetrics } from "./metrics";
export {
  type BatchStream,
  type LossContext,
  type LossScaleOptions,
  resolveLossScale,
  type TrainOptions,
} from "./options";
export type { ProgressMode } from "./progress";
export {
  learningRate,
  SCHEDULE_KINDS,
  type ScheduleKind,
  type ScheduleOptions,
} from "./schedule";
export type { StopReason, TrainResult } from "./train";
