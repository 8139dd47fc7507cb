// Kernel definition of the axis reduction.
import type { KernelDef } from "../kernel";
import { type ReduceParams, reduceRef } from "./reduce.ref";
import { reduceWgsl } from "./reduce.wgsl";

/** sum / max / argmax over the middle axis of [outer, r, inner]. */
export const reduceKernel: KernelDef<ReduceParams> = {
  name: "reduce",
  bindings: () => [
    { name: "x", type: "f32", write: false },
    { name: "out", type: "u32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => reduceWgsl(env.decls),
  meta: (p) => [p.outer, p.r, p.inner, p.op],
  grid: (p) => {
    const n = p.outer * p.inner;
    return [Math.min(n, 65535), Math.min(Math.ceil(n / 65535), 65535), 1];
  },
  ref: reduceRef,
};
