// Kernel definition of the fused AdamW step.
import { f32Bits } from "../../dtype";
import { type KernelDef, strideGroups } from "../kernel";
import { type AdamWParams, adamwRef } from "./adamw.ref";
import { ADAMW_WG, adamwWgsl } from "./adamw.wgsl";

/** In-place AdamW on p, m, v. */
export const adamwKernel: KernelDef<AdamWParams> = {
  name: "adamw",
  bindings: () => [
    { name: "p", type: "f32", write: true },
    { name: "g", type: "f32", write: false },
    { name: "m", type: "f32", write: true },
    { name: "v", type: "f32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => adamwWgsl(env.decls),
  meta: (q) => [q.n, ...[q.lr, q.beta1, q.beta2, q.eps, q.weightDecay, q.bc1, q.bc2].map(f32Bits)],
  grid: (q, sw) => [strideGroups(q.n, ADAMW_WG, sw), 1, 1],
  ref: adamwRef,
};
