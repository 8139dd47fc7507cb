// CPU reference of the axis reduction over an [outer, r, inner] view.
import type { TypedArray } from "../../dtype";

/** Reduction parameters: op 0 = sum, 1 = max, 2 = argmax (first index of the max). */
export interface ReduceParams {
  outer: number;
  r: number;
  inner: number;
  op: 0 | 1 | 2;
}

/** arrays = [x (f32), out (f32, or i32 for argmax)]. */
export function reduceRef(p: ReduceParams, arrays: TypedArray[]): void {
  const [x, out] = arrays as [TypedArray, TypedArray];
  for (let o = 0; o < p.outer; o++) {
    for (let i = 0; i < p.inner; i++) {
      const base = o * p.r * p.inner + i;
      // walk the reduced axis
      let acc = p.op === 0 ? 0 : Number.NEGATIVE_INFINITY;
      let idx = -1;
      for (let j = 0; j < p.r; j++) {
        const v = x[base + j * p.inner] as number;
        if (p.op === 0) acc += v;
        else if (idx < 0 || v > acc) {
          acc = v;
          idx = j;
        }
      }
      out[o * p.inner + i] = p.op === 2 ? idx : acc;
    }
  }
}
