// Shape-only description of a Llama model: every parameter's HF name and shape, parameter counts
// and memory needs (weights, training state, KV cache), computed without allocating any tensor.
import { formatBytes } from "@anllm/tensor";
import { type LlamaConfig, validateConfig } from "./config";

/** Human-readable byte count (GiB / MiB / KiB): @anllm/tensor's, re-exported. */
export { formatBytes };

/** One parameter: HF tensor name and shape ([out, in] for linear layers). */
export interface ParamSpec {
  name: string;
  shape: number[];
  numel: number;
}

/** Storage dtypes for weights on disk / in memory. */
export type WeightDType = "f32" | "f16" | "bf16";

function spec(name: string, shape: number[]): ParamSpec {
  return { name, shape, numel: shape.reduce((a, b) => a * b, 1) };
}

/** All parameters in HF order (embed, layers, final norm, head unless tied). */
export function paramSpecs(c: LlamaConfig): ParamSpec[] {
  validateConfig(c);
  const out: ParamSpec[] = [spec("model.embed_tokens.weight", [c.vocabSize, c.dModel])];
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      spec(`${p}.self_attn.q_proj.weight`, [qDim, c.dModel]),
      spec(`${p}.self_attn.k_proj.weight`, [kvDim, c.dModel]),
      spec(`${p}.self_attn.v_proj.weight`, [kvDim, c.dModel]),
      spec(`${p}.self_attn.o_proj.weight`, [c.dModel, qDim]),
      spec(`${p}.mlp.gate_proj.weight`, [c.hiddenDim, c.dModel]),
      spec(`${p}.mlp.up_proj.weight`, [c.hiddenDim, c.dModel]),
      spec(`${p}.mlp.down_proj.weight`, [c.dModel, c.hiddenDim]),
      spec(`${p}.input_layernorm.weight`, [c.dModel]),
      spec(`${p}.post_attention_layernorm.weight`, [c.dModel]),
    );
  }
  out.push(spec("model.norm.weight", [c.dModel]));
  if (!c.tieWordEmbeddings) out.push(spec("lm_head.weight", [c.vocabSize, c.dModel]));
  return out;
}

/** K+V bytes one cached token occupies (all layers, K and V rows of `dtype`, default f32). */
export function kvBytesPerEntry(c: LlamaConfig, dtype: "f32" | "f16" = "f32"): number {
  return 2 * c.nLayers * c.nKvHeads * c.headDim * (dtype === "f16" ? 2 : 4);
}

/** Memory needs of a config, in bytes. */
export interface MemoryReport {
  totalParams: number;
  /** weight bytes per storage dtype */
  weightBytes: Record<WeightDType, number>;
  /** K+V bytes one token occupies in the cache (all layers), f32 cache */
  kvBytesPerToken: number;
  /** K+V bytes of a full cache of `seqLen` tokens for `batch` sequences, f32 */
  kvBytesFull: number;
  /** f32 weights + f32 grads + AdamW m and v (16 bytes / parameter), activations excluded */
  trainingStateBytes: number;
  /** largest single parameter (bytes, f32): must fit a storage-buffer binding or be chunked */
  largestParamBytes: number;
  /** K+V bytes per cached token and of a full cache of batch x seqLen, per cache dtype */
  kv: Record<"f32" | "f16", { perToken: number; full: number }>;
  /** one training step at batch x seqLen in the `compute` dtype (see TrainingMemory) */
  training: TrainingMemory;
}

/**
 * Device memory of one training step (bytes), as this implementation allocates it: f32 weights,
 * f32 gradients, AdamW's f32 m and v; with compute "f16" (mixed precision) the f16 copies of the
 * weights the forward runs on; and the activations: the step's peak above the gradients and the f16
 * copies (what the forward keeps for backward plus backward's largest transient), without and with
 * activation checkpointing.
 */
export interface TrainingMemory {
  compute: "f32" | "f16";
  weightBytes: number;
  gradientBytes: number;
  optimizerBytes: number;
  computeWeightBytes: number;
  activationBytes: { plain: number; checkpointed: number };
  totalBytes: { plain: number; checkpointed: number };
}

/**
 * Per-token bytes the step keeps besides the layers' activations whatever the model's width:
 * ids, positions, the packed attention-mask arrays and the loss's targets (i32). Measured with
 * memoryStats on the CPU device (test/memory-report.test.ts holds the model to 10%).
 */
