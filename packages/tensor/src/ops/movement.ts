// Movement ops: reshape (a view), permute/transpose/slice/concat/expand (strided copies),
// gather / embedding (index select with a scatter-add gradient), squeeze/unsqueeze.

import { shapeSize } from "../dtype";
import { ShapeError } from "../errors";
import { copyKernel } from "../kernels/copy/copy.kernel";
import {
  gatherKernel,
  scatterAddKernel,
  scatterLinksKernel,
} from "../kernels/gather/gather.kernel";
import { attach } from "../tape";
import type { Tensor } from "../tensor";
import { broadcastShapes, checkSame, empty, normAxis, stridesOf } from "./core";
import { zerosOn } from "./util";

/** Same data, new shape (one dim may be -1). Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  x.check();
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  if (shapeSize(resolved) !== x.size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`reshape: cannot view [${x.shape}] as [${shape}]`);
  }
  const out = x.view(resolved);
  return attach("reshape", out, [x], [], (g) => [reshape(g, x.shape)]);
}

function runCopy(
  src: Tensor,
  dst: Tensor,
  shape: number[],
  srcStrides: number[],
  dstStrides: number[],
  srcOffset = 0,
  dstOffset = 0,
): void {
  if (shapeSize(shape) === 0) return;
  dst.backend.run(copyKernel, { shape, srcStrides, dstStrides, srcOffset, dstOffset }, [
    { storage: src.storage, dtype: src.dtype },
    { storage: dst.storage, dtype: dst.dtype },
  ]);
}

/** Reorders dims: out.shape[i] = x.shape[dims[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkSame("permute", [x]);
  const r = x.rank;
  const d = dims.map((a) => normAxis(a, r, "permute dim"));
  if (d.length !== r || new Set(d).size !== r)
    throw new ShapeError(`permute: bad dims [${dims}] for rank ${r}`);
  const shape = d.map((a) => x.shape[a] as number);
  const st = stridesOf(x.shape);
  const out = empty(shape, x.dtype, x);
  runCopy(
    x,
    out,
    shape,
    d.map((a) => st[a] as number),
    stridesOf(shape),
  );
  const inv = new Array<number>(r);
  d.forEach((a, i) => {
    inv[a] = i;
  });
  return attach("permute", out, [x], [], (g) => [permute(g, inv)]);
}

/** Swaps two dims. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const dims = x.shape.map((_, i) => i);
  const a = normAxis(dim0, x.rank);
  const b = normAxis(dim1, x.rank);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** A contiguous copy (tensors here are always contiguous: this is a plain copy). */
export function contiguous(x: Tensor): Tensor {
  return permute(
    x,
    x.shape.map((_, i) => i),
  );
}

/** x[..., start:end, ...] along `axis`. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  checkSame("slice", [x]);
  const a = normAxis(axis, x.rank);
  const len = x.shape[a] as number;
  const s = Math.max(0, Math.min(len, start < 0 ? start + len : start));
  const e = Math.max(s, Math.min(len, end === undefined ? len : end < 0 ? end + len : end));
  const shape = [...x.shape];
  shape[a] = e - s;
  const st = stridesOf(x.shape);
  const out = empty(shape, x.dtype, x);
  runCopy(x, out, shape, st, stridesOf(shape), s * (st[a] as number));
  return attach("slice", out, [x], [], (g) => {
    const dx = zerosOn(x.shape, g);
    runCopy(g, dx, shape, stridesOf(shape), st, 0, s * (st[a] as number));
    return [dx];
  });
}

/** Joins tensors along `axis` (other dims equal). */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError("concat: no tensors");
  checkSame("concat", xs);
  const first = xs[0] as Tensor;
  const a = normAxis(axis, first.rank);
  for (const t of xs) {
    if (
      t.rank !== first.rank ||
      t.shape.some((d, i) => i !== a && d !== first.shape[i]) ||
      t.dtype !== first.dtype
    ) {
      throw new ShapeError(
        `concat: [${t.shape}] ${t.dtype} does not fit [${first.shape}] ${first.dtype} on axis ${a}`,
      );
    }
  }
  const shape = [...first.shape];
  shape[a] = xs.reduce((s, t) => s + (t.shape[a] as number), 0);
  const out = empty(shape, first.dtype, first);
  const ost = stridesOf(shape);
  let off = 0;
  const offsets: number[] = [];
  for (const t of xs) {
    offsets.push(off);
    runCopy(t, out, [...t.shape], stridesOf(t.shape), ost, 0, off * (ost[a] as number));
    off += t.shape[a] as number;
  }
  return attach("concat", out, xs, [], (g) =>
    xs.map((t, i) =>
      slice(g, a, offsets[i] as number, (offsets[i] as number) + (t.shape[a] as number)),
    ),
  );
}

/** Broadcasts x to `shape` (materialised). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkSame("expand", [x]);
  const target = broadcastShapes(x.shape, shape);
  if (target.join() !== shape.join())
    throw new ShapeError(`expand: [${x.shape}] cannot expand to [${shape}]`);
  const st = stridesOf(x.shape);
  const srcStrides = shape.map((_d, i) => {
    const j = i - (shape.length - x.rank);
    return j < 0 || x.shape[j] === 1 ? 0 : (st[j] as number);
  });
  const out = empty(shape, x.dtype, x);
  runCopy(x, out, [...shape], srcStrides, stridesOf(shape));
  return attach("expand", out, [x], [], (g) => [g]);
}

/** Removes size-1 dims (all, or the given axis). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normAxis(axis, x.rank);
  if (x.shape[a] !== 1) throw new ShapeError(`squeeze: dim ${a} of [${x.shape}] is not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
}

/** Inserts a size-1 dim at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Index select: out.shape = x.shape[:axis] + index.shape + x.shape[axis+1:]. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  checkSame("gather", [x, index]);
  if (index.dtype !== "i32") throw new ShapeError(`gather: index must be i32, got ${index.dtype}`);
  const a = normAxis(axis, x.rank);
  const outer = shapeSize(x.shape.slice(0, a));
  const inner = shapeSize(x.shape.slice(a + 1));
  const V = x.shape[a] as number;
  const p = { outer, V, inner, count: index.size };
  const shape = [...x.shape.slice(0, a), ...index.shape, ...x.shape.slice(a + 1)];
  const out = empty(shape, x.dtype, x);
  if (out.size > 0) {
    out.backend.run(gatherKernel, p, [
      { storage: x.storage, dtype: x.dtype },
      { storage: index.storage, dtype: "i32" },
      { storage: out.storage, dtype: out.dtype },
    ]);
  }
  return attach("gather", out, [x, index], [index], (g, [ids]) => {
    const dx = zerosOn(x.shape, g);
    if (g.size > 0) {
      const idsT = ids as Tensor;
      const links = empty([2 * p.count], "i32", g);
      g.backend.run(scatterLinksKernel, { count: p.count }, [
        { storage: idsT.storage, dtype: "i32" },
        { storage: links.storage, dtype: "i32" },
      ]);
      g.backend.run(scatterAddKernel, p, [
        { storage: idsT.storage, dtype: "i32" },
        { storage: links.storage, dtype: "i32" },
        { storage: g.storage, dtype: g.dtype },
        { storage: dx.storage, dtype: dx.dtype },
      ]);
      links.dispose();
    }
    return [dx, null];
  });
}

/** Rows of `weight` [vocabSize, dModel] for `ids` i32 [...] -> [..., dModel]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (weight.rank !== 2)
    throw new ShapeError(`embedding: weight must be [vocabSize, dModel], got [${weight.shape}]`);
  return gather(weight, 0, ids);
}
