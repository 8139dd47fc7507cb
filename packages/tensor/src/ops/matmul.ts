// Batched matmul with transposed operands read in place and broadcast batch dims; its vjp uses
// the same kernel with flipped transpose flags (no transposed copies).
import { ShapeError } from "../errors";
import { matmulKernel, matmulVec4Kernel, vecMode } from "../kernels/matmul/matmul.kernel";
import type { MatmulTiling } from "../kernels/matmul/matmul.wgsl";
import { attach, noGrad } from "../tape";
import type { Tensor } from "../tensor";
import {
  MATMUL_CANDIDATES,
  matmulShapeClass,
  noteWork,
  tunedChoice,
  tuningActive,
} from "../tuning";
import { broadcastShapes, checkSame, empty, floatOut, stridesOf } from "./core";
import { reshape, transpose } from "./movement";

/** Options of matmul. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Force a kernel tiling (benchmarks and tests). */
  tiling?: MatmulTiling;
  /** Force the scalar (non-vectorised) kernel (benchmarks and tests). */
  scalar?: boolean;
}

function mm(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  asked: MatmulOptions = {},
): Tensor {
  checkSame("matmul", [a, b]);
  let opts = asked;
  if (!opts.tiling && !opts.scalar && a.rank >= 2 && b.rank >= 2 && tuningActive(a.backend)) {
    // the autotuner's choice for this shape class, when it has made one (tuning.ts)
    const [m, ka] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : a.shape.slice(-2);
    const n = transB ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
    const work = {
      op: "matmul",
      m: m as number,
      k: ka as number,
      n: n as number,
      transA,
      transB,
    } as const;
    noteWork(work);
    const name = tunedChoice(a.backend, matmulShapeClass(work));
    const kind = a.backend.software ? "software" : "hardware";
    const choice = name === undefined ? undefined : MATMUL_CANDIDATES[kind][name];
    if (choice && (choice.tiling || choice.scalar)) opts = { ...opts, ...choice };
  }
  const tiling = opts.tiling;
  // software adapters: A @ B^T runs faster as a transposed copy of B (weights are small next to
  // activations) followed by the vectorised "nn" kernel than as dot products along K
  if (transB && !transA && a.backend.software && !opts.tiling && !opts.scalar && b.rank >= 2) {
    const rowsA = a.size / (a.shape[a.rank - 1] as number);
    if ((b.shape[b.rank - 2] as number) % 4 === 0 && rowsA >= 16) {
      const bt = noGrad(() => transpose(b, -1, -2));
      const out = mm(a, bt, false, false, opts);
      bt.dispose();
      return out;
    }
  }
  if (a.rank < 2 || b.rank < 2)
    throw new ShapeError(`matmul: operands need rank >= 2, got [${a.shape}] @ [${b.shape}]`);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2) {
    throw new ShapeError(
      `matmul: inner dims differ: [${a.shape}]${transA ? "^T" : ""} @ [${b.shape}]${transB ? "^T" : ""}`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = broadcastShapes(aBatch, bBatch);
  if (batchShape.length > 4)
    throw new ShapeError(`matmul: at most 4 batch dims, got [${batchShape}]`);
  const bStr = (shape: readonly number[], matSize: number) => {
    const st = stridesOf(shape).map((s) => s * matSize);
    return batchShape.map((_, i) => {
      const j = i - (batchShape.length - shape.length);
      return j < 0 || shape[j] === 1 ? 0 : (st[j] as number);
    });
  };
  const out = empty([...batchShape, M, N], floatOut(a, b), a);
  if (out.size === 0) return out;
  if (K === 0) throw new ShapeError("matmul: K = 0 not supported");
  const params = {
    M,
    N,
    K,
    transA,
    transB,
    batchShape,
    aBatchStrides: bStr(aBatch, ar * ac),
    bBatchStrides: bStr(bBatch, br * bc),
    tiling,
  };
  const vec = opts.scalar ? null : vecMode(params);
  out.backend.run(vec ? matmulVec4Kernel : matmulKernel, { ...params, vec: vec ?? undefined }, [
    { storage: a.storage, dtype: a.dtype },
    { storage: b.storage, dtype: b.dtype },
    { storage: out.storage, dtype: out.dtype },
  ]);
  return out;
}

/**
 * [..., M, K] @ [..., K, N] -> [..., M, N]; `transA` / `transB` read A^T / B^T in place
 * (x @ W^T with W [out, in]: matmul(x, W, { transB: true })).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const tA = opts.transA ?? false;
  const tB = opts.transB ?? false;
  const out = mm(a, b, tA, tB, opts);
  const [na, nb] = [a.requiresGrad, b.requiresGrad];
  return attach("matmul", out, [a, b], [a, b], (g, [sa, sb]) => {
    const A = sa as Tensor;
    const B = sb as Tensor;
    // C = op(A) op(B): dop(A) = G op(B)^T, dop(B) = op(A)^T G
    const dA = !na ? null : tA ? mm(B, g, tB, true) : mm(g, B, false, !tB);
    let dB: Tensor | null = null;
    if (nb && B.rank === 2 && A.rank > 2 && !tA) {
      // a weight shared by every batch entry (x [batch, seqLen, in] @ W): one matmul over the
      // flattened rows instead of one per batch entry followed by a sum over the batch
      const A2 = reshape(A, [-1, A.shape[A.rank - 1] as number]);
      const G2 = reshape(g, [-1, g.shape[g.rank - 1] as number]);
      dB = tB ? mm(G2, A2, true, false) : mm(A2, G2, true, false);
      A2.dispose();
      G2.dispose();
    } else if (nb) {
      dB = tB ? mm(g, A, true, tA) : mm(A, g, !tA, false);
    }
    return [dA, dB];
  });
}
