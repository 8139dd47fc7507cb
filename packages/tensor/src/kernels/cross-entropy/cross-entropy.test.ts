// Fused cross-entropy vs reference and vs log-softmax composition (ignore index, reductions),
// and its gradient.
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

const host = (n: number, seed: number, s = 3) => seededValues(n, seed, s);

describeDevices("crossEntropy", () => {
  it("equals -log_softmax[target], mean over non-ignored", async () => {
    const logits = host(4 * 5, 1);
    const targets = new Int32Array([1, -100, 4, 0]);
    const lt = T.tensor(logits, [4, 5]);
    const ls = await T.logSoftmax(lt).data();
    const expected = [0, 2, 3].map((r) => -(ls[r * 5 + (targets[r] as number)] as number));
    const mean = expected.reduce((a, b) => a + b, 0) / 3;
    const tt = T.tensor(targets, [4]);
    await expectAllClose(T.crossEntropy(lt, tt), [mean], { rtol: 1e-5 });
    await expectAllClose(T.crossEntropy(lt, tt, { reduction: "sum" }), [mean * 3], { rtol: 1e-5 });
    const none = await T.crossEntropy(lt, tt, { reduction: "none" }).data();
    expect(none[1]).toBe(0);
    const allIgnored = T.crossEntropy(lt, T.tensor(new Int32Array([-100, -100, -100, -100]), [4]));
    expect(await allIgnored.item()).toBe(0);
  });

  itOnWebGPU("forward and backward on wide rows", async () => {
    await expectSameAsCpu(
      () => {
        const x = T.param(T.tensor(host(7 * 2051, 2, 10), [7, 2051]));
        const t = T.tensor(new Int32Array([0, 2050, 5, -100, 17, 1000, 3]), [7]);
        const loss = T.crossEntropy(x, t);
        T.backward(loss);
        return [loss, x.grad as T.Tensor];
      },
      { rtol: 1e-4, atol: 1e-6 },
    );
  });
});

describe("crossEntropy gradient", () => {
  it("finite differences, mean and none", async () => {
    const t = T.tensor(new Int32Array([2, -100, 0]), [3], { device: new T.CpuDevice() });
    await gradCheck((x, y) => T.crossEntropy(x as T.Tensor, y as T.Tensor), [host(12, 3), t], {
      shapes: [[3, 4]],
    });
    await gradCheck(
      (x, y) => T.crossEntropy(x as T.Tensor, y as T.Tensor, { reduction: "none" }),
      [host(12, 4), t],
      { shapes: [[3, 4]] },
    );
  });
});
