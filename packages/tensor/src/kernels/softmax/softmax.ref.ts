// CPU references of row softmax / log-softmax and their backward.
import type { TypedArray } from "../../dtype";

/** rows x n, log = log-softmax. */
export interface SoftmaxParams {
  rows: number;
  n: number;
  log: boolean;
}

/** arrays = [x, y]. */
export function softmaxRef(p: SoftmaxParams, arrays: TypedArray[]): void {
  const [x, y] = arrays as [Float32Array, Float32Array];
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    // max for stability, then the normaliser
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < p.n; j++) m = Math.max(m, x[base + j] as number);
    let s = 0;
    for (let j = 0; j < p.n; j++) s += Math.exp((x[base + j] as number) - m);
    const ls = Math.log(s);
    for (let j = 0; j < p.n; j++) {
      const v = (x[base + j] as number) - m;
      y[base + j] = p.log ? v - ls : Math.exp(v) / s;
    }
  }
}

/** arrays = [y, g, dx]: softmax dx = y (g - sum g y); log-softmax dx = g - e^y sum g. */
export function softmaxBackwardRef(p: SoftmaxParams, arrays: TypedArray[]): void {
  const [y, g, dx] = arrays as [Float32Array, Float32Array, Float32Array];
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    let d = 0;
    for (let j = 0; j < p.n; j++)
      d += p.log ? (g[base + j] as number) : (g[base + j] as number) * (y[base + j] as number);
    for (let j = 0; j < p.n; j++) {
      const yy = y[base + j] as number;
      const gg = g[base + j] as number;
      dx[base + j] = p.log ? gg - Math.exp(yy) * d : yy * (gg - d);
    }
  }
}
