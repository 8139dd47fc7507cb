// Neural-network ops with fused kernels: softmax / log-softmax, RMSNorm, rotary embedding and
// the fused cross-entropy, each with its vjp.

import { shapeSize } from "../dtype";
import { ShapeError } from "../errors";
import {
  crossEntropyBackwardKernel,
  crossEntropyKernel,
} from "../kernels/cross-entropy/cross-entropy.kernel";
import {
  rmsNormBackwardKernel,
  rmsNormDwKernel,
  rmsNormKernel,
} from "../kernels/rmsnorm/rmsnorm.kernel";
import { DW_CHUNK } from "../kernels/rmsnorm/rmsnorm.ref";
import { ropeKernel } from "../kernels/rope/rope.kernel";
import { softmaxBackwardKernel, softmaxKernel } from "../kernels/softmax/softmax.kernel";
import { attach } from "../tape";
import type { Tensor } from "../tensor";
import { checkSame, empty, floatOut, launchElementwise, normAxis } from "./core";
import { reshape, transpose } from "./movement";
import { sum } from "./reduce";

const arg = (t: Tensor) => ({ storage: t.storage, dtype: t.dtype });

function softmaxLast(x: Tensor, log: boolean): Tensor {
  checkSame("softmax", [x]);
  const n = x.shape[x.rank - 1] as number;
  const p = { rows: x.size / n, n, log };
  const y = empty(x.shape, floatOut(x), x);
  if (y.size > 0) y.backend.run(softmaxKernel, p, [arg(x), arg(y)]);
  return attach(log ? "logSoftmax" : "softmax", y, [x], [y], (g, [sy]) => {
    const dx = empty(x.shape, floatOut(x), g);
    if (dx.size > 0) dx.backend.run(softmaxBackwardKernel, p, [arg(sy as Tensor), arg(g), arg(dx)]);
    return [dx];
  });
}

function alongAxis(x: Tensor, axis: number, f: (t: Tensor) => Tensor): Tensor {
  const a = normAxis(axis, x.rank);
  if (a === x.rank - 1) return f(x);
  const t = transpose(x, a, -1);
  const y = f(t);
  const out = transpose(y, a, -1);
  // intermediates can go: the tape keeps what it needs through node edges and saved views
  t.dispose();
  y.dispose();
  return out;
}

/** softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, (t) => softmaxLast(t, false));
}

/** log-softmax along `axis` (default last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, (t) => softmaxLast(t, true));
}

/** RMSNorm over the last dim: x [..., d] * rsqrt(mean(x^2) + eps) * weight [d]. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  checkSame("rmsNorm", [x, weight]);
  const n = x.shape[x.rank - 1] as number;
  if (weight.rank !== 1 || weight.shape[0] !== n) {
    throw new ShapeError(`rmsNorm: weight must be [${n}], got [${weight.shape}]`);
  }
  const p = { rows: x.size / n, n, eps };
  const y = empty(x.shape, floatOut(x), x);
  const rstd = empty([...x.shape.slice(0, -1), 1], "f32", x);
  if (y.size > 0) y.backend.run(rmsNormKernel, p, [arg(x), arg(weight), arg(y), arg(rstd)]);
  const [nx, nw] = [x.requiresGrad, weight.requiresGrad];
  const out = attach("rmsNorm", y, [x, weight], [x, weight, rstd], (g, [sx, sw, sr]) => {
    const X = sx as Tensor;
    const R = sr as Tensor;
    let dx: Tensor | null = null;
    if (nx) {
      dx = empty(x.shape, floatOut(x), g);
      dx.backend.run(rmsNormBackwardKernel, p, [
        arg(X),
        arg(sw as Tensor),
        arg(g),
        arg(R),
        arg(dx),
      ]);
    }
    // dw = sum over rows of g * x * rstd: partial sums per chunk of rows, then over chunks
    let dw: Tensor | null = null;
    if (nw) {
      const partial = empty([Math.ceil(p.rows / DW_CHUNK), n], "f32", g);
      if (partial.size > 0)
        g.backend.run(rmsNormDwKernel, p, [arg(X), arg(g), arg(R), arg(partial)]);
      dw = partial.shape[0] === 1 ? reshape(partial, [n]) : sum(partial, 0);
      if (dw !== partial) partial.dispose();
      if (weight.dtype === "f16") {
        const half = launchElementwise("copy", [dw], "f16");
        dw.dispose();
        dw = half;
      }
    }
    return [dx, dw];
  });
  rstd.dispose(); // the node keeps its own view of rstd
  return out;
}

/** Options of rope. */
export interface RopeOptions {
  theta?: number;
}

