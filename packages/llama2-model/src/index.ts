// Public surface of @anllm/llama2-model: config + presets, shape-only specs, HF model folders,
// the Llama2 model (training forward / loss, anchor tokens, cached inference), the KV cache and
// generation. Safetensors and the f16/bf16 conversions are @anllm/tensor's (`@anllm/tensor/io`).
export { type BatchArrays, batchArrays, type ModelBatch, shiftedTargets } from "./batch";
export {
  CheckpointReader,
  type ConvertOptions,
  convertModelFolder,
  readConfig,
  type SaveOptions,
  saveModelFolder,
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
export { type CacheStats, type ChunkPlan, KVCache, type KVCacheOptions } from "./kv-cache";
export { type HeadLossOptions, lmHeadLoss } from "./loss";
export { Llama2, type LoadOptions, type TrainLossOptions } from "./model";
export { type SampleOptions, sampleToken } from "./sampling";
export {
  formatBytes,
  kvBytesPerEntry,
  type MemoryReport,
  memoryReport,
  type ParamSpec,
  paramSpecs,
  type TrainingMemory,
  trainingMemory,
  type WeightDType,
} from "./spec";
export { type ModelDType, resolveModelDType, type WeightInitOptions } from "./weights";
