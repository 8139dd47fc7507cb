// LlamaConfig: the model hyper-parameters, read from / written to a Hugging Face config.json,
// plus named presets (Llama-2 7B/13B/70B, TinyLlama-1.1B, a "tiny" test size, a "small" demo size).
import { ConfigError } from "./errors";

/** Hyper-parameters of a Llama-2-style decoder (HF LlamaForCausalLM). */
export interface LlamaConfig {
  vocabSize: number;
  /** hidden_size */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** num_key_value_heads (GQA when < nHeads) */
  nKvHeads: number;
  headDim: number;
  /** intermediate_size */
  hiddenDim: number;
  /** max_position_embeddings */
  maxSeqLen: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId?: number;
}

const LLAMA2_COMMON = {
  vocabSize: 32000,
  maxSeqLen: 4096,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
  bosTokenId: 1,
  eosTokenId: 2,
} as const;

/** Names of the presets. */
export type PresetName =
  | "llama2-7b"
  | "llama2-13b"
  | "llama2-70b"
  | "tinyllama-1.1b"
  | "tiny"
  | "small";

/** Named configurations. "tiny" is the unit-test size (GQA 4:2); "small" trains in minutes on lavapipe. */
export const PRESETS: Record<PresetName, LlamaConfig> = {
  "llama2-7b": {
    ...LLAMA2_COMMON,
    dModel: 4096,
    nLayers: 32,
    nHeads: 32,
    nKvHeads: 32,
    headDim: 128,
    hiddenDim: 11008,
  },
  "llama2-13b": {
    ...LLAMA2_COMMON,
    dModel: 5120,
    nLayers: 40,
    nHeads: 40,
    nKvHeads: 40,
    headDim: 128,
    hiddenDim: 13824,
  },
  "llama2-70b": {
    ...LLAMA2_COMMON,
    dModel: 8192,
    nLayers: 80,
    nHeads: 64,
    nKvHeads: 8,
    headDim: 128,
    hiddenDim: 28672,
  },
  "tinyllama-1.1b": {
    ...LLAMA2_COMMON,
    maxSeqLen: 2048,
    dModel: 2048,
    nLayers: 22,
    nHeads: 32,
    nKvHeads: 4,
    headDim: 64,
    hiddenDim: 5632,
  },
  tiny: {
    vocabSize: 64,
    dModel: 32,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 8,
    hiddenDim: 64,
    maxSeqLen: 256,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
  },
  small: {
    vocabSize: 512,
    dModel: 128,
    nLayers: 4,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 32,
    hiddenDim: 352,
    maxSeqLen: 512,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
  },
};

/** Look up a preset by name; throws ConfigError listing the known names. */
export function preset(name: string): LlamaConfig {
  const c = (PRESETS as Record<string, LlamaConfig | undefined>)[name];
  if (!c) {
    throw new ConfigError(`unknown preset "${name}"; known: ${Object.keys(PRESETS).join(", ")}`);
  }
  return { ...c };
}

