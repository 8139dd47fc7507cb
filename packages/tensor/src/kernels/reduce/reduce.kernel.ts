// Kernel definition of the axis reduction.
import { type KernelDef, strideGroups } from "../kernel";
import { type ReduceParams, reduceRef } from "./reduce.ref";
import { REDUCE_WG, reduceWgsl } from "./reduce.wgsl";

/** Number of outputs of a (chunked) reduction. */
export function reduceOutputs(p: ReduceParams): number {
  return p.outer * Math.ceil(p.r / p.chunk) * p.inner;
}

/** sum / max / argmax over (chunks of) the middle axis of [outer, r, inner]. */
export const reduceKernel: KernelDef<ReduceParams> = {
  name: "reduce",
  bindings: () => [
    { name: "x", type: "f32", write: false },
    { name: "out", type: "u32", write: true },
  ],
  variant: (_p, sw) => (sw ? "thread" : "group"),
  wgsl: (_p, env) => reduceWgsl(env.decls, env.software),
  meta: (p) => [p.outer, p.r, p.inner, p.op, p.chunk, reduceOutputs(p)],
  grid: (p, sw) => {
    const n = reduceOutputs(p);
    if (sw) return [strideGroups(n, REDUCE_WG), 1, 1];
    return [Math.min(n, 65535), Math.min(Math.ceil(n / 65535), 65535), 1];
  },
  ref: reduceRef,
};
