// Kernel definition of the elementwise kernel (bindings a, b, c, out; meta per ElemParams).
import { f32Bits } from "../../dtype";
import { type KernelDef, strideGroups } from "../kernel";
import { type ElemParams, elementwiseRef } from "./elementwise.ref";
import { ELEM_WG, elementwiseWgsl, MAX_RANK, META } from "./elementwise.wgsl";

/** The single elementwise kernel. */
export const elementwiseKernel: KernelDef<ElemParams> = {
  name: "elementwise",
  // 32-bit tensors are bound as raw words (bitcast per dtype code); f16 ones as f32 accessors
  // over f16 storage (dtype code 3)
  bindings: (p) =>
    ["a", "b", "c", "out"].map((name, k) => ({
      name,
      type: p.dtypes[k] === 3 ? ("f32" as const) : ("u32" as const),
      write: k === 3,
    })),
  variant: (p) => `${p.op}/${p.dtypes.join("")}/${p.modes.join("")}`,
  wgsl: (p, env) => elementwiseWgsl(env.decls, p),
  meta(p) {
    const m = new Array<number>(META.strides + 3 * MAX_RANK).fill(0);
    m[META.n] = p.n;
    m[META.op] = p.op;
    m[META.rank] = p.shape.length;
    m[META.modes] = (p.modes[0] ?? 0) | ((p.modes[1] ?? 0) << 2) | ((p.modes[2] ?? 0) << 4);
    for (let k = 0; k < 4; k++) m[META.dt + k] = p.dtypes[k] ?? 0;
    m[META.s] = f32Bits(p.s);
    m[META.s2] = f32Bits(p.s2);
    p.shape.forEach((d, i) => {
      m[META.shape + i] = d;
    });
    for (let k = 0; k < 3; k++) {
      (p.strides[k] ?? []).forEach((st, i) => {
        m[META.strides + k * MAX_RANK + i] = st;
      });
    }
    return m;
  },
  grid: (p, sw) => [strideGroups(p.n, ELEM_WG, sw), 1, 1],
  ref: elementwiseRef,
};
