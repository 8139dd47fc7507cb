// Llama2: HF LlamaForCausalLM on @anllm/tensor. Seeded init or HF checkpoint load/save, training
// forward (causal or anchor attention), chunked-head loss, anchor-token addition, cached inference.
import {
  type AttentionMask,
  concat,
  type Device,
  embedding,
  gather,
  makeAttentionMask,
  mean,
  reshape,
  slice,
  type Tensor,
  tensor,
} from "@anllm/tensor";
import {
  type BatchArrays,
  batchArrays,
  checkBatch,
  type ModelBatch,
  shiftedTargets,
} from "./batch";
import { CheckpointReader, readConfig, type SaveOptions, saveCheckpoint } from "./checkpoint";
import { type LlamaConfig, validateConfig } from "./config";
import { ModelInputError } from "./errors";
import { type CacheOptions, forwardChunk, KVCache } from "./kv-cache";
import { decoderLayer, type LayerContext, linear, rmsNormRows } from "./layers";
import { type HeadLossOptions, lmHeadLoss } from "./loss";
import { memoryReport, paramSpecs } from "./spec";
import { EMBED, FINAL_NORM, type InitOptions, initParams, LM_HEAD, loadParams } from "./weights";

/** Options of `Llama2.load`. */
export interface LoadOptions {
  device?: Device;
}

/** A Llama-2 model; parameters are HF-named f32 tensors (trainable leaves). */
export class Llama2 {
  private constructor(
    public config: LlamaConfig,
    private params: Map<string, Tensor>,
  ) {}

  /**
   * Lazy, shape-only instantiation: every parameter's name and shape and the memory the model
   * needs (weights per dtype, training state, KV cache), without allocating any tensor.
   */
  static shapeOnly(config: LlamaConfig, opts: { batch?: number; seqLen?: number } = {}) {
    return {
      config: { ...config },
      params: paramSpecs(config),
      memory: memoryReport(config, opts),
    };
  }

  /** Seeded fresh model (HF init: N(0, 0.02) matrices, unit norms). */
  static init(config: LlamaConfig, opts: InitOptions): Llama2 {
    validateConfig(config);
    return new Llama2({ ...config }, initParams(config, opts));
  }

  /** Load an HF directory (config.json + model.safetensors or shards; F32/F16/BF16). */
  static async load(dir: string, opts: LoadOptions = {}): Promise<Llama2> {
    const config = await readConfig(dir);
    const reader = await CheckpointReader.open(dir);
    try {
      return new Llama2(config, await loadParams(config, reader, opts.device));
    } finally {
      await reader.close();
    }
  }

