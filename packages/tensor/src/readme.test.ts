// The README example, run on both devices: a linear layer trained for 3 AdamW steps.
import { expect, it } from "vitest";
import * as T from "./index";
import { describeDevices } from "./testing";

describeDevices("README example", () => {
  it("trains x @ W^T with cross-entropy and AdamW; the loss decreases", async () => {
    const w = T.param(T.randn([16, 8], { seed: 1, std: 0.1 }));
    const x = T.randn([4, 8], { seed: 2 });
    const targets = T.tensor(new Int32Array([1, 5, -100, 7]), [4]);
    const m = T.zeros([16, 8]);
    const v = T.zeros([16, 8]);
    const losses: number[] = [];
    for (let step = 1; step <= 3; step++) {
      const loss = T.tidy(() => {
        const l = T.crossEntropy(T.matmul(x, w, { transB: true }), targets);
        T.backward(l);
        return l;
      });
      T.adamwUpdate(w, w.grad as T.Tensor, m, v, { lr: 1e-2, step, weightDecay: 0.1 });
      w.grad?.dispose();
      w.grad = null;
      losses.push(await loss.item());
      loss.dispose();
    }
    expect(losses[0]).toBeCloseTo(Math.log(16), 0);
    expect(losses[2] as number).toBeLessThan(losses[0] as number);
  });
});
