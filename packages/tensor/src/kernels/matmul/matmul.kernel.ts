// Kernel definition of the matmul: picks the tiling per adapter (software vs hardware).
import type { KernelDef } from "../kernel";
import { type MatmulParams, matmulRef } from "./matmul.ref";
import { GPU_TILING, type MatmulTiling, matmulWgsl, SOFTWARE_TILING } from "./matmul.wgsl";

/** Matmul params plus an optional forced tiling (benchmarks). */
export type MatmulRun = MatmulParams & { tiling?: MatmulTiling };

function tiling(p: MatmulRun, software: boolean): MatmulTiling {
  return p.tiling ?? (software ? SOFTWARE_TILING : GPU_TILING);
}

/** Batched matmul kernel. */
export const matmulKernel: KernelDef<MatmulRun> = {
  name: "matmul",
  bindings: () => [
    { name: "a", type: "f32", write: false },
    { name: "b", type: "f32", write: false },
    { name: "c", type: "f32", write: true },
  ],
  variant: (p, sw) => {
    const t = tiling(p, sw);
    return `${t.tm}x${t.tn}/${t.wx}x${t.wy}/${+p.transA}${+p.transB}`;
  },
  wgsl: (p, env) => matmulWgsl(env.decls, tiling(p, env.software), p.transA, p.transB),
  meta(p) {
    const m = new Array<number>(16).fill(0);
    m[0] = p.M;
    m[1] = p.N;
    m[2] = p.K;
    m[3] = p.batchShape.length;
    for (let d = 0; d < p.batchShape.length; d++) {
      m[4 + d] = p.batchShape[d] as number;
      m[8 + d] = p.aBatchStrides[d] as number;
      m[12 + d] = p.bBatchStrides[d] as number;
    }
    return m;
  },
  grid(p, sw) {
    const t = tiling(p, sw);
    const batch = p.batchShape.reduce((x, y) => x * y, 1);
    return [Math.ceil(p.N / (t.wx * t.tn)), Math.ceil(p.M / (t.wy * t.tm)), batch];
  },
  ref: matmulRef,
};
