// Kernel definitions of softmax / log-softmax forward and backward.
import type { KernelDef } from "../kernel";
import { rowGrid } from "../rows";
import { type SoftmaxParams, softmaxBackwardRef, softmaxRef } from "./softmax.ref";
import { softmaxBackwardWgsl, softmaxWgsl } from "./softmax.wgsl";

const meta = (p: SoftmaxParams) => [p.rows, p.n, p.log ? 1 : 0];

/** y = softmax(x) or log_softmax(x) over rows. */
export const softmaxKernel: KernelDef<SoftmaxParams> = {
  name: "softmax",
  bindings: () => [
    { name: "x", type: "f32", write: false },
    { name: "y", type: "f32", write: true },
  ],
  variant: (_p, sw) => (sw ? "thread" : "group"),
  wgsl: (_p, env) => softmaxWgsl(env.decls, env.software),
  meta,
  grid: (p, sw) => rowGrid(p.rows, sw),
  ref: softmaxRef,
};

/** dx from the forward output y and the incoming gradient g. */
export const softmaxBackwardKernel: KernelDef<SoftmaxParams> = {
  name: "softmax-backward",
  bindings: () => [
    { name: "y", type: "f32", write: false },
    { name: "g", type: "f32", write: false },
    { name: "dx", type: "f32", write: true },
  ],
  variant: (_p, sw) => (sw ? "thread" : "group"),
  wgsl: (_p, env) => softmaxBackwardWgsl(env.decls, env.software),
  meta,
  grid: (p, sw) => rowGrid(p.rows, sw),
  ref: softmaxBackwardRef,
};
