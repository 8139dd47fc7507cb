// Kernel definitions of RMSNorm forward and backward (input gradient).
import { f32Bits } from "../../dtype";
import type { KernelDef } from "../kernel";
import { perThreadRows, rowGrid } from "../rows";
import { type RmsNormParams, rmsNormBackwardRef, rmsNormRef } from "./rmsnorm.ref";
import { rmsNormBackwardWgsl, rmsNormWgsl } from "./rmsnorm.wgsl";

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
  variant: (_p, sw) => (perThreadRows(sw) ? "thread" : "group"),
  wgsl: (_p, env) => rmsNormWgsl(env.decls, perThreadRows(env.software)),
  meta,
  grid: (p, sw) => rowGrid(p.rows, perThreadRows(sw)),
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
  variant: (_p, sw) => (perThreadRows(sw) ? "thread" : "group"),
  wgsl: (_p, env) => rmsNormBackwardWgsl(env.decls, perThreadRows(env.software)),
  meta,
  grid: (p, sw) => rowGrid(p.rows, perThreadRows(sw)),
  ref: rmsNormBackwardRef,
};
