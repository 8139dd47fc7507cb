// RMSNorm kernels vs reference (odd widths) and gradient checks for input and weight.
import { describe, it } from "vitest";
import * as T from "../../index";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  gradCheck,
  itOnWebGPU,
  seededValues,
} from "../../testing";

const host = (n: number, seed: number) => seededValues(n, seed);

describeDevices("rmsNorm", () => {
  it("matches the definition", async () => {
    const x = [1, 2, 3, 4];
    const w = [1, 0.5, 2, -1];
    const r = 1 / Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-5);
    await expectAllClose(
      T.rmsNorm(T.tensor(x, [1, 4]), T.tensor(w, [4]), 1e-5),
      x.map((v, i) => v * r * (w[i] as number)),
      { rtol: 1e-5 },
    );
  });

  itOnWebGPU(
    "forward and backward on odd widths; weight gradient over several row chunks",
    async () => {
      for (const [rows, d] of [
        [1, 1],
        [7, 33],
        [3, 1000],
        [2 * 1024 + 37, 5],
      ]) {
        await expectSameAsCpu(
          () => {
            const x = T.param(T.tensor(host(rows * d, rows), [rows, d]));
            const w = T.param(T.tensor(host(d, d), [d]));
            const y = T.rmsNorm(x, w, 1e-6);
            T.backward(T.sum(T.mul(y, T.tensor(host(rows * d, 3), [rows, d]))));
            return [y, x.grad as T.Tensor, w.grad as T.Tensor];
          },
          { rtol: 1e-4, atol: 1e-5 },
        );
      }
    },
  );
});

describe("rmsNorm gradients", () => {
  it("input and weight", async () => {
    await gradCheck(
      (x, w) => T.rmsNorm(x as T.Tensor, w as T.Tensor, 1e-5),
      [host(2 * 3 * 5, 1), host(5, 2)],
      { shapes: [[2, 3, 5], [5]] },
    );
  });
});
