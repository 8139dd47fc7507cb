// CPU reference of the in-place row compaction.
import type { TypedArray } from "../../dtype";

/** x viewed as [batch, mid, rows, inner]; the table holds each batch entry's kept rows. */
export interface CompactRowsParams {
  batch: number;
  mid: number;
  rows: number;
  inner: number;
}

/**
 * arrays = [table, x]. table: per (batch entry, mid index) slice bm = b * mid + m, at 3 * bm:
 * [count, first, offset], then the kept row indices (increasing) at table[offset..offset + count).
 * Row i < count of the slice becomes row keep[i]; rows before `first` are already in place, rows
 * from count on are left as they are.
 */
export function compactRowsRef(p: CompactRowsParams, arrays: TypedArray[]): void {
  const [table, x] = arrays as [Int32Array, TypedArray];
  for (let bm = 0; bm < p.batch * p.mid; bm++) {
    const count = table[3 * bm] as number;
    const first = table[3 * bm + 1] as number;
    const off = table[3 * bm + 2] as number;
    const base = bm * p.rows * p.inner;
    // increasing order: keep[i] >= i, so a source row is read before anything overwrites it
    for (let i = first; i < count; i++) {
      const src = base + (table[off + i] as number) * p.inner;
      x.copyWithin(base + i * p.inner, src, src + p.inner);
    }
  }
}
