// AdamW with decoupled weight decay (Loshchilov & Hutter), one fused tensor-op call per parameter
// (`adamwUpdate` of @anllm/tensor: m, v and the parameter updated in place, bias correction by
// step). Holds the first and second moments; exports and restores them for checkpoints.

import { adamwUpdate, scale, type Tensor, tidy, zeros } from "@anllm/tensor";
import { TrainerConfigError } from "./errors";

/** AdamW hyper-parameters; defaults are the paper's (apps/docs/guide/method.md). */
export interface AdamWOptions {
  /** default 0.9 */
  beta1?: number;
  /** default 0.999 */
  beta2?: number;
  /** default 1e-8 */
  eps?: number;
  /** decoupled weight decay; default 0 (the paper) */
  weightDecay?: number;
  /** which parameters get weight decay; default: those with 2 or more dimensions */
  decay?: (name: string, param: Tensor) => boolean;
}

/** The resolved hyper-parameters, as stored in checkpoints. */
export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Resolves defaults and validates the hyper-parameters. */
export function resolveAdamW(o: AdamWOptions = {}): AdamWHyper {
  const h = {
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    eps: o.eps ?? 1e-8,
    weightDecay: o.weightDecay ?? 0,
  };
  for (const k of ["beta1", "beta2"] as const) {
    if (!(h[k] >= 0 && h[k] < 1)) {
      throw new TrainerConfigError(`optimizer.${k}`, `expected a number in [0, 1), got ${h[k]}`);
    }
  }
  if (!(h.eps > 0)) throw new TrainerConfigError("optimizer.eps", `expected > 0, got ${h.eps}`);
  if (!(h.weightDecay >= 0)) {
    throw new TrainerConfigError("optimizer.weightDecay", `expected >= 0, got ${h.weightDecay}`);
  }
  return h;
}

/**
 * AdamW over a named parameter map. `step(lr, gradScale)` updates every parameter that has a
 * gradient; `gradScale` multiplies the gradient first (used for global-norm clipping).
 * @example
 * const opt = new AdamW(params, { weightDecay: 0.1 });
 * backward(loss); opt.step(1e-3); opt.zeroGrad();
 */
export class AdamW {
  readonly hyper: AdamWHyper;
  /** number of updates applied so far (the bias-correction step of the next update minus one) */
  t = 0;
  /** first moments, same names and shapes as the parameters */
  readonly m = new Map<string, Tensor>();
  /** second moments */
  readonly v = new Map<string, Tensor>();
  private readonly decays = new Map<string, boolean>();

  constructor(
    readonly params: Map<string, Tensor>,
    opts: AdamWOptions = {},
  ) {
    this.hyper = resolveAdamW(opts);
    const decay = opts.decay ?? ((_n: string, p: Tensor) => p.shape.length >= 2);
    for (const [name, p] of params) {
      this.m.set(name, zeros([...p.shape]));
      this.v.set(name, zeros([...p.shape]));
      this.decays.set(name, decay(name, p));
    }
  }

  /** Applies one update with learning rate `lr` to every parameter that has a gradient. */
  step(lr: number, gradScale = 1): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.hyper;
    for (const [name, p] of this.params) {
      const g = p.grad;
      if (!g) continue;
      const wd = this.decays.get(name) ? weightDecay : 0;
      tidy(() => {
        const grad = gradScale === 1 ? g : scale(g, gradScale);
        adamwUpdate(p, grad, this.m.get(name)!, this.v.get(name)!, {
          lr,
          beta1,
          beta2,
          eps,
          weightDecay: wd,
          step: this.t,
        });
      });
    }
  }

  /** Drops every parameter's gradient (call after each update). */
  zeroGrad(): void {
    for (const p of this.params.values()) {
      if (p.grad) {
        p.grad.dispose();
        p.grad = null;
      }
    }
  }

  /** Frees the moment tensors. */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
