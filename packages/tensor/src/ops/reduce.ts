// Reductions over one or several axes (sum, mean, max, argmax) and sumTo, the broadcast-undo used
// by autograd. Multi-axis reductions run one axis at a time. They accumulate in f32 and return f32
// also for f16 inputs (a sum of many halves would lose the precision it was computed in); the
// gradient reaching an f16 input is f16.

import { isFloat, shapeSize } from "../dtype";
import { reduceKernel } from "../kernels/reduce/reduce.kernel";
import { attach } from "../tape";
import type { Tensor } from "../tensor";
import { checkSame, empty, floatOut, launchElementwise, normAxis } from "./core";
import { reshape } from "./movement";

function reduceAxis(x: Tensor, axis: number, op: 0 | 1 | 2): Tensor {
  const outer = shapeSize(x.shape.slice(0, axis));
  const r = x.shape[axis] as number;
  const inner = shapeSize(x.shape.slice(axis + 1));
  const shape = [...x.shape];
  shape[axis] = 1;
  // a long axis with few outputs: first reduce chunks of it, then the partials
  if (op !== 2 && r >= 4096 && outer * inner < 256) {
    const chunk = Math.ceil(Math.sqrt(r));
    const nChunks = Math.ceil(r / chunk);
    const part = empty([outer, nChunks, inner], "f32", x);
    part.backend.run(reduceKernel, { outer, r, inner, op, chunk }, [
      { storage: x.storage, dtype: x.dtype },
      { storage: part.storage, dtype: "f32" },
    ]);
    const out = empty(shape, "f32", x);
    out.backend.run(reduceKernel, { outer, r: nChunks, inner, op, chunk: nChunks }, [
      { storage: part.storage, dtype: "f32" },
      { storage: out.storage, dtype: "f32" },
    ]);
    part.dispose();
    return out;
  }
  const out = empty(shape, op === 2 ? "i32" : "f32", x);
  if (out.size > 0 && r > 0) {
    out.backend.run(reduceKernel, { outer, r, inner, op, chunk: r }, [
      { storage: x.storage, dtype: x.dtype },
      { storage: out.storage, dtype: out.dtype },
    ]);
  }
  return out;
}

function axesOf(x: Tensor, axis?: number | number[]): number[] {
  if (axis === undefined) return x.shape.map((_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => normAxis(a, x.rank)))].sort((a, b) => a - b);
}

function dropDims(shape: readonly number[], axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

/** The reduce kernel reads floats (f16 widens on load); ints are converted first. */
function floatIn(x: Tensor): Tensor {
  return isFloat(x.dtype) ? x : launchElementwise("copy", [x], "f32");
}

/**
 * Reduces `axes` with keepDim shape: size-1 axes are skipped and each run of adjacent axes is
 * merged into one, so e.g. a sum over [0, 1] of [batch, seqLen, d] is a single kernel launch.
 */
function reduceAxes(x: Tensor, axes: number[], op: 0 | 1): Tensor {
  const live = axes.filter((a) => x.shape[a] !== 1);
  const runs: [number, number][] = [];
  for (const a of live) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a - 1) last[1] = a;
    else runs.push([a, a]);
  }
  let cur = floatIn(x);
  let shape = [...x.shape];
  for (const [start, end] of runs) {
    const merged = [
      ...shape.slice(0, start),
      shapeSize(shape.slice(start, end + 1)),
      ...shape.slice(end + 1),
    ];
    const v = cur.view(merged);
    const r = reduceAxis(v, start, op);
    v.dispose();
    if (cur !== x) cur.dispose();
    shape = shape.map((d, i) => (i >= start && i <= end ? 1 : d));
    cur = r.view(shape);
    r.dispose();
  }
  // nothing to reduce (all axes of size 1): a copy, so the result is a new tensor
  return cur === x ? launchElementwise("copy", [x], "f32", 0, 0, shape) : cur;
}

/** Sum over axes (all by default). */
export function sum(x: Tensor, axis?: number | number[], keepDim = false): Tensor {
  checkSame("sum", [x]);
  const axes = axesOf(x, axis);
  const cur = reduceAxes(x, axes, 0);
  const keptShape = cur.shape;
  const out = keepDim ? cur : reshape(cur, dropDims(x.shape, axes));
  if (out !== cur) cur.dispose();
  return attach("sum", out, [x], [], (g) => [
    launchElementwise("copy", [reshape(g, keptShape)], floatOut(x), 0, 0, x.shape),
  ]);
}

/** Mean over axes. */
export function mean(x: Tensor, axis?: number | number[], keepDim = false): Tensor {
  const axes = axesOf(x, axis);
  const count = axes.reduce((n, a) => n * (x.shape[a] as number), 1);
  const s = sum(x, axis, keepDim);
  const out = launchElementwise("scale", [s], "f32", 1 / count);
  const res = attach("mean", out, [s], [], (g) => [
    launchElementwise("scale", [g], "f32", 1 / count),
  ]);
  s.dispose();
  return res;
}

/** Max over axes (gradient flows to every maximal element). */
export function max(x: Tensor, axis?: number | number[], keepDim = false): Tensor {
  checkSame("max", [x]);
  const axes = axesOf(x, axis);
  const cur = reduceAxes(x, axes, 1);
  const keptShape = cur.shape;
  const out = keepDim ? cur : reshape(cur, dropDims(x.shape, axes));
  if (out !== cur) cur.dispose();
  return attach("max", out, [x], [x, out], (g, [sx, so]) => {
    const m = reshape(so as Tensor, keptShape);
    const mask = launchElementwise("eq", [sx as Tensor, m], "f32");
    return [launchElementwise("mul", [mask, reshape(g, keptShape)], floatOut(x))];
  });
}

/** Index of the max along `axis` (i32, first on ties). */
export function argmax(x: Tensor, axis = -1, keepDim = false): Tensor {
  checkSame("argmax", [x]);
  const a = normAxis(axis, x.rank);
  const xf = floatIn(x);
  const out = reduceAxis(xf, a, 2);
  if (xf !== x) xf.dispose();
  if (keepDim) return out;
  const r = reshape(out, dropDims(x.shape, [a]));
  out.dispose();
  return r;
}

/** Internal: sums a broadcast gradient back to `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = sum(g, axes, true);
  const out = reshape(s, shape);
  s.dispose();
  if (g.dtype !== "f16") return out;
  // the gradient of an f16 input stays f16 (the sum itself ran in f32)
  const half = launchElementwise("copy", [out], "f16");
  out.dispose();
  return half;
}
