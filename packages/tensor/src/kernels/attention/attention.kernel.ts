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
  ATTN_ROWS_SOFTWARE,
  ATTN_WG,
  type AttnShape,
  attentionDkvWgsl,
  attentionDqWgsl,
  attentionWgsl,
  headDimMax,
} from "./attention.wgsl";

/** Rows per invocation: on software adapters neighbouring rows share key/query loads. */
const rows = (software: boolean) => (software ? ATTN_ROWS_SOFTWARE : 1);

/** headDim a power of two (>= 16): loops get a constant bound, so they unroll. */
const shape = (p: AttentionParams, software: boolean): AttnShape => ({
  hdm: headDimMax(p.headDim),
  exact: headDimMax(p.headDim) === p.headDim,
  nr: rows(software),
});
const variant = (p: AttentionParams, software: boolean) => {
  const o = shape(p, software);
  return `${o.hdm}${o.exact ? "e" : ""}/${o.nr}`;
};

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
  variant,
  wgsl: (p, env) => attentionWgsl(env.decls, shape(p, env.software)),
  meta,
  grid: (p, sw) => [strideGroups(p.batch * p.nHeads * Math.ceil(p.lq / rows(sw)), ATTN_WG), 1, 1],
  ref: attentionRef,
};

/** Backward for queries. */
export const attentionDqKernel: KernelDef<AttentionParams> = {
  name: "attention-dq",
  bindings: () => [...inputs, r("dout"), r("lse"), r("dsum"), w("dq")],
  variant,
  wgsl: (p, env) => attentionDqWgsl(env.decls, shape(p, env.software)),
  meta,
  grid: (p, sw) => [strideGroups(p.batch * p.nHeads * Math.ceil(p.lq / rows(sw)), ATTN_WG), 1, 1],
  ref: attentionDqRef,
};

/** Backward for keys and values. */
export const attentionDkvKernel: KernelDef<AttentionParams> = {
  name: "attention-dkv",
  bindings: () => [...inputs, r("dout"), r("lse"), r("dsum"), w("dk"), w("dv")],
  variant,
  wgsl: (p, env) => attentionDkvWgsl(env.decls, shape(p, env.software)),
  meta,
  grid: (p, sw) => [strideGroups(p.batch * p.nKvHeads * Math.ceil(p.lk / rows(sw)), ATTN_WG), 1, 1],
  ref: attentionDkvRef,
};
