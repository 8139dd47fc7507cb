// CPU reference of the axis reduction over an [outer, r, inner] view (optionally per chunk of r).
import type { TypedArray } from "../../dtype";

/** op 0 = sum, 1 = max, 2 = argmax (first index of the max); chunk = r for a plain reduction. */
export interface ReduceParams {
  outer: number;
  r: number;
  inner: number;
  op: 0 | 1 | 2;
  /** Length of the r-chunk each output reduces (output is [outer, ceil(r / chunk), inner]). */
  chunk: number;
}

/** arrays = [x (f32), out (f32, or i32 for argmax)]. */
export function reduceRef(p: ReduceParams, arrays: TypedArray[]): void {
  const [x, out] = arrays as [TypedArray, TypedArray];
  const nChunks = Math.ceil(p.r / p.chunk);
  for (let o = 0; o < p.outer; o++) {
    for (let c = 0; c < nChunks; c++) {
      for (let i = 0; i < p.inner; i++) {
        const base = o * p.r * p.inner + i;
        // walk this chunk of the reduced axis
        let acc = p.op === 0 ? 0 : Number.NEGATIVE_INFINITY;
        let idx = -1;
        for (let j = c * p.chunk; j < Math.min(p.r, (c + 1) * p.chunk); j++) {
          const v = x[base + j * p.inner] as number;
          if (p.op === 0) acc += v;
          else if (idx < 0 || v > acc) {
            acc = v;
            idx = j;
          }
        }
        out[(o * nChunks + c) * p.inner + i] = p.op === 2 ? idx : acc;
      }
    }
  }
}
