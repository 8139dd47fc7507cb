// Softmax / log-softmax kernels vs reference (any axis, wide rows) and their gradients.
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

const SOFTMAX = { rtol: 1e-5, atol: 1e-6 };

const host = (n: number, seed: number, s = 4) => seededValues(n, seed, s);

describeDevices("softmax", () => {
  it("matches the definition", async () => {
    const x = [1, 2, 3, -1];
    const e = x.map((v) => Math.exp(v));
    const s = e.reduce((a, b) => a + b, 0);
    await expectAllClose(
      T.softmax(T.tensor(x, [4])),
      e.map((v) => v / s),
      SOFTMAX,
    );
    await expectAllClose(
      T.logSoftmax(T.tensor(x, [4])),
      x.map((v) => v - Math.log(s)),
      SOFTMAX,
    );
  });

  itOnWebGPU("odd shapes, any axis, large logits", async () => {
    for (const shape of [
      [1, 1],
      [3, 7],
      [5, 1000],
      [2, 3, 65],
    ]) {
      await expectSameAsCpu(
        () => {
          const x = T.tensor(
            host(
              shape.reduce((a, b) => a * b, 1),
              1,
              30,
            ),
            shape,
          );
          return [T.softmax(x), T.logSoftmax(x), T.softmax(x, 0), T.logSoftmax(x, 0)];
        },
        { rtol: 1e-5, atol: 1e-5 },
      );
    }
  });

  itOnWebGPU("backward kernels", async () => {
    await expectSameAsCpu(
      () => {
        const x = T.param(T.tensor(host(4 * 77, 2), [4, 77]));
        const w = T.tensor(host(4 * 77, 3), [4, 77]);
        T.backward(T.sum(T.mul(T.softmax(x), w)));
        const g1 = x.grad as T.Tensor;
        x.grad = null;
        T.backward(T.sum(T.mul(T.logSoftmax(x), w)));
        return [g1, x.grad as unknown as T.Tensor];
      },
      { rtol: 1e-4, atol: 1e-6 },
    );
  });
});

describe("softmax gradients", () => {
  it("softmax and log-softmax along both axes", async () => {
    const x = host(15, 4, 2);
    const shapes = [[3, 5]];
    await gradCheck((t) => T.softmax(t), [x], { shapes });
    await gradCheck((t) => T.logSoftmax(t), [x], { shapes });
    await gradCheck((t) => T.softmax(t, 0), [x], { shapes });
  });
});
