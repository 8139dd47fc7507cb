// In-place row writes for a buffer that fills and shrinks along its rows axis, one batch entry at a
// time (a KV cache's [batch, nKvHeads, capacity, headDim] storage): rows are written into and moved
// inside the existing storage, no new tensor. Not recorded for autograd.
import { ShapeError } from "../errors";
import { tensor } from "../factories";
import { compactRowsKernel } from "../kernels/compact-rows/compact-rows.kernel";
import { copyKernel } from "../kernels/copy/copy.kernel";
import type { Tensor } from "../tensor";
import { checkSame } from "./core";

/** x as [batch, mid, rows, inner]: rows is the second-to-last axis, batch the first. */
function rowsView(x: Tensor, what: string) {
  if (x.rank < 3) throw new ShapeError(`${what}: expected rank >= 3, got [${x.shape}]`);
  const s = x.shape;
  const batch = s[0] as number;
  const rows = s[s.length - 2] as number;
  const inner = s[s.length - 1] as number;
  return { batch, mid: x.size / (batch * rows * inner) || 0, rows, inner };
}

/**
 * dst[b, ..., at[b] + t, :] = src[b, ..., t, :] for t < count[b] (default: all of src's rows), in
 * place. dst [batch, ..., capacity, inner], src [batch, ..., len, inner], same dtype, distinct tensors.
 */
export function writeRowsInPlace(
  dst: Tensor,
  src: Tensor,
  at: ArrayLike<number>,
  count?: ArrayLike<number>,
): void {
  checkSame("writeRowsInPlace", [dst, src]);
  const d = rowsView(dst, "writeRowsInPlace dst");
  const s = rowsView(src, "writeRowsInPlace src");
  if (
    src.rank !== dst.rank ||
    src.dtype !== dst.dtype ||
    s.batch !== d.batch ||
    s.mid !== d.mid ||
    s.inner !== d.inner
  ) {
    throw new ShapeError(
      `writeRowsInPlace: src ${src.dtype} [${src.shape}] does not fit dst ${dst.dtype} [${dst.shape}]`,
    );
  }
  if (src.storage === dst.storage)
    throw new ShapeError("writeRowsInPlace: src and dst share storage");
  if (at.length !== d.batch || (count && count.length !== d.batch))
    throw new ShapeError(`writeRowsInPlace: at and count need ${d.batch} entries`);
  for (let b = 0; b < d.batch; b++) {
    const start = at[b] as number;
    const n = count ? (count[b] as number) : s.rows;
    if (!Number.isInteger(start) || !Number.isInteger(n) || start < 0 || n < 0 || n > s.rows)
      throw new ShapeError(`writeRowsInPlace: entry ${b}: bad at ${start} / count ${n}`);
    if (start + n > d.rows)
      throw new ShapeError(
        `writeRowsInPlace: entry ${b}: rows [${start}, ${start + n}) exceed capacity ${d.rows}`,
      );
    if (n === 0 || d.mid === 0 || d.inner === 0) continue;
    dst.backend.run(
      copyKernel,
      {
        shape: [d.mid, n, d.inner],
        srcOffset: b * s.mid * s.rows * s.inner,
        srcStrides: [s.rows * s.inner, s.inner, 1],
        dstOffset: b * d.mid * d.rows * d.inner + start * d.inner,
        dstStrides: [d.rows * d.inner, d.inner, 1],
      },
      [
        { storage: src.storage, dtype: src.dtype },
        { storage: dst.storage, dtype: dst.dtype },
      ],
    );
  }
}

/**
 * x[b, m, i, :] = x[b, m, keep[b][i], :] for i < keep[b].length, in place, viewing x as
 * [batch, mid, rows, inner] (mid: the axes between batch and rows, e.g. a KV cache's heads). Each
 * keep list is strictly increasing (a cache's kept rows); rows from its length on keep their old
 * values. `keep` holds one list per batch entry (shared by its mid slices) or one per (b, m) slice
 * at index `b * mid + m` (a cache whose heads keep different rows, H2O).
 */
export function compactRowsInPlace(x: Tensor, keep: ReadonlyArray<ArrayLike<number>>): void {
  checkSame("compactRowsInPlace", [x]);
  const v = rowsView(x, "compactRowsInPlace");
  const perSlice = keep.length === v.batch * v.mid && keep.length !== v.batch;
  if (keep.length !== v.batch && !perSlice)
    throw new ShapeError(
      `compactRowsInPlace: keep has ${keep.length} lists, expected batch ${v.batch} or batch x mid ${v.batch * v.mid}`,
    );
  // table: per (b, m) slice [count, first, offset], then the lists (a shared list is stored once)
  const slices = v.batch * v.mid;
  const header: number[] = [];
  const lists: number[] = [];
  let moved = false;
  const listAt = keep.map((k, j) => {
    let first = k.length;
    for (let i = 0; i < k.length; i++) {
      const r = k[i] as number;
      if (!Number.isInteger(r) || r < 0 || r >= v.rows || (i > 0 && r <= (k[i - 1] as number)))
        throw new ShapeError(
          `compactRowsInPlace: keep[${j}] must increase inside [0, ${v.rows}), got ${r} at ${i}`,
        );
      if (r !== i && first === k.length) first = i;
    }
    if (first < k.length) moved = true;
    const at = 3 * slices + lists.length;
    for (let i = 0; i < k.length; i++) lists.push(k[i] as number);
    return { count: k.length, first, at };
  });
  if (!moved || v.mid === 0 || v.inner === 0) return;
  for (let bm = 0; bm < slices; bm++) {
    const l = listAt[perSlice ? bm : Math.floor(bm / v.mid)] as (typeof listAt)[number];
    header.push(l.count, l.first, l.at);
  }
  const table = tensor(Int32Array.from([...header, ...lists]), [header.length + lists.length], {
    dtype: "i32",
    device: x.device,
  });
  x.backend.run(compactRowsKernel, v, [
    { storage: table.storage, dtype: "i32" },
    { storage: x.storage, dtype: x.dtype },
  ]);
  table.dispose();
}
