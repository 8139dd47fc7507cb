// CPU references of the fused cross-entropy (per-row loss) and its logits gradient.
import type { TypedArray } from "../../dtype";

/** rows x V logits, targets per row; rows whose target is ignoreIndex get loss 0. */
export interface CrossEntropyParams {
  rows: number;
  V: number;
  ignoreIndex: number;
}

function valid(t: number, p: CrossEntropyParams): boolean {
  return t !== p.ignoreIndex && t >= 0 && t < p.V;
}

/** arrays = [logits, targets, loss, lse]. */
export function crossEntropyRef(p: CrossEntropyParams, arrays: TypedArray[]): void {
  const [x, targets, loss, lse] = arrays as [Float32Array, Int32Array, Float32Array, Float32Array];
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.V;
    // log-sum-exp with the max subtracted
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < p.V; j++) m = Math.max(m, x[base + j] as number);
    let s = 0;
    for (let j = 0; j < p.V; j++) s += Math.exp((x[base + j] as number) - m);
    const l = m + Math.log(s);
    const t = targets[r] as number;
    loss[r] = valid(t, p) ? l - (x[base + t] as number) : 0;
    lse[r] = l;
  }
}

/** arrays = [logits, targets, lse, g, dlogits]. */
export function crossEntropyBackwardRef(p: CrossEntropyParams, arrays: TypedArray[]): void {
  const [x, targets, lse, g, dx] = arrays as [
    Float32Array,
    Int32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.V;
    const t = targets[r] as number;
    const ok = valid(t, p);
    const gr = ok ? (g[r] as number) : 0;
    for (let j = 0; j < p.V; j++) {
      const prob = Math.exp((x[base + j] as number) - (lse[r] as number));
      dx[base + j] = gr * (prob - (ok && j === t ? 1 : 0));
    }
  }
}
