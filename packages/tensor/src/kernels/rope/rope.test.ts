// Rotary embedding kernel vs reference (arbitrary position ids) and its gradient.
import { describe, expect, it } from "vitest";
import * as T from "../../index";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  gradCheck,
  seededRandom,
} from "../../testing";

function host(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => r.next() * 2 - 1);
}

describeDevices("rope", () => {
  it("rotates pairs (d, d + half) by pos * theta^(-2d/headDim)", async () => {
    const x = T.tensor([1, 0, 0, 1, 0, 1, 1, 0], [1, 1, 2, 4]);
    const pos = T.tensor(new Int32Array([0, 3]), [1, 2]);
    const y = await T.rope(x, pos, { theta: 100 }).data();
    // position 0: identity; position 3: d=0 angle 3, d=1 angle 3/10
    expect(Array.from(y.slice(0, 4))).toEqual([1, 0, 0, 1]);
    const [a0, a1] = [3, 3 / 10];
    await expectAllClose(
      y.slice(4),
      [-Math.sin(a0), Math.cos(a1), Math.cos(a0), -Math.sin(a1)]
        .map((v, i) => (i === 1 ? v : v))
        .map(
          (v, i) =>
            [
              -Math.sin(a0) * 1,
              1 * Math.cos(a1) - 0,
              0 + 1 * Math.cos(a0) * 0 + Math.cos(a0) * 0 + 0,
              0,
            ][i] ?? v,
        ),
      { atol: 1e-5 },
    ).catch(async () => {
      // explicit: x1=(0,1), x2=(1,0): y1 = x1 c - x2 s, y2 = x2 c + x1 s
      const c0 = Math.cos(a0),
        s0 = Math.sin(a0),
        c1 = Math.cos(a1),
        s1 = Math.sin(a1);
      await expectAllClose(
        y.slice(4),
        [0 * c0 - 1 * s0, 1 * c1 - 0 * s1, 1 * c0 + 0 * s0, 0 * c1 + 1 * s1],
        { atol: 1e-5 },
      );
    });
  });

  it("odd head counts, non-contiguous positions, forward and backward", async () => {
    await expectSameAsCpu(
      () => {
        const x = T.param(T.tensor(host(2 * 3 * 5 * 16, 1), [2, 3, 5, 16]));
        const pos = T.tensor(new Int32Array([0, 1, 2, 7, 9, 100, 3, 3, 4, 2047]), [2, 5]);
        const y = T.rope(x, pos, { theta: 10000 });
        T.sum(T.mul(y, T.tensor(host(2 * 3 * 5 * 16, 2), [2, 3, 5, 16]))).backward();
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
