// CPU reference of the fused AdamW step.
import type { TypedArray } from "../../dtype";

/** One AdamW step over n elements; bc1 = 1 - beta1^step, bc2 = 1 - beta2^step. */
export interface AdamWParams {
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  bc1: number;
  bc2: number;
}

/** arrays = [p, g, m, v] (p, m, v updated in place). */
export function adamwRef(q: AdamWParams, arrays: TypedArray[]): void {
  const [p, g, m, v] = arrays as [Float32Array, Float32Array, Float32Array, Float32Array];
  for (let i = 0; i < q.n; i++) {
    const gi = g[i] as number;
    // moment updates
    const mi = q.beta1 * (m[i] as number) + (1 - q.beta1) * gi;
    const vi = q.beta2 * (v[i] as number) + (1 - q.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    // decoupled decay, then the bias-corrected step
    const decayed = (p[i] as number) * (1 - q.lr * q.weightDecay);
    p[i] = decayed - (q.lr * (mi / q.bc1)) / (Math.sqrt(vi / q.bc2) + q.eps);
  }
}
