// Kernel definition of the strided copy.
import { type KernelDef, strideGroups } from "../kernel";
import { type CopyParams, copyRef } from "./copy.ref";
import { COPY_CHUNK, COPY_WG, copyWgsl } from "./copy.wgsl";

/** A rank-0 copy as rank 1. */
function rank1(p: CopyParams): CopyParams {
  return p.shape.length > 0 ? p : { ...p, shape: [1], srcStrides: [1], dstStrides: [1] };
}

/** Strided copy of raw words (any dtype). */
export const copyKernel: KernelDef<CopyParams> = {
  name: "copy",
  bindings: () => [
    { name: "src", type: "u32", write: false },
    { name: "dst", type: "u32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => copyWgsl(env.decls),
  meta(q) {
    const p = rank1(q);
    if (p.shape.length > 8) throw new Error(`copy: rank ${p.shape.length} > 8`);
    const m = new Array<number>(28).fill(0);
    m[0] = p.shape.reduce((a, b) => a * b, 1);
    m[1] = p.shape.length;
    m[2] = p.srcOffset;
    m[3] = p.dstOffset;
    p.shape.forEach((d, i) => {
      m[4 + i] = d;
      m[12 + i] = p.srcStrides[i] as number;
      m[20 + i] = p.dstStrides[i] as number;
    });
    return m;
  },
  grid: (q) => {
    const p = rank1(q);
    const last = p.shape[p.shape.length - 1] as number;
    const rows = p.shape.reduce((a, b) => a * b, 1) / last;
    return [strideGroups(rows * Math.ceil(last / COPY_CHUNK), COPY_WG), 1, 1];
  },
  ref: copyRef,
};
