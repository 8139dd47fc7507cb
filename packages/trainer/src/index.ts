// Public surface of @anllm/trainer: a generic training loop (parameters + loss closure + resumable
// batch stream), AdamW, learning-rate schedules, clipping, atomic checkpoints and the metrics stream.
// Safetensors I/O is @anllm/tensor/io's.
export { AdamW, type AdamWOptions } from "./adamw";
export {
  type CheckpointContent,
  type Json,
  type LatestPointer,
  latestCheckpoint,
  loadCheckpoint,
  readTrainerState,
  safetensorsWeights,
  saveCheckpoint,
  type TrainerState,
  type WeightsIO,
} from "./checkpoint";
export { clipFactor, globalGradNorm } from "./clip";
export { CheckpointError, DataExhaustedError, NonFiniteError, TrainerConfigError } from "./errors";
export { readMetrics, type StepMetrics } from "./metrics";
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
export { type StopReason, type TrainResult, train } from "./train";