/**
 * Rotary embedding, HF rotate-half layout: x [batch, nHeads, seqLen, headDim], positions i32
 * [batch, seqLen] (any ids, not necessarily contiguous).
 */
export function rope(x: Tensor, positions: Tensor, opts: RopeOptions = {}): Tensor {
  checkSame("rope", [x, positions]);
  if (x.rank !== 4)
    throw new ShapeError(`rope: x must be [batch, nHeads, seqLen, headDim], got [${x.shape}]`);
  const [batch, nHeads, seqLen, headDim] = x.shape as [number, number, number, number];
  if (headDim % 2 !== 0) throw new ShapeError(`rope: headDim must be even, got ${headDim}`);
  if (positions.dtype !== "i32" || positions.size !== batch * seqLen) {
    throw new ShapeError(
      `rope: positions must be i32 [${batch}, ${seqLen}], got ${positions.dtype} [${positions.shape}]`,
    );
  }
  const base = { batch, nHeads, seqLen, headDim, theta: opts.theta ?? 10000 };
  const y = empty(x.shape, floatOut(x), x);
  if (y.size > 0) y.backend.run(ropeKernel, { ...base, sign: 1 }, [arg(x), arg(positions), arg(y)]);
  return attach("rope", y, [x, positions], [positions], (g, [sp]) => {
    const dx = empty(x.shape, floatOut(x), g);
    if (dx.size > 0)
      dx.backend.run(ropeKernel, { ...base, sign: -1 }, [arg(g), arg(sp as Tensor), arg(dx)]);
    return [dx, null];
  });
}

/** Options of crossEntropy. */
export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: "mean" | "sum" | "none";
}

function crossEntropyRows(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const [rows, V] = logits.shape as [number, number];
  const p = { rows, V, ignoreIndex };
  const loss = empty([rows], "f32", logits);
  const lse = empty([rows], "f32", logits);
  if (rows > 0)
    loss.backend.run(crossEntropyKernel, p, [arg(logits), arg(targets), arg(loss), arg(lse)]);
  const out = attach(
    "crossEntropy",
    loss,
    [logits, targets],
    [logits, targets, lse],
    (g, [sl, st, se]) => {
      const dx = empty(logits.shape, floatOut(logits), g);
      if (rows > 0) {
        dx.backend.run(crossEntropyBackwardKernel, p, [
          arg(sl as Tensor),
          arg(st as Tensor),
          arg(se as Tensor),
          arg(g),
          arg(dx),
        ]);
      }
      return [dx, null];
    },
  );
  lse.dispose();
  return out;
}

/**
 * Cross-entropy of logits [N, V] against i32 targets [N], fused with log-softmax. "mean" averages
 * over targets != ignoreIndex (0 if there are none).
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: CrossEntropyOptions = {},
): Tensor {
  checkSame("crossEntropy", [logits, targets]);
  if (logits.rank !== 2)
    throw new ShapeError(`crossEntropy: logits must be [N, V], got [${logits.shape}]`);
  if (targets.dtype !== "i32" || targets.size !== logits.shape[0]) {
    throw new ShapeError(
      `crossEntropy: targets must be i32 [${logits.shape[0]}], got ${targets.dtype} [${targets.shape}]`,
    );
  }
  const ignore = opts.ignoreIndex ?? -100;
  const rows = crossEntropyRows(logits, targets, ignore);
  const reduction = opts.reduction ?? "mean";
  if (reduction === "none") return rows;
  const total = sum(rows);
  if (reduction === "sum") return total;
  const valid = launchElementwise("neScalar", [targets], "f32", ignore);
  const count = sum(valid);
  const denom = launchElementwise("maxScalar", [count], "f32", 1);
  const out = launchElementwise("div", [total, denom], "f32");
  const res = attach("crossEntropyMean", out, [total], [denom], (g, [sd]) => [
    launchElementwise("div", [g, sd as Tensor], "f32"),
  ]);
  for (const t of [valid, count, denom, rows, total]) t.dispose();
  return res;
}

/** Number of elements of the last-dim rows (helper for callers). */
export function rowsOf(x: Tensor): number {
  return shapeSize(x.shape.slice(0, -1));
}
