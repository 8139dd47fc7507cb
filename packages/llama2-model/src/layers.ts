// The Llama decoder math on @anllm/tensor ops, shared by training and cached inference:
// pre-norm attention (RoPE, GQA via the tensor attention op) and SwiGLU MLP, HF LlamaDecoderLayer.
import {
  type AttentionMask,
  add,
  attention,
  attentionWithColumnSums,
  backward,
  customGrad,
  enableGrad,
  gather,
  matmul,
  mul,
  param,
  reshape,
  retainMask,
  rmsNorm,
  rope,
  silu,
  type Tensor,
  tensor,
  tidy,
  transpose,
} from "@anllm/tensor";
import type { LlamaConfig } from "./config";
import { layerNames } from "./weights";

/** y = x W^T for W [out, in] (HF nn.Linear without bias). x [..., in] -> [..., out] */
export function linear(x: Tensor, w: Tensor): Tensor {
  return matmul(x, w, { transB: true });
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

/** [batch, seqLen, n * headDim] -> [batch, n, seqLen, headDim] */
function splitHeads(x: Tensor, n: number, headDim: number): Tensor {
  const [batch, seqLen] = x.shape as [number, number];
  return transpose(reshape(x, [batch, seqLen, n, headDim]), 1, 2);
}

/** [batch, n, seqLen, headDim] -> [batch, seqLen, n * headDim] */
function mergeHeads(x: Tensor): Tensor {
  const [batch, n, seqLen, headDim] = x.shape as [number, number, number, number];
  return reshape(transpose(x, 1, 2), [batch, seqLen, n * headDim]);
}

/**
 * Cached inference's K/V store (KVCache): takes this chunk's rotated K and V of one layer
 * `[batch, nKvHeads, L, headDim]` and returns the keys/values to attend
 * `[batch, nKvHeads, Lk, headDim]` (the cached rows followed by the chunk's, as the mask expects).
 */
export interface LayerKV {
  append(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor };
  /** true when the store's policy scores keys by the attention they receive (h2o) */
  readonly wantsColumnSums?: boolean;
  /** one layer's attention column sums [batch, nKvHeads, Lk] (when wantsColumnSums) */
  addColumnSums?(layer: number, sums: Tensor): void;
}

/** What every decoder layer of one forward shares. */
export interface LayerContext {
  config: LlamaConfig;
  params: Map<string, Tensor>;
  /** i32 [batch, L] rotary position of each query token */
  positions: Tensor;
  mask: AttentionMask;
  /** earlier tokens' K/V (cached inference); without it the keys are the tokens themselves */
  kv?: LayerKV;
  /**
   * per layer, a mask over `batch * nKvHeads` entries (one per sequence and KV head) replacing
   * `mask`: every KV head attends under its own rule (ModelBatch.headUntil)
   */
  headMasks?: AttentionMask[];
}

function p(ctx: LayerContext, name: string): Tensor {
  const t = ctx.params.get(name);
  if (!t) throw new Error(`internal: parameter ${name} missing`);
  return t;
}

/** Self-attention sub-block (without the residual). x [batch, L, dModel] -> same */
function selfAttention(x: Tensor, layer: number, ctx: LayerContext): Tensor {
  const c = ctx.config;
  const n = layerNames(layer);
  const theta = c.ropeTheta;
  const q = rope(splitHeads(linear(x, p(ctx, n.q)), c.nHeads, c.headDim), ctx.positions, { theta });
  let k = rope(splitHeads(linear(x, p(ctx, n.k)), c.nKvHeads, c.headDim), ctx.positions, { theta });
  let v = splitHeads(linear(x, p(ctx, n.v)), c.nKvHeads, c.headDim);
  if (ctx.kv) ({ k, v } = ctx.kv.append(layer, k, v));
  const scale = 1 / Math.sqrt(c.headDim);
  let o: Tensor;
  const headMask = ctx.headMasks?.[layer];
  if (headMask) {
    // fold the KV heads into the batch: entry (b, h) = KV head h with its query-head group
    const [batch, , L] = q.shape as [number, number, number];
    const group = c.nHeads / c.nKvHeads;
    const fold = (t: Tensor, heads: number) =>
      reshape(t, [batch * c.nKvHeads, heads, L, c.headDim]);
    const out = attention(fold(q, group), fold(k, 1), fold(v, 1), headMask, { scale });
    o = reshape(out, [batch, c.nHeads, L, c.headDim]);
  } else if (ctx.kv?.wantsColumnSums) {
    const r = attentionWithColumnSums(q, k, v, ctx.mask, { scale });
    ctx.kv.addColumnSums?.(layer, r.columnSums);
    o = r.out;
  } else o = attention(q, k, v, ctx.mask, { scale });
  return linear(mergeHeads(o), p(ctx, n.o));
}

/** SwiGLU MLP: down(silu(gate(x)) * up(x)). x [batch, L, dModel] -> same */
function mlp(x: Tensor, layer: number, ctx: LayerContext): Tensor {
  const n = layerNames(layer);
  return linear(mul(silu(linear(x, p(ctx, n.gate))), linear(x, p(ctx, n.up))), p(ctx, n.down));
}

/** One HF LlamaDecoderLayer. x [batch, L, dModel] -> [batch, L, dModel] */
export function decoderLayer(x: Tensor, layer: number, ctx: LayerContext): Tensor {
  const n = layerNames(layer);
  const eps = ctx.config.rmsNormEps;
  const h = add(x, selfAttention(rmsNorm(x, p(ctx, n.attnNorm), eps), layer, ctx));
  return add(h, mlp(rmsNorm(h, p(ctx, n.mlpNorm), eps), layer, ctx));
}

/**
 * decoderLayer with activation checkpointing: the forward keeps only the layer's input (its
 * intermediates are freed), and the backward recomputes the layer with the tape recording and
 * differentiates the recomputation (one extra layer forward per layer per step, for activation
 * memory of one layer instead of all of them). Gradients equal decoderLayer's.
 */
export function checkpointedDecoderLayer(x: Tensor, layer: number, ctx: LayerContext): Tensor {
  const names = Object.values(layerNames(layer));
  const withWeights = (ws: Tensor[], base: LayerContext = ctx): LayerContext => ({
    ...base,
    params: new Map(names.map((nm, i) => [nm, ws[i] as Tensor])),
  });
  const op = customGrad((xin: Tensor, ...ws: Tensor[]) => {
    // the recompute runs after the forward's caller has disposed the mask and positions: hold
    // our own references (owned by this op's tape node, freed with it)
    const again: LayerContext = {
      ...ctx,
      mask: retainMask(ctx.mask),
      headMasks: ctx.headMasks?.map(retainMask),
      positions: ctx.positions.view(ctx.positions.shape),
    };
    return {
      value: tidy(() => decoderLayer(xin, layer, withWeights(ws))),
      gradient: (dy: Tensor) =>
        enableGrad(() => {
          // fresh leaves over the same storage: the recomputed layer's tape ends at them
          const xl = param(xin.detach());
          const wl = ws.map((w) => param(w.detach()));
          const y = decoderLayer(xl, layer, withWeights(wl, again));
          backward(y, dy);
          y.dispose();
          return [xl, ...wl].map((leaf) => {
            const g = leaf.grad;
            leaf.grad = null;
            leaf.dispose();
            return g;
          });
        }),
    };
  });
  return op(x, ...names.map((nm) => p(ctx, nm)));
}
