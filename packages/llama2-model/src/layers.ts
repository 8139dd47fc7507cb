// The Llama decoder math on @anllm/tensor ops, shared by training and cached inference:
// pre-norm attention (RoPE, GQA via the tensor attention op) and SwiGLU MLP, HF LlamaDecoderLayer.
import {
  type AttentionMask,
  add,
  attention,
  matmul,
  mul,
  reshape,
  rmsNorm,
  rope,
  silu,
  type Tensor,
  transpose,
} from "@anllm/tensor";
import type { LlamaConfig } from "./config";
import { layerNames } from "./weights";

/** y = x W^T for W [out, in] (HF nn.Linear without bias). x [..., in] -> [..., out] */
export function linear(x: Tensor, w: Tensor): Tensor {
  return matmul(x, w, { transB: true });
}

/**
 * RMSNorm on rows: x [..., dModel] is viewed as [rows, dModel] so the weight gradient is a single
 * reduction over rows (tensor's multi-axis sum over a leading size-1 batch axis is slow on lavapipe).
 */
export function rmsNormRows(x: Tensor, w: Tensor, eps: number): Tensor {
  const d = x.shape[x.shape.length - 1] as number;
  return reshape(rmsNorm(reshape(x, [x.size / d, d]), w, eps), x.shape);
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
 * Hook for cached inference: receives this chunk's rotated K and V `[batch, nKvHeads, Lq, headDim]`
 * and returns the keys/values to attend `[batch, nKvHeads, Lk, headDim]` (cache rows + chunk rows).
 */
export type KVHook = (layer: number, k: Tensor, v: Tensor) => { k: Tensor; v: Tensor };

/** Per-forward context: rotary positions, the attention rule arrays, optional cache hook. */
export interface LayerContext {
  config: LlamaConfig;
  params: Map<string, Tensor>;
  /** i32 [batch, seqLen] rotary position of each query token */
  ropePos: Tensor;
  mask: AttentionMask;
  kvHook?: KVHook;
}

function p(ctx: LayerContext, name: string): Tensor {
  const t = ctx.params.get(name);
  if (!t) throw new Error(`internal: parameter ${name} missing`);
  return t;
}

/** Self-attention sub-block (without the residual). x [batch, seqLen, dModel] -> same */
function selfAttention(x: Tensor, layer: number, ctx: LayerContext): Tensor {
  const c = ctx.config;
  const n = layerNames(layer);
  const theta = c.ropeTheta;
  const q = rope(splitHeads(linear(x, p(ctx, n.q)), c.nHeads, c.headDim), ctx.ropePos, { theta });
  let k = rope(splitHeads(linear(x, p(ctx, n.k)), c.nKvHeads, c.headDim), ctx.ropePos, { theta });
  let v = splitHeads(linear(x, p(ctx, n.v)), c.nKvHeads, c.headDim);
  if (ctx.kvHook) ({ k, v } = ctx.kvHook(layer, k, v));
  const o = attention(q, k, v, ctx.mask, { scale: 1 / Math.sqrt(c.headDim) });
  return linear(mergeHeads(o), p(ctx, n.o));
}

/** SwiGLU MLP: down(silu(gate(x)) * up(x)). x [batch, seqLen, dModel] -> same */
function mlp(x: Tensor, layer: number, ctx: LayerContext): Tensor {
  const n = layerNames(layer);
  return linear(mul(silu(linear(x, p(ctx, n.gate))), linear(x, p(ctx, n.up))), p(ctx, n.down));
}

/** One HF LlamaDecoderLayer. x [batch, seqLen, dModel] -> [batch, seqLen, dModel] */
export function decoderLayer(x: Tensor, layer: number, ctx: LayerContext): Tensor {
  const n = layerNames(layer);
  const eps = ctx.config.rmsNormEps;
  const h = add(x, selfAttention(rmsNormRows(x, p(ctx, n.attnNorm), eps), layer, ctx));
  return add(h, mlp(rmsNormRows(h, p(ctx, n.mlpNorm), eps), layer, ctx));
}
