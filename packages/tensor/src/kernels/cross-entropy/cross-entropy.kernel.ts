// Kernel definitions of the fused cross-entropy forward and backward.
import type { KernelDef } from "../kernel";
import { rowGrid } from "../rows";
import {
  type CrossEntropyParams,
  crossEntropyBackwardRef,
  crossEntropyRef,
} from "./cross-entropy.ref";
import { crossEntropyBackwardWgsl, crossEntropyWgsl } from "./cross-entropy.wgsl";

const meta = (p: CrossEntropyParams) => [p.rows, p.V, p.ignoreIndex >>> 0];

/** Per-row loss and log-sum-exp. */
export const crossEntropyKernel: KernelDef<CrossEntropyParams> = {
  name: "cross-entropy",
  bindings: () => [
    { name: "logits", type: "f32", write: false },
    { name: "targets", type: "i32", write: false },
    { name: "loss", type: "f32", write: true },
    { name: "lse", type: "f32", write: true },
  ],
  variant: (_p, sw) => (sw ? "thread" : "group"),
  wgsl: (_p, env) => crossEntropyWgsl(env.decls, env.software),
  meta,
  grid: (p, sw) => rowGrid(p.rows, sw),
  ref: crossEntropyRef,
};

/** dlogits = g[row] * (softmax - onehot). */
export const crossEntropyBackwardKernel: KernelDef<CrossEntropyParams> = {
  name: "cross-entropy-backward",
  bindings: () => [
    { name: "logits", type: "f32", write: false },
    { name: "targets", type: "i32", write: false },
    { name: "lse", type: "f32", write: false },
    { name: "g", type: "f32", write: false },
    { name: "dlogits", type: "f32", write: true },
  ],
  variant: (_p, sw) => (sw ? "thread" : "group"),
  wgsl: (_p, env) => crossEntropyBackwardWgsl(env.decls, env.software),
  meta,
  grid: (p, sw) => rowGrid(p.rows, sw),
  ref: crossEntropyBackwardRef,
};
