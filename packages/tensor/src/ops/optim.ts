// The fused AdamW update, in place on the parameter and its moment buffers.
import { ShapeError } from "../errors";
import { adamwKernel } from "../kernels/adamw/adamw.kernel";
import type { Tensor } from "../tensor";
import { checkSame } from "./core";

/** Hyper-parameters of one AdamW step (`step` counts from 1). */
export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  step: number;
}

/**
 * One AdamW step in a single kernel: m, v updated in place; param decays by lr * weightDecay
 * (decoupled) then moves by lr * mhat / (sqrt(vhat) + eps). No tape is recorded.
 */
export function adamwUpdate(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  opts: AdamWOptions,
): void {
  checkSame("adamwUpdate", [param, grad, m, v]);
  for (const t of [grad, m, v]) {
    if (t.size !== param.size || t.dtype !== "f32") {
      throw new ShapeError(
        `adamwUpdate: expected f32 of ${param.size} elements like the param [${param.shape}], got ${t.dtype} [${t.shape}]`,
      );
    }
  }
  if (!(opts.step >= 1))
    throw new ShapeError(`adamwUpdate: step must start at 1, got ${opts.step}`);
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  if (param.size === 0) return;
  param.backend.run(
    adamwKernel,
    {
      n: param.size,
      lr: opts.lr,
      beta1,
      beta2,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      bc1: 1 - beta1 ** opts.step,
      bc2: 1 - beta2 ** opts.step,
    },
    [param, grad, m, v].map((t) => ({ storage: t.storage, dtype: t.dtype })),
  );
}