  /** Save config.json + safetensors (atomic per file) so HF transformers can open the directory. */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const sources = paramSpecs(this.config).map((s) => ({
      name: s.name,
      shape: s.shape,
      data: async () => (await this.param(s.name).data()) as Float32Array,
    }));
    await saveCheckpoint(dir, this.config, sources, opts);
  }

  /** Parameters by HF name. Replaced (not mutated) by addAnchorToken: fetch again after it. */
  parameters(): Map<string, Tensor> {
    return this.params;
  }

  /** One parameter by HF name. */
  param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new ModelInputError(`no parameter named "${name}"`);
    return t;
  }

  /** [vocabSize, dModel] the output head (the embedding when tied). */
  headWeight(): Tensor {
    return this.param(this.config.tieWordEmbeddings ? EMBED : LM_HEAD);
  }

  /**
   * Add an anchor token (AnLLM-AC): grow embed (and untied head) by one row, initialised to the
   * mean of all rows (default, paper) or a copy of token `copyFrom`'s rows (reference code).
   * @returns the new token id (the old vocabSize)
   */
  addAnchorToken(opts: { init?: "mean" | "copy"; copyFrom?: number } = {}): number {
    const init = opts.init ?? "mean";
    const id = this.config.vocabSize;
    if (init === "copy") {
      const src = opts.copyFrom;
      if (src === undefined || !Number.isInteger(src) || src < 0 || src >= id) {
        throw new ModelInputError(
          `addAnchorToken: copyFrom must be a token id in [0, ${id}), got ${src}`,
        );
      }
    }
    const grow = (name: string) => {
      const w = this.param(name);
      const row =
        init === "mean"
          ? mean(w, 0, true)
          : slice(w, 0, opts.copyFrom as number, (opts.copyFrom as number) + 1);
      const grown = concat([w.detach(), row.detach()], 0);
      row.dispose();
      grown.requiresGrad = true;
      grown.name = name;
      w.dispose();
      this.params.set(name, grown);
    };
    grow(EMBED);
    if (!this.config.tieWordEmbeddings) grow(LM_HEAD);
    this.config = { ...this.config, vocabSize: id + 1 };
    return id;
  }

  /** Final-norm hidden states [batch, seqLen, dModel] and the batch's host arrays. */
  hidden(batch: ModelBatch): { hidden: Tensor; arrays: BatchArrays } {
    checkBatch(batch, this.config.vocabSize);
    const arrays = batchArrays(batch);
    const { batch: b, seqLen } = batch;
    const device = this.param(EMBED).device;
    const i32 = (a: Int32Array) => tensor(a, [b, seqLen], { dtype: "i32", device });
    const mask = uploadMask(arrays.mask, b, seqLen, seqLen, device);
    const ctx: LayerContext = {
      config: this.config,
      params: this.params,
      ropePos: i32(arrays.positions),
      mask,
    };
    try {
      let x = embedding(this.param(EMBED), i32(batch.inputIds));
      for (let l = 0; l < this.config.nLayers; l++) x = decoderLayer(x, l, ctx);
      return { hidden: rmsNormRows(x, this.param(FINAL_NORM), this.config.rmsNormEps), arrays };
    } finally {
      mask.packed.dispose(); // the tape keeps its own reference for backward
      ctx.ropePos.dispose();
    }
  }

  /** Logits [batch, seqLen, vocabSize] with causal or anchor attention. */
  forward(batch: ModelBatch): Tensor {
    return linear(this.hidden(batch).hidden, this.headWeight());
  }

  /**
   * Scalar mean next-token cross-entropy (targets = labels shifted by one; pads, -100 and packed
   * document boundaries ignored). The head runs in row chunks (see lmHeadLoss).
   */
  loss(batch: ModelBatch, opts: HeadLossOptions = {}): Tensor {
    const { hidden, arrays } = this.hidden(batch);
    const n = batch.batch * batch.seqLen;
    const targets = shiftedTargets(batch, arrays.valid);
    return lmHeadLoss(reshape(hidden, [n, this.config.dModel]), this.headWeight(), targets, opts);
  }

  /** A KV cache for `batch` sequences (anllm-method.md §4 policies). */
  createCache(opts: CacheOptions): KVCache {
    return new KVCache(this.config, opts);
  }

  /**
   * Run one ragged chunk per sequence through the model, attending to and extending `cache`;
   * the cache's reduction policy is applied after the chunk.
   * @returns logits [batch, maxChunkLen, vocabSize] (rows past a sequence's chunk are garbage), or
   *   [batch, 1, vocabSize] for each sequence's last chunk token when `lastOnly`
   */
  forwardChunk(
    cache: KVCache,
    chunks: Int32Array[],
    opts: { isAnchor?: Uint8Array[]; lastOnly?: boolean } = {},
  ): Tensor {
    return forwardChunk(this, cache, chunks, opts);
  }

  /** Free every parameter tensor. */
  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
  }
}

/** Row idx[b] of each sequence b of x [batch, L, d] -> [batch, 1, d]. */
export function pickRows(x: Tensor, idx: Int32Array): Tensor {
  const [b, L, d] = x.shape as [number, number, number];
  const flat = Int32Array.from(idx, (t, i) => i * L + t);
  const index = tensor(flat, [b], { dtype: "i32", device: x.device });
  const out = reshape(gather(reshape(x, [b * L, d]), 0, index), [b, 1, d]);
  index.dispose();
  return out;
}

/** Upload the rule arrays once per forward (packed on the device), shared by every layer. */
export function uploadMask(
  m: AttentionMask,
  batch: number,
  lq: number,
  lk: number,
  device: Device,
) {
  return makeAttentionMask({
    batch,
    lq,
    lk,
    mode: m.mode,
    qPos: m.qPos as Int32Array,
    kPos: m.kPos as Int32Array,
    qSeg: m.qSeg as Int32Array,
    kSeg: m.kSeg as Int32Array,
    qAnchor: m.qAnchor as Int32Array,
    kAnchor: m.kAnchor as Int32Array,
    qDoc: m.qDoc as Int32Array | undefined,
    kDoc: m.kDoc as Int32Array | undefined,
    kValid: m.kValid as Int32Array,
    bosVisible: m.bosVisible,
    device,
  });
}
