// Kernel definitions of the anchor attention forward and backward (dQ, dK/dV).
import { f32Bits } from "../../dtype";
import { type BindingSpec, type KernelDef, strideGroups } from "../kernel";
import {
  type AttentionParams,
  attentionDkvRef,
  attentionDqRef,
  attentionRef,
} from "./attention.ref";
import {
  ATTN_WG,
  attentionDkvWgsl,
  attentionDqWgsl,
  attentionWgsl,
  headDimMax,
} from "./attention.wgsl";

const meta = (p: AttentionParams) => [
  p.batch,
  p.nHeads,
  p.nKvHeads,
  p.lq,
  p.lk,
  p.headDim,
  f32Bits(p.scale),
  (p.anchorMode ? 1 : 0) | (p.hasDoc ? 2 : 0) | (p.bosVisible ? 4 : 0),
];

const r = (name: string, type: BindingSpec["type"] = "f32"): BindingSpec => ({
  name,
  type,
  write: false,
});
const w = (name: string): BindingSpec => ({ name, type: "f32", write: true });
const inputs = [r("q"), r("k"), r("v"), r("mask", "i32")];

/** Forward: out and per-row log-sum-exp. */
export const attentionKernel: KernelDef<AttentionParams> = {
  name: "attention",
  bindings: () => [...inputs, w("out"), w("lse")],
  variant: (p) => `${headDimMax(p.headDim)}`,
  wgsl: (p, env) => attentionWgsl(env.decls, headDimMax(p.headDim)),
  meta,
  grid: (p) => [strideGroups(p.batch * p.nHeads * p.lq, ATTN_WG), 1, 1],
  ref: attentionRef,
};

/** Backward for queries. */
export const attentionDqKernel: KernelDef<AttentionParams> = {
  name: "attention-dq",
  bindings: () => [...inputs, r("dout"), r("lse"), r("dsum"), w("dq")],
  variant: (p) => `${headDimMax(p.headDim)}`,
  wgsl: (p, env) => attentionDqWgsl(env.decls, headDimMax(p.headDim)),
  meta,
  grid: (p) => [strideGroups(p.batch * p.nHeads * p.lq, ATTN_WG), 1, 1],
  ref: attentionDqRef,
};

/** Backward for keys and values. */
export const attentionDkvKernel: KernelDef<AttentionParams> = {
  name: "attention-dkv",
  bindings: () => [...inputs, r("dout"), r("lse"), r("dsum"), w("dk"), w("dv")],
  variant: (p) => `${headDimMax(p.headDim)}`,
  wgsl: (p, env) => attentionDkvWgsl(env.decls, headDimMax(p.headDim)),
  meta,
  grid: (p) => [strideGroups(p.batch * p.nKvHeads * p.lk, ATTN_WG), 1, 1],
  ref: attentionDkvRef,
};
