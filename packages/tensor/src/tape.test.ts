// customGrad: the given backward is the one used, finite differences agree, it composes with other
// ops (broadcast inputs included) and with noGrad, and what its backward uses outlives tidy
// scopes and the caller's inputs without leaking.
import { describe, expect, it } from "vitest";
import * as T from "./index";
import { describeDevices, expectAllClose, gradCheck } from "./testing";

/** tanh with a hand-written backward: dy * (1 - tanh(x)^2), from the saved output. */
const myTanh = T.customGrad((x: T.Tensor) => {
  const y = T.tanh(x);
  return { value: y, gradient: (dy) => [T.mul(dy, T.sub(1, T.square(y)))] };
});

/** a * exp(b) with b broadcast over a's rows; b's gradient is returned unreduced, [rows, n]. */
const mulExp = T.customGrad((a: T.Tensor, b: T.Tensor) => {
  const e = T.exp(b);
  return {
    value: T.mul(a, e),
    gradient: (dy) => [T.mul(dy, e), T.mul(T.mul(dy, a), e)],
  };
});

describeDevices("customGrad", () => {
  it("backward runs the given gradient, not the forward's", async () => {
    // forward x, gradient 0.5 * dy: only the custom backward can give 0.5
    const half = T.customGrad((x: T.Tensor) => ({
      value: x,
      gradient: (dy) => [T.scale(dy, 0.5)],
    }));
    const x = T.param(T.tensor([1, 2, -3], [3]));
    const y = half(x);
    expect(y).not.toBe(x); // an output that is an input comes back as a new tensor
    T.backward(T.sum(T.square(y)));
    await expectAllClose(x.grad as T.Tensor, [1, 2, -3]); // 0.5 * 2x
  });

  it("composes with other ops: same value and gradients as the built-in tanh", async () => {
    const run = async (f: (t: T.Tensor) => T.Tensor) => {
      const x = T.param(T.tensor([0.5, -1, 2, 0.1, 0.3, -0.7], [3, 2]));
      const w = T.param(T.tensor([0.2, -0.4, 1.5, 0.8], [2, 2]));
      const loss = T.sum(T.mul(f(T.matmul(x, w)), T.tensor([1, 2, 3, 4, 5, 6], [3, 2])));
      T.backward(loss);
      return [
        await loss.item(),
        await (x.grad as T.Tensor).data(),
        await (w.grad as T.Tensor).data(),
      ];
    };
    const [lc, xc, wc] = await run(myTanh);
    const [lb, xb, wb] = await run(T.tanh);
    expect(lc).toBeCloseTo(lb as number, 5);
    await expectAllClose(xc as Float32Array, xb as Float32Array, { rtol: 1e-5, atol: 1e-6 });
    await expectAllClose(wc as Float32Array, wb as Float32Array, { rtol: 1e-5, atol: 1e-6 });
  });

  it("under noGrad or without grad inputs nothing is recorded and gradient never runs", () => {
    let calls = 0;
    const op = T.customGrad((x: T.Tensor) => ({
      value: T.mul(x, 2),
      gradient: (dy) => {
        calls++;
        return [T.scale(dy, 2)];
      },
    }));
    const x = T.param(T.ones([2]));
    expect(T.noGrad(() => op(x)).requiresGrad).toBe(false);
    expect(op(T.ones([2])).requiresGrad).toBe(false);
    expect(op(x).requiresGrad).toBe(true);
    expect(calls).toBe(0);
  });

  it("what the gradient uses outlives tidy and the caller's inputs; nothing leaks", async () => {
    const live = T.memoryStats().liveTensors;
    const x = T.param(T.tensor([0.1, -0.2, 0.3], [3]));
    const h = T.mul(x, 2); // an input the caller disposes before backward
    const loss = T.tidy(() => T.sum(myTanh(h))); // y, saved inside f, outlives this tidy
    h.dispose();
    T.backward(loss);
    // d/dx sum(tanh(2x)) = 2 (1 - tanh(2x)^2)
    const want = [0.1, -0.2, 0.3].map((v) => 2 * (1 - Math.tanh(2 * v) ** 2));
    await expectAllClose(x.grad as T.Tensor, want, { rtol: 1e-5, atol: 1e-6 });
    loss.dispose();
    // an output disposed without backward frees what its gradient held
    mulExp(x, x).dispose();
    x.grad?.dispose();
    x.dispose();
    expect(T.memoryStats().liveTensors).toBe(live);
  });
});

describe("customGrad gradient", () => {
  it("finite differences: a broadcast input whose gradient is reduced by the engine", async () => {
    await gradCheck(
      (a, b) => mulExp(a as T.Tensor, b as T.Tensor),
      [T.tensor([0.5, -1, 2, 0.1, 0.3, -0.7], [2, 3]), T.tensor([0.2, -0.4, 0.6], [3])],
    );
  });

  it("finite differences through a composition", async () => {
    await gradCheck(
      (x) => T.mul(myTanh(T.square(x as T.Tensor)), 3),
      [T.tensor([0.5, -1, 0.8, 0.1], [4])],
    );
  });
});
