// Fused AdamW kernel vs reference and vs the textbook formula over several steps.
import { it } from "vitest";
import * as T from "../../index";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  itOnWebGPU,
  seededValues,
} from "../../testing";

const host = (n: number, seed: number) => seededValues(n, seed);

describeDevices("adamwUpdate", () => {
  it("matches the AdamW formula for 3 steps", async () => {
    const n = 1001;
    const p0 = host(n, 1);
    const p = T.tensor(p0, [n]);
    const m = T.zeros([n]);
    const v = T.zeros([n]);
    const ref = Float64Array.from(p0);
    const rm = new Float64Array(n);
    const rv = new Float64Array(n);
    const o = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    for (let step = 1; step <= 3; step++) {
      const g = host(n, 10 + step);
      T.adamwUpdate(p, T.tensor(g, [n]), m, v, { ...o, step });
      for (let i = 0; i < n; i++) {
        const gi = g[i] as number;
        rm[i] = o.beta1 * (rm[i] as number) + (1 - o.beta1) * gi;
        rv[i] = o.beta2 * (rv[i] as number) + (1 - o.beta2) * gi * gi;
        const mh = (rm[i] as number) / (1 - o.beta1 ** step);
        const vh = (rv[i] as number) / (1 - o.beta2 ** step);
        ref[i] =
          (ref[i] as number) -
          o.lr * o.weightDecay * (ref[i] as number) -
          (o.lr * mh) / (Math.sqrt(vh) + o.eps);
      }
    }
    await expectAllClose(p, ref, { rtol: 1e-5, atol: 1e-6 });
    await expectAllClose(m, rm, { rtol: 1e-5, atol: 1e-7 });
  });

  itOnWebGPU("agrees with the CPU reference", async () => {
    await expectSameAsCpu(
      () => {
        const p = T.tensor(host(333, 2), [3, 111]);
        const m = T.tensor(host(333, 3), [3, 111]);
        const v = T.abs(T.tensor(host(333, 4), [3, 111]));
        T.adamwUpdate(p, T.tensor(host(333, 5), [3, 111]), m, v, {
          lr: 1e-3,
          step: 7,
          weightDecay: 0.01,
        });
        return [p, m, v];
      },
      { rtol: 1e-5, atol: 1e-7 },
    );
  });
});
