// Reduction kernel (sum / max / argmax over any axis) vs reference, and reduction gradients.
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

const REDUCE = { rtol: 1e-5, atol: 1e-5 };

const host = (n: number, seed: number) => seededValues(n, seed, 2);

describeDevices("reduce", () => {
  itOnWebGPU("sum / mean / max / argmax over each axis of odd shapes", async () => {
    for (const shape of [[1], [7, 13], [3, 5, 129], [2, 1000, 3]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      for (let axis = 0; axis < shape.length; axis++) {
        await expectSameAsCpu(() => {
          const x = T.tensor(host(n, n + axis), shape);
          return [
            T.sum(x, axis),
            T.mean(x, axis, true),
            T.max(x, axis),
            T.cast(T.argmax(x, axis), "f32"),
          ];
        }, REDUCE);
      }
      await expectSameAsCpu(() => T.sum(T.tensor(host(n, 1), shape)), { rtol: 1e-4, atol: 1e-4 });
    }
  });

  itOnWebGPU("multi-axis: size-1 axes skipped, adjacent axes merged", async () => {
    await expectSameAsCpu(() => {
      const x = T.tensor(host(1 * 5 * 7, 4), [1, 5, 7]);
      const y = T.tensor(host(2 * 3 * 4 * 5, 5), [2, 3, 4, 5]);
      return [
        T.sum(x, [0, 1]),
        T.sum(x, 0),
        T.max(y, [1, 2], true),
        T.sum(y, [0, 1, 3]),
        T.mean(y, [0, 3]),
      ];
    }, REDUCE);
    const x = T.tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    expect(Array.from(await T.sum(x, [0, 1]).data())).toEqual([5, 7, 9]);
    expect(T.sum(x, [0, 1], true).shape).toEqual([1, 1, 3]);
  });

  it("reference values", async () => {
    const x = T.tensor([1, 5, 3, 5, -1, 0], [2, 3]);
    expect(Array.from(await T.sum(x, 1).data())).toEqual([9, 4]);
    expect(Array.from(await T.max(x, 0).data())).toEqual([5, 5, 3]);
    expect(Array.from(await T.argmax(x, 1).data())).toEqual([1, 0]);
    await expectAllClose(T.mean(x), [13 / 6]);
    expect(T.sum(x, [0, 1], true).shape).toEqual([1, 1]);
  });

  it("large reduction of 2^20 + 3 elements", async () => {
    const n = (1 << 20) + 3;
    const x = T.full([n], 0.5);
    await expectAllClose(T.sum(x), [n * 0.5], { rtol: 1e-5 });
  });
});

describe("reduction gradients", () => {
  it("sum, mean, max over axes", async () => {
    const x = host(24, 3);
    const shapes = [[2, 3, 4]];
    await gradCheck((t) => T.sum(t, 1), [x], { shapes });
    await gradCheck((t) => T.mean(t, [0, 2], true), [x], { shapes });
    await gradCheck((t) => T.max(t, 2), [x], { shapes });
    await gradCheck((t) => T.mean(t), [x], { shapes });
  });
});
