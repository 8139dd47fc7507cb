// Public, browser-safe surface of @anllm/llama2-model: config + presets, shape-only specs, HF model
// folders from any storage (disk: @anllm/llama2-model/node), the Llama2 model (training forward / loss, anchor tokens, cached inference), the KV cache and
// generation. Safetensors and the f16/bf16 conversions are @anllm/tensor's (`@anllm/tensor/io`).
export { type BatchArrays, batchArrays, type ModelBatch, shiftedTargets } from "./batch";
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
export {
  type GenerateOptions,
  type GenerateResult,
  type GenerateStep,
  generate,
} from "./generate";
export { type CacheStats, type ChunkPlan, KVCache, type KVCacheOptions } from "./kv-cache";
export { type HeadLossOptions, lmHeadLoss } from "./loss";
export { Llama2, type LoadOptions, type TrainLossOptions } from "./model";
export {
  CheckpointReader,
  filesModelFolder,
  type ModelFolder,
  memoryModelFolder,
  readConfigFrom,
  urlModelFolder,
  type WeightFile,
} from "./model-folder";
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