const STEP_BOOKKEEPING_BYTES_PER_TOKEN = 488;

/**
 * Activation bytes per token of one decoder layer in training, from the tensors the forward
 * creates (all kept until backward): 2 RMSNorm outputs, q/k/v projections, head transposes and
 * rotations, the attention output and its merge, the o projection and two residual sums, the
 * gate/silu/up/product MLP tensors and the down projection (in `s`-byte elements), plus the f32
 * log-sum-exp per head and RMSNorm's two f32 reciprocal RMS values.
 */
function layerActivationBytesPerToken(c: LlamaConfig, s: number): number {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  return s * (6 * c.dModel + 5 * q + 5 * kv + 4 * c.hiddenDim) + 4 * (c.nHeads + 2);
}

/** TrainingMemory of a config at batch x seqLen. */
export function trainingMemory(
  c: LlamaConfig,
  opts: { batch: number; seqLen: number; compute?: "f32" | "f16" },
): TrainingMemory {
  const params = paramSpecs(c).reduce((a, p) => a + p.numel, 0);
  const compute = opts.compute ?? "f32";
  const s = compute === "f16" ? 2 : 4;
  const tokens = opts.batch * opts.seqLen;
  const layer = layerActivationBytesPerToken(c, s);
  // embedding output, final norm output and its f32 rstd, bookkeeping
  const outside = s * 2 * c.dModel + 4 + STEP_BOOKKEEPING_BYTES_PER_TOKEN;
  // backward's largest transient: the MLP's two hidden-width gradients
  const transient = s * 2 * c.hiddenDim;
  const plain = tokens * (c.nLayers * layer + outside + transient);
  // checkpointed: each layer keeps its input and backward recomputes one layer at a time. The peak
  // is at the recompute of layer 0, the last one: the other layers' gradients exist by then, the
  // embedding's does not yet, and with mixed precision layer 0 holds f16 weight gradients in place
  // of its f32 ones (they are cast right after)
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const layerParams = c.dModel * (2 * q + 2 * kv + 3 * c.hiddenDim + 2);
  const embedParams = c.vocabSize * c.dModel;
  const saved = tokens * (c.nLayers * s * c.dModel + outside);
  const atLayer0 =
    tokens * (layer + transient) +
    (compute === "f16" ? layerParams * 2 - layerParams * 4 : 0) -
    embedParams * 4;
  const checkpointed = saved + Math.max(0, atLayer0);
  const fixed = params * 4 + params * 4 + params * 8 + (compute === "f16" ? params * 2 : 0);
  return {
    compute,
    weightBytes: params * 4,
    gradientBytes: params * 4,
    optimizerBytes: params * 8,
    computeWeightBytes: compute === "f16" ? params * 2 : 0,
    activationBytes: { plain, checkpointed },
    totalBytes: { plain: fixed + plain, checkpointed: fixed + checkpointed },
  };
}

/** Report the memory a config needs, without allocating. Defaults: batch 1, seqLen maxSeqLen. */
export function memoryReport(
  c: LlamaConfig,
  opts: { batch?: number; seqLen?: number; compute?: "f32" | "f16" } = {},
) {
  const specs = paramSpecs(c);
  const totalParams = specs.reduce((a, s) => a + s.numel, 0);
  const kvBytesPerToken = kvBytesPerEntry(c);
  const batch = opts.batch ?? 1;
  const seqLen = opts.seqLen ?? c.maxSeqLen;
  const report: MemoryReport = {
    totalParams,
    weightBytes: { f32: totalParams * 4, f16: totalParams * 2, bf16: totalParams * 2 },
    kvBytesPerToken,
    kvBytesFull: kvBytesPerToken * batch * seqLen,
    trainingStateBytes: totalParams * 16,
    largestParamBytes: Math.max(...specs.map((s) => s.numel * 4)),
    kv: {
      f32: { perToken: kvBytesPerToken, full: kvBytesPerToken * batch * seqLen },
      f16: {
        perToken: kvBytesPerEntry(c, "f16"),
        full: kvBytesPerEntry(c, "f16") * batch * seqLen,
      },
    },
    training: trainingMemory(c, { batch, seqLen, compute: opts.compute ?? "f32" }),
  };
  return report;
}
