// Shape-only description of a Llama model: every parameter's HF name and shape, parameter counts
// and memory needs (weights, training state, KV cache), computed without allocating any tensor.
import { type LlamaConfig, validateConfig } from "./config";

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
}

/** Report the memory a config needs, without allocating. Defaults: batch 1, seqLen maxSeqLen. */
export function memoryReport(c: LlamaConfig, opts: { batch?: number; seqLen?: number } = {}) {
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
  };
  return report;
}

/** Human-readable byte count (GiB / MiB / KiB). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 2)} ${units[u]}`;
}
