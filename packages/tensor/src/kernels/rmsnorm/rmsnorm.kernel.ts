// Kernel definitions of RMSNorm forward and backward (input gradient, weight gradient).
import { f32Bits } from "../../dtype";
import type { KernelDef } from "../kernel";
import { rowGrid } from "../rows";
import {
  DW_CHUNK,
  type RmsNormParams,
  rmsNormBackwardRef,
  rmsNormDwRef,
  rmsNormRef,
} from "./rmsnorm.ref";
import { DW_WG, rmsNormBackwardWgsl, rmsNormDwWgsl, rmsNormWgsl } from "./rmsnorm.wgsl";

const meta = (p: RmsNormParams) => [p.rows, p.n, f32Bits(p.eps)];

/** y = x * rstd * w, rstd saved per row. */
export const rmsNormKernel: KernelDef<RmsNormParams> = {
  name: "rmsnorm",
  bindings: () => [
    { name: "x", type: "f32", write: false },
    { name: "w", type: "f32", write: false },
    { name: "y", type: "f32", write: true },
    { name: "rstd", type: "f32", write: true },
  ],
  variant: (_p, sw) => (sw ? "thread" : "group"),
  wgsl: (_p, env) => rmsNormWgsl(env.decls, env.software),
  meta,
  grid: (p, sw) => rowGrid(p.rows, sw),
  ref: rmsNormRef,
};

/** dx of RMSNorm. */
export const rmsNormBackwardKernel: KernelDef<RmsNormParams> = {
  name: "rmsnorm-backward",
  bindings: () => [
    { name: "x", type: "f32", write: false },
    { name: "w", type: "f32", write: false },
    { name: "g", type: "f32", write: false },
    { name: "rstd", type: "f32", write: false },
    { name: "dx", type: "f32", write: true },
  ],
  variant: (_p, sw) => (sw ? "thread" : "group"),
  wgsl: (_p, env) => rmsNormBackwardWgsl(env.decls, env.software),
  meta,
  grid: (p, sw) => rowGrid(p.rows, sw),
  ref: rmsNormBackwardRef,
};

/** Partial weight gradients [ceil(rows / DW_CHUNK), n] (summed over chunks by the caller). */
export const rmsNormDwKernel: KernelDef<RmsNormParams> = {
  name: "rmsnorm-dw",
  bindings: () => [
    { name: "x", type: "f32", write: false },
    { name: "g", type: "f32", write: false },
    { name: "rstd", type: "f32", write: false },
    { name: "partial", type: "f32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => rmsNormDwWgsl(env.decls),
  meta,
  grid: (p) => [Math.ceil(p.n / DW_WG), Math.ceil(p.rows / DW_CHUNK), 1],
  ref: rmsNormDwRef,
};
