// Kernel definitions of gather and scatter-add.
import { type KernelDef, strideGroups } from "../kernel";
import { type GatherParams, gatherRef, scatterAddRef, scatterLinksRef } from "./gather.ref";
import { GATHER_WG, gatherWgsl, scatterAddWgsl, scatterLinksWgsl } from "./gather.wgsl";

const meta = (p: GatherParams) => [p.outer, p.V, p.inner, p.count];
const grid = (p: GatherParams, sw: boolean): [number, number, number] => [
  strideGroups(p.outer * p.count * p.inner, GATHER_WG, sw),
  1,
  1,
];

/** out[o, c, e] = x[o, ids[c], e] (raw words, any dtype). */
export const gatherKernel: KernelDef<GatherParams> = {
  name: "gather",
  bindings: () => [
    { name: "x", type: "u32", write: false },
    { name: "ids", type: "i32", write: false },
    { name: "out", type: "u32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => gatherWgsl(env.decls),
  meta,
  grid,
  ref: gatherRef,
};

/** links [2 * count]: next position of the same id (-1 if none), then first-occurrence flags. */
export const scatterLinksKernel: KernelDef<{ count: number }> = {
  name: "scatter-links",
  bindings: () => [
    { name: "ids", type: "i32", write: false },
    { name: "links", type: "i32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => scatterLinksWgsl(env.decls),
  meta: (p) => [p.count],
  grid: (p) => [strideGroups(p.count, GATHER_WG), 1, 1],
  ref: scatterLinksRef,
};

/** dx[o, ids[c], e] += g[o, c, e], summed per id in position order (no atomics: deterministic). */
export const scatterAddKernel: KernelDef<GatherParams> = {
  name: "scatter-add",
  bindings: () => [
    { name: "ids", type: "i32", write: false },
    { name: "links", type: "i32", write: false },
    { name: "g", type: "f32", write: false },
    { name: "dx", type: "f32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => scatterAddWgsl(env.decls),
  meta,
  grid,
  ref: scatterAddRef,
};
