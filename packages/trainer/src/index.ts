// Public surface of @anllm/trainer: a generic training loop (parameters + loss closure + resumable
// batch stream), AdamW, learning-rate schedules, clipping, atomic checkpoints and the metrics stream.

// Safetensors I/O lives in @anllm/tensor/io (one implementation for every package); re-exported
// here so existing imports keep working.
export {
  type HostTensor,
  readSafetensorsHeader,
  readSafetensorsTensor,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
  type TensorSource,
  writeSafetensors,
} from "@anllm/tensor/io";
export { AdamW, type AdamWHyper, type AdamWOptions, resolveAdamW } from "./adamw";
export { fsyncPath, publishDir, writeFileAtomic } from "./atomic";
export {
  type CheckpointContent,
  checkpointName,
  type Json,
  type LatestPointer,
  latestCheckpoint,
  loadCheckpoint,
  readTrainerState,
  restoreTensors,
  safetensorsWeights,
  saveCheckpoint,
  type TrainerState,
  type WeightsIO,
} from "./checkpoint";
export { clipFactor, globalGradNorm } from "./clip";
export { CheckpointError, DataExhaustedError, NonFiniteError, TrainerConfigError } from "./errors";
export { MetricsWriter, readMetrics, type StepMetrics } from "./metrics";
export {
  type BatchStream,
  type LossContext,
  type TrainOptions,
  validateTrainOptions,
} from "./options";
export { createProgress, type ProgressMode, type ProgressReporter } from "./progress";
export { Rng, type RngState } from "./rng";
export {
  learningRate,
  SCHEDULE_KINDS,
  type ScheduleKind,
  type ScheduleOptions,
  validateSchedule,
} from "./schedule";
export { type StopReason, type TrainResult, train } from "./train";
