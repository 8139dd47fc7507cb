// Kernel definition of rotary embedding.
import { f32Bits } from "../../dtype";
import { type KernelDef, strideGroups } from "../kernel";
import { type RopeParams, ropeRef } from "./rope.ref";
import { ROPE_WG, ropeWgsl } from "./rope.wgsl";

/** Rotary embedding (forward sign 1, backward sign -1). */
export const ropeKernel: KernelDef<RopeParams> = {
  name: "rope",
  bindings: () => [
    { name: "x", type: "f32", write: false },
    { name: "pos", type: "i32", write: false },
    { name: "y", type: "f32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => ropeWgsl(env.decls),
  meta: (p) => [p.batch, p.nHeads, p.seqLen, p.headDim, f32Bits(p.theta), f32Bits(p.sign)],
  grid: (p, sw) => [strideGroups((p.batch * p.seqLen * p.headDim) / 2, ROPE_WG, sw), 1, 1],
  ref: ropeRef,
};
