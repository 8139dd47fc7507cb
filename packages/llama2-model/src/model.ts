// Llama2: HF LlamaForCausalLM on @anllm/tensor. Seeded init or HF folder load/save; one forward
// (embed -> decoder layers -> final norm, then the head) behind training logits and loss, scoring
// and cached inference; anchor-token addition for AnLLM-AC.
import {
  type AttentionMask,
  cast,
  concat,
  type Device,
  embedding,
  makeAttentionMask,
  mean,
  noGrad,
  reshape,
  rmsNorm,
  slice,
  type Tensor,
  tensor,
  tidy,
} from "@anllm/tensor";
import {
  type BatchArrays,
  batchArrays,
  checkBatch,
  headMaskInputs,
  type ModelBatch,
  shiftedTargets,
} from "./batch";
import { type LlamaConfig, validateConfig } from "./config";
import { ModelInputError } from "./errors";
import { KVCache, type KVCacheOptions } from "./kv-cache";
import {
  checkpointedDecoderLayer,
  decoderLayer,
  type LayerContext,
  type LayerKV,
  linear,
  pickRows,
} from "./layers";
import { type HeadLossOptions, lmHeadLoss } from "./loss";
import { CheckpointReader, type ModelFolder, readConfigFrom } from "./model-folder";
import { memoryReport, paramSpecs } from "./spec";
import {
  EMBED,
  FINAL_NORM,
  initParams,
  LM_HEAD,
  loadParams,
  type ModelDType,
  resolveModelDType,
  type WeightInitOptions,
} from "./weights";

/** Options of `Llama2.load`. */
export interface LoadOptions {
  device?: Device;
  /**
   * dtype of weights, activations and K/V on the device (default f32). f16 loads F16 tensors as
   * they are and converts F32/BF16 ones (refusing values beyond f16's range); on a device without
   * shader-f16 the model stays f32 and `dtypeNote` says so.
   */
  dtype?: ModelDType;
}

/** Options of `Llama2.loss` beyond the head's. */
export interface TrainLossOptions extends HeadLossOptions {
  /** run the forward and backward in this dtype ("f16" on an f32 model: mixed precision) */
  compute?: ModelDType;
  /**
   * keep only each decoder layer's input and recompute the layer in backward (activation memory
   * of one layer instead of all; one extra forward per step)
   */
  checkpointActivations?: boolean;
}

/** A Llama-2 model; parameters are HF-named f32 tensors (trainable leaves). */
export class Llama2 {
  private constructor(
    public config: LlamaConfig,
    private params: Map<string, Tensor>,
    /** why the model is not in the dtype that was asked for (f16 on a device without it) */
    readonly dtypeNote?: string,
  ) {}

  /** dtype of the model's weights (and of its activations and K/V cache). */
  get dtype(): ModelDType {
    return this.param(EMBED).dtype === "f16" ? "f16" : "f32";
  }

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
  static init(config: LlamaConfig, opts: WeightInitOptions): Llama2 {
    validateConfig(config);
    const { dtype, note } = resolveModelDType(opts.dtype, opts.device);
    return new Llama2({ ...config }, initParams(config, { ...opts, dtype }), note);
  }

