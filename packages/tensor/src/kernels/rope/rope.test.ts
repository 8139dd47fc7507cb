// Rotary embedding kernel vs reference (arbitrary position ids) and its gradient.
import { describe, expect, it } from "vitest";
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

describeDevices("rope", () => {
  it("rotates pairs (d, d + half) by pos * theta^(-2d/headDim)", async () => {
    const x = T.tensor([1, 0, 0, 1, 0, 1, 1, 0], [1, 1, 2, 4]);
    const pos = T.tensor(new Int32Array([0, 3]), [1, 2]);
    const y = await T.rope(x, pos, { theta: 100 }).data();
    // position 0: identity
    expect(Array.from(y.slice(0, 4))).toEqual([1, 0, 0, 1]);
    // position 3, headDim 4 (half 2): angle_d = 3 * 100^(-2d/4): a0 = 3, a1 = 3 / 10 = 0.3.
    // x = (0, 1, 1, 0): pairs (x[d], x[d + 2]) = (0, 1) at d = 0 and (1, 0) at d = 1;
    // y[d] = x[d] cos a_d - x[d + 2] sin a_d, y[d + 2] = x[d + 2] cos a_d + x[d] sin a_d:
    // y = (-sin 3, cos 0.3, cos 3, sin 0.3)
    await expectAllClose(
      y.slice(4),
      [-0.14112000806, 0.95533648913, -0.9899924966, 0.29552020666],
      { atol: 1e-5 },
    );
  });

  itOnWebGPU("odd head counts, non-contiguous positions, forward and backward", async () => {
    await expectSameAsCpu(
      () => {
        const x = T.param(T.tensor(host(2 * 3 * 5 * 16, 1), [2, 3, 5, 16]));
        const pos = T.tensor(new Int32Array([0, 1, 2, 7, 9, 100, 3, 3, 4, 2047]), [2, 5]);
        const y = T.rope(x, pos, { theta: 10000 });
        T.backward(T.sum(T.mul(y, T.tensor(host(2 * 3 * 5 * 16, 2), [2, 3, 5, 16]))));
        return [y, x.grad as T.Tensor];
      },
      { rtol: 1e-4, atol: 2e-5 },
    );
  });
});

describe("rope gradient", () => {
  it("finite differences", async () => {
    const pos = T.tensor(new Int32Array([4, 1, 9]), [1, 3], { device: new T.CpuDevice() });
    await gradCheck((x, p) => T.rope(x as T.Tensor, p as T.Tensor), [host(2 * 3 * 8, 3), pos], {
      shapes: [[1, 2, 3, 8]],
    });
  });
});
