// Kernel definition of the matmul: picks the tiling per adapter (software vs hardware).
import type { KernelDef } from "../kernel";
import { type MatmulParams, matmulRef } from "./matmul.ref";
import { GPU_TILING, type MatmulTiling, matmulWgsl, SOFTWARE_TILING } from "./matmul.wgsl";
import { matmulNNWgsl, matmulNTWgsl } from "./matmul-vec4.wgsl";

/** Matmul params plus an optional forced tiling (benchmarks). */
export type MatmulRun = MatmulParams & { tiling?: MatmulTiling; vec?: "nn" | "nt" };

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

const VEC_SOFTWARE: Record<"nn" | "nt", MatmulTiling> = {
  nn: { tm: 8, tn: 4, wx: 8, wy: 1 },
  nt: { tm: 4, tn: 4, wx: 8, wy: 1 },
};
const VEC_GPU: Record<"nn" | "nt", MatmulTiling> = {
  nn: { tm: 4, tn: 1, wx: 16, wy: 16 },
  nt: { tm: 2, tn: 2, wx: 16, wy: 16 },
};

/**
 * Software "nt" with fewer rows than the tile (M = 1: a decode step's x @ W^T): one row per
 * invocation, so no invocation recomputes a clamped duplicate row (TinyLlama's [1, 2048] x
 * [5632, 2048]^T on lavapipe: 54 -> 36 ms in f32 and 61 -> 37 ms in f16, in one run).
 */
const VEC_SOFTWARE_NT_ROW: MatmulTiling = { tm: 1, tn: 4, wx: 16, wy: 1 };

function vecTiling(p: MatmulRun, software: boolean): MatmulTiling {
  const mode = p.vec ?? "nn";
  if (p.tiling) return p.tiling;
  if (software && mode === "nt" && p.M < VEC_SOFTWARE.nt.tm) return VEC_SOFTWARE_NT_ROW;
  return (software ? VEC_SOFTWARE : VEC_GPU)[mode];
}

/** Which vectorised variant fits these params (null: use the scalar kernel). */
export function vecMode(p: MatmulParams): "nn" | "nt" | null {
  if (!p.transB && p.N % 4 === 0) return "nn";
  if (p.transB && !p.transA && p.K % 4 === 0) return "nt";
  return null;
}

/** Vectorised batched matmul (16-byte loads); `vec` selects the layout. */
export const matmulVec4Kernel: KernelDef<MatmulRun> = {
  name: "matmul-vec4",
  bindings: (p) =>
    p.vec === "nt"
      ? [
          { name: "a", type: "vec4<f32>", write: false },
          { name: "b", type: "vec4<f32>", write: false },
          { name: "c", type: "f32", write: true },
        ]
      : [
          { name: "a", type: "f32", write: false },
          { name: "b", type: "vec4<f32>", write: false },
          { name: "c", type: "vec4<f32>", write: true },
        ],
  variant: (p, sw) => {
    const t = vecTiling(p, sw);
    return `${p.vec}/${t.tm}x${t.tn}/${t.wx}x${t.wy}/${+p.transA}`;
  },
  wgsl: (p, env) =>
    p.vec === "nt"
      ? matmulNTWgsl(env.decls, vecTiling(p, env.software))
      : matmulNNWgsl(env.decls, vecTiling(p, env.software), p.transA),
  meta: matmulKernel.meta,
  grid(p, sw) {
    const t = vecTiling(p, sw);
    const batch = p.batchShape.reduce((x, y) => x * y, 1);
    const cols = p.vec === "nt" ? p.N : p.N / 4;
    return [Math.ceil(cols / (t.wx * t.tn)), Math.ceil(p.M / (t.wy * t.tm)), batch];
  },
  ref: matmulRef,
};
