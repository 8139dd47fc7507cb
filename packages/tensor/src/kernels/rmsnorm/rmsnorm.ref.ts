// CPU references of RMSNorm forward (with saved 1/rms) and its input gradient.
import type { TypedArray } from "../../dtype";

/** rows x n with epsilon. */
export interface RmsNormParams {
  rows: number;
  n: number;
  eps: number;
}

/** arrays = [x, w, y, rstd]. */
export function rmsNormRef(p: RmsNormParams, arrays: TypedArray[]): void {
  const [x, w, y, rstd] = arrays as [Float32Array, Float32Array, Float32Array, Float32Array];
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    // mean of squares -> reciprocal root
    let ss = 0;
    for (let j = 0; j < p.n; j++) ss += (x[base + j] as number) ** 2;
    const inv = 1 / Math.sqrt(ss / p.n + p.eps);
    for (let j = 0; j < p.n; j++) y[base + j] = (x[base + j] as number) * inv * (w[j] as number);
    rstd[r] = inv;
  }
}

/** arrays = [x, w, g, rstd, dx]. */
export function rmsNormBackwardRef(p: RmsNormParams, arrays: TypedArray[]): void {
  const [x, w, g, rstd, dx] = arrays as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    const inv = rstd[r] as number;
    // d = mean(g * w * xhat)
    let d = 0;
    for (let j = 0; j < p.n; j++)
      d += (g[base + j] as number) * (w[j] as number) * (x[base + j] as number) * inv;
    d /= p.n;
    for (let j = 0; j < p.n; j++) {
      const xh = (x[base + j] as number) * inv;
      dx[base + j] = inv * ((g[base + j] as number) * (w[j] as number) - xh * d);
    }
  }
}

/** Rows summed per invocation of the weight-gradient kernel (one partial sum per chunk). */
export const DW_CHUNK = 1024;

/** arrays = [x, g, rstd, partial]: partial[c, j] = sum over rows of chunk c of g * x * rstd. */
export function rmsNormDwRef(p: RmsNormParams, arrays: TypedArray[]): void {
  const [x, g, rstd, partial] = arrays as [Float32Array, Float32Array, Float32Array, Float32Array];
  const chunks = Math.ceil(p.rows / DW_CHUNK);
  for (let c = 0; c < chunks; c++) {
    const end = Math.min(p.rows, (c + 1) * DW_CHUNK);
    for (let j = 0; j < p.n; j++) {
      let acc = 0;
      for (let r = c * DW_CHUNK; r < end; r++)
        acc += (g[r * p.n + j] as number) * (x[r * p.n + j] as number) * (rstd[r] as number);
      partial[c * p.n + j] = acc;
    }
  }
}
