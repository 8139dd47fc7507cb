// Public surface of @anllm/llama2-model: config + presets, shape-only specs, weight I/O,
// the Llama2 model (training forward / loss, anchor tokens), the anchor KV cache and generation.

// Safetensors I/O and the f16/bf16 conversions live in @anllm/tensor (one implementation for
// every package); re-exported here so existing imports keep working.
export { bf16ToF32, f16ToF32, f32ToBF16, f32ToF16, f32ToF16Bits } from "@anllm/tensor";
export {
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsError,
  SafetensorsFile,
  storedBytes,
  type TensorSource,
  writeSafetensors,
} from "@anllm/tensor/io";
export {
  type BatchArrays,
  batchArrays,
  checkBatch,
  type ModelBatch,
  shiftedTargets,
} from "./batch";
export {
  atomicWriteText,
  CheckpointReader,
  readConfig,
  type SaveOptions,
  saveCheckpoint,
} from "./checkpoint";
export {
  configFromHF,
  configToHF,
  type LlamaConfig,
  PRESETS,
  type PresetName,
  preset,
  validateConfig,
} from "./config";
export { ConfigError, ModelInputError, WeightsError } from "./errors";
export { type GenerateOptions, type GenerateResult, generate } from "./generate";
export { type CacheOptions, type CacheStats, KVCache } from "./kv-cache";
export { type HeadLossOptions, lmHeadLoss } from "./loss";
export { Llama2, type LoadOptions, pickRows, uploadMask } from "./model";
export { argmax, type SampleOptions, sampleToken, seededRng } from "./sampling";
export {
  dtypeBytes,
  formatBytes,
  type MemoryReport,
  memoryReport,
  type ParamSpec,
  paramSpecs,
  type WeightDType,
} from "./spec";
export { type InitOptions, initParams, layerNames } from "./weights";