  /**
   * Loads an HF model folder (config.json + model.safetensors or shards; F32/F16/BF16), one tensor
   * at a time to the device. On disk: `loadModel(dir)` of @anllm/llama2-model/node; in a page:
   * `urlModelFolder`, `filesModelFolder` or `memoryModelFolder`.
   */
  static async load(folder: ModelFolder, opts: LoadOptions = {}): Promise<Llama2> {
    const config = await readConfigFrom(folder);
    const reader = await CheckpointReader.open(folder);
    try {
      const { dtype, note } = resolveModelDType(opts.dtype, opts.device);
      return new Llama2(config, await loadParams(config, reader, opts.device, dtype), note);
    } finally {
      await reader.close();
    }
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
      // the mean of an f16 matrix is computed (and returned) in f32: round it once to w's dtype
      const rowW = row.dtype === w.dtype ? row : noGrad(() => cast(row, w.dtype));
      const grown = concat([w.detach(), rowW.detach()], 0);
      if (rowW !== row) rowW.dispose();
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

  /**
   * The forward, as HF LlamaModel: token embeddings, the decoder layers, the final RMSNorm. Every
   * forward of the model runs through here; the callers add the head. With `kv` (cached inference)
   * each layer appends its K/V to the cache and attends to the cached rows and its own.
   * @param ids i32 [batch, L] token ids
   * @param positions i32 [batch, L] rotary position of each token
   * @param mask the attention rule over the keys (with `kv`: the cached rows, then the L tokens)
   * @returns hidden states [batch, L, dModel]
   */
  private decode(
    ids: Tensor,
    positions: Tensor,
    mask: AttentionMask,
    kv?: LayerKV,
    params: Map<string, Tensor> = this.params,
    checkpoint = false,
    headMasks?: AttentionMask[],
  ): Tensor {
    const ctx: LayerContext = { config: this.config, params, positions, mask, kv, headMasks };
    const layer = checkpoint && !kv ? checkpointedDecoderLayer : decoderLayer;
    let x = embedding(params.get(EMBED) as Tensor, ids);
    for (let l = 0; l < this.config.nLayers; l++) x = layer(x, l, ctx);
    return rmsNorm(x, params.get(FINAL_NORM) as Tensor, this.config.rmsNormEps);
  }

  /**
   * The parameters as a forward in `compute` dtype uses them: the model's own, or (mixed
   * precision: f32 master weights, f16 compute) a differentiable cast of each, so gradients flow
   * back to the f32 parameters. The copies live in the caller's tidy scope / tape.
   */
  private paramsIn(compute: ModelDType | undefined): Map<string, Tensor> {
    if (compute === undefined || compute === this.dtype) return this.params;
    const out = new Map<string, Tensor>();
    for (const [name, t] of this.params) out.set(name, cast(t, compute));
    return out;
  }

  /** Final-norm hidden states [batch, seqLen, dModel] and the batch's host arrays. */
  hidden(batch: ModelBatch): { hidden: Tensor; arrays: BatchArrays } {
    return this.hiddenWith(batch, this.params);
  }

  private hiddenWith(
    batch: ModelBatch,
    params: Map<string, Tensor>,
    checkpoint = false,
  ): { hidden: Tensor; arrays: BatchArrays } {
    checkBatch(batch, this.config.vocabSize);
    const arrays = batchArrays(batch);
    const device = this.param(EMBED).device;
    const i32 = (a: Int32Array) => tensor(a, [batch.batch, batch.seqLen], { dtype: "i32", device });
    const ids = i32(batch.inputIds);
    const positions = i32(arrays.positions);
    const mask = makeAttentionMask({ ...arrays.mask, device });
    const c = this.config;
    const headMasks = headMaskInputs(batch, arrays, c.nLayers, c.nKvHeads)?.map((m) =>
      makeAttentionMask({ ...m, device }),
    );
    try {
      return {
        hidden: this.decode(ids, positions, mask, undefined, params, checkpoint, headMasks),
        arrays,
      };
    } finally {
      // the tape keeps its own references for backward
      for (const m of headMasks ?? []) m.dispose();
      mask.dispose();
      ids.dispose();
      positions.dispose();
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
  loss(batch: ModelBatch, opts: TrainLossOptions = {}): Tensor {
    // compute "f16" on an f32 model: mixed precision (f16 forward and backward, f32 loss, f32
    // gradients on the f32 parameters through the casts)
    const params = this.paramsIn(opts.compute);
    const { hidden, arrays } = this.hiddenWith(batch, params, opts.checkpointActivations);
    const n = batch.batch * batch.seqLen;
    const targets = shiftedTargets(batch, arrays.valid);
    const head = params.get(this.config.tieWordEmbeddings ? EMBED : LM_HEAD) as Tensor;
    return lmHeadLoss(reshape(hidden, [n, this.config.dModel]), head, targets, opts);
  }

  /** A KV cache for `batch` sequences (policies: apps/docs/guide/method.md). */
  createCache(opts: KVCacheOptions): KVCache {
    // K/V rows are the model's own dtype (f16 with f16 weights) unless asked otherwise
    return new KVCache(this.config, { dtype: this.dtype, ...opts });
  }

  /**
   * Cached inference (no gradient): one ragged chunk per sequence through the forward, attending
   * to and extending `cache`; the cache's reduction policy is applied after the chunk.
   * @returns logits [batch, maxChunkLen, vocabSize] (rows past a sequence's chunk are garbage), or
   *   [batch, 1, vocabSize] for each sequence's last chunk token when `lastOnly`
   */
  forwardChunk(
    cache: KVCache,
    chunks: Int32Array[],
    opts: { isAnchor?: Uint8Array[]; lastOnly?: boolean } = {},
  ): Tensor {
    const vocab = this.config.vocabSize;
    chunks.forEach((c, b) => {
      const flags = opts.isAnchor?.[b];
      if (opts.isAnchor && flags?.length !== c.length) {
        throw new ModelInputError(
          `forwardChunk: isAnchor[${b}] has length ${flags?.length}, chunk has ${c.length}`,
        );
      }
      for (const id of c) {
        if (!(id >= 0 && id < vocab))
          throw new ModelInputError(`forwardChunk: token id ${id} outside [0, ${vocab})`);
      }
    });
    const flags = chunks.map((c, b) => opts.isAnchor?.[b] ?? new Uint8Array(c.length));
    const plan = cache.plan(flags);
    const device = this.param(EMBED).device;
    const mask = makeAttentionMask({ ...plan.mask, device });
    try {
      const logits = noGrad(() =>
        tidy(() => {
          const shape = [cache.batch, plan.lq];
          const ids = new Int32Array(cache.batch * plan.lq);
          for (const [b, c] of chunks.entries()) ids.set(c, b * plan.lq);
          let h = this.decode(
            tensor(ids, shape, { dtype: "i32", device }),
            tensor(plan.positions, shape, { dtype: "i32", device }),
            mask,
            cache,
          );
          if (opts.lastOnly)
            h = pickRows(
              h,
              Int32Array.from(chunks, (c) => Math.max(0, c.length - 1)),
            );
          return linear(h, this.headWeight());
        }),
      );
      cache.commit();
      return logits;
    } finally {
      mask.dispose();
    }
  }

  /** Free every parameter tensor. */
  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
  }
}