function num(json: Record<string, unknown>, key: string, where: string, fallback?: number): number {
  const v = json[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`${where}: missing required field "${key}"`);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ConfigError(
      `${where}: field "${key}" must be a finite number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function tokenId(v: unknown, where: string, key: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return tokenId(v[0], where, key); // newer configs allow a list of eos ids
  if (typeof v !== "number") throw new ConfigError(`${where}: "${key}" must be a token id number`);
  // old LLaMA conversions write pad_token_id: -1 for "no padding token"
  if (key === "pad_token_id" && v === -1) return undefined;
  return v;
}

/** HF names of the special-token fields, for messages about config.json files. */
const TOKEN_FIELDS = {
  bosTokenId: "bos_token_id",
  eosTokenId: "eos_token_id",
  padTokenId: "pad_token_id",
} as const;

/**
 * Parse an HF `config.json` object (LlamaForCausalLM). `where` names the source in errors.
 * Rejects configs with rope_scaling (Llama-2 has none; unsupported here) and non-SiLU activations.
 */
export function configFromHF(json: unknown, where = "config.json"): LlamaConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(`${where}: expected a JSON object`);
  }
  const j = json as Record<string, unknown>;
  if (j.model_type !== undefined && j.model_type !== "llama") {
    throw new ConfigError(
      `${where}: model_type must be "llama", got ${JSON.stringify(j.model_type)}`,
    );
  }
  if (j.hidden_act !== undefined && j.hidden_act !== "silu") {
    throw new ConfigError(
      `${where}: hidden_act must be "silu", got ${JSON.stringify(j.hidden_act)}`,
    );
  }
  if (j.rope_scaling !== undefined && j.rope_scaling !== null) {
    throw new ConfigError(
      `${where}: rope_scaling is not supported (got ${JSON.stringify(j.rope_scaling)})`,
    );
  }
  const dModel = num(j, "hidden_size", where);
  const nHeads = num(j, "num_attention_heads", where);
  const config: LlamaConfig = {
    vocabSize: num(j, "vocab_size", where),
    dModel,
    nLayers: num(j, "num_hidden_layers", where),
    nHeads,
    nKvHeads: num(j, "num_key_value_heads", where, nHeads),
    headDim: num(j, "head_dim", where, dModel / nHeads),
    hiddenDim: num(j, "intermediate_size", where),
    maxSeqLen: num(j, "max_position_embeddings", where, 4096),
    rmsNormEps: num(j, "rms_norm_eps", where, 1e-6),
    ropeTheta: num(j, "rope_theta", where, 10000),
    tieWordEmbeddings: j.tie_word_embeddings === true,
    bosTokenId: tokenId(j.bos_token_id, where, "bos_token_id") ?? 1,
    eosTokenId: tokenId(j.eos_token_id, where, "eos_token_id") ?? 2,
    padTokenId: tokenId(j.pad_token_id, where, "pad_token_id"),
  };
  validateConfig(config, where, true);
  return config;
}

/** Check integrality and divisibility rules (nHeads % nKvHeads == 0, even headDim, ...). */
export function validateConfig(c: LlamaConfig, where = "LlamaConfig", hfNames = false): void {
  const ints: (keyof LlamaConfig)[] = [
    "vocabSize",
    "dModel",
    "nLayers",
    "nHeads",
    "nKvHeads",
    "headDim",
    "hiddenDim",
    "maxSeqLen",
  ];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new ConfigError(`${where}: ${k} must be a positive integer, got ${String(v)}`);
    }
  }
  if (c.nHeads % c.nKvHeads !== 0) {
    throw new ConfigError(
      `${where}: nHeads (${c.nHeads}) must be a multiple of nKvHeads (${c.nKvHeads})`,
    );
  }
  if (c.headDim % 2 !== 0)
    throw new ConfigError(`${where}: headDim must be even, got ${c.headDim}`);
  for (const k of ["bosTokenId", "eosTokenId", "padTokenId"] as const) {
    const v = c[k];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0 || v >= c.vocabSize) {
      const field = hfNames ? `"${TOKEN_FIELDS[k]}"` : k;
      const vocab = hfNames ? `vocab_size ${c.vocabSize}` : `vocabSize ${c.vocabSize}`;
      throw new ConfigError(
        `${where}: ${field} ${String(v)} is not a token id of the vocabulary (expected an integer in [0, ${c.vocabSize}), ${vocab})`,
      );
    }
  }
  if (!(c.rmsNormEps > 0)) throw new ConfigError(`${where}: rmsNormEps must be > 0`);
  if (!(c.ropeTheta > 0)) throw new ConfigError(`${where}: ropeTheta must be > 0`);
}

/** Serialise to an HF config.json object that transformers' LlamaForCausalLM accepts. */
export function configToHF(c: LlamaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    hidden_act: "silu",
    initializer_range: 0.02,
    pretraining_tp: 1,
    rope_scaling: null,
    use_cache: true,
    vocab_size: c.vocabSize,
    hidden_size: c.dModel,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    intermediate_size: c.hiddenDim,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    torch_dtype: "float32",
  };
  if (c.padTokenId !== undefined) out.pad_token_id = c.padTokenId;
  return out;
}
