// Named error classes of @anllm/llama2-model: bad configs, bad or mismatched weight files,
// and misuse of the KV cache / generation API. Messages name the file/field and what was expected.

/** A config.json (or a LlamaConfig object) is missing a field or holds an impossible value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * A checkpoint folder's config or index is malformed, or its tensors do not match the model.
 * (A malformed safetensors file itself throws SafetensorsError from @anllm/tensor/io.)
 */
export class WeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WeightsError";
  }
}

/** Invalid input to forward / loss / the KV cache / generate (shapes, lengths, ids). */
export class ModelInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelInputError";
  }
}
