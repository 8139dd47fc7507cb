// Global gradient norm and clipping (torch's clip_grad_norm_ rule: scale by maxNorm / (norm + 1e-6)
// when that is below 1). The norm is one device reduction and a single read-back per step.

import { add, square, sum, type Tensor, tidy } from "@anllm/tensor";

/** Global L2 norm over the gradients of `params` (parameters without a gradient are skipped). */
export async function globalGradNorm(params: Iterable<Tensor>): Promise<number> {
  const total = tidy(() => {
    let acc: Tensor | null = null;
    for (const p of params) {
      if (!p.grad) continue;
      const s = sum(square(p.grad));
      acc = acc ? add(acc, s) : s;
    }
    return acc;
  });
  if (!total) return 0;
  const v = await total.item();
  total.dispose();
  return Math.sqrt(v);
}

/** The factor that clips a gradient of norm `norm` to `maxNorm` (1 when no clipping is needed). */
export function clipFactor(norm: number, maxNorm: number | null): number {
  if (maxNorm === null || !Number.isFinite(maxNorm)) return 1;
  const coef = maxNorm / (norm + 1e-6);
  return Math.min(coef, 1);
}
