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
 * arrays = [table, x]. table: per batch entry b, at 3 * b: [count, first, offset], then the kept
 * row indices (increasing) at table[offset..offset + count). Row i < count of entry b becomes row
 * keep[i]; rows before `first` are already in place, rows from count on are left as they are.
 */
export function compactRowsRef(p: CompactRowsParams, arrays: TypedArray[]): void {
  const [table, x] = arrays as [Int32Array, TypedArray];
  for (let b = 0; b < p.batch; b++) {
    const count = table[3 * b] as number;
    const first = table[3 * b + 1] as number;
    const off = table[3 * b + 2] as number;
    for (let m = 0; m < p.mid; m++) {
      const base = (b * p.mid + m) * p.rows * p.inner;
      // increasing order: keep[i] >= i, so a source row is read before anything overwrites it
      for (let i = first; i < count; i++) {
        const src = base + (table[off + i] as number) * p.inner;
        x.copyWithin(base + i * p.inner, src, src + p.inner);
      }
    }
  }
}
