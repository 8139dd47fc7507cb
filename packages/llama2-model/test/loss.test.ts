// The chunked LM-head loss: value and gradients equal the unchunked loss's, finite differences
// agree with its own backward, and it works without gradients or with only the head trainable.
import { backward, noGrad, param, randn, type Tensor, tensor } from "@anllm/tensor";
import { describeDevices, expectAllClose, gradCheck } from "@anllm/tensor/testing";
import { describe, expect, it } from "vitest";
import { lmHeadLoss } from "../src/index";

const [N, D, V] = [7, 4, 5];
const TARGETS = Int32Array.of(1, 4, -100, 0, 2, -100, 3);
const CHUNKED = { maxLogits: 2 * V }; // 2 rows of logits at a time: 4 chunks

async function lossAndGrads(opts: { maxLogits?: number }) {
  const h = param(randn([N, D], { seed: 1 }));
  const w = param(randn([V, D], { seed: 2, std: 0.5 }));
  const loss = lmHeadLoss(h, w, TARGETS, opts);
  backward(loss);
  const out = {
    loss: await loss.item(),
    dh: (await (h.grad as Tensor).data()) as Float32Array,
    dw: (await (w.grad as Tensor).data()) as Float32Array,
  };
  for (const t of [loss, h.grad, w.grad, h, w]) t?.dispose();
  return out;
}

describeDevices("lmHeadLoss", () => {
  it("chunked == unchunked: value, dHidden and dHead", async () => {
    const direct = await lossAndGrads({});
    const chunked = await lossAndGrads(CHUNKED);
    expect(chunked.loss).toBeCloseTo(direct.loss, 5);
    await expectAllClose(chunked.dh, direct.dh, { rtol: 1e-4, atol: 1e-6 });
    await expectAllClose(chunked.dw, direct.dw, { rtol: 1e-4, atol: 1e-6 });
  });

  it("without gradients and with only the head trainable", async () => {
    const h = randn([N, D], { seed: 1 });
    const w = param(randn([V, D], { seed: 2, std: 0.5 }));
    const free = noGrad(() => lmHeadLoss(h, w, TARGETS, CHUNKED));
    expect(free.requiresGrad).toBe(false);
    const loss = lmHeadLoss(h, w, TARGETS, CHUNKED);
    expect(await loss.item()).toBeCloseTo(await free.item(), 6);
    backward(loss);
    expect(h.grad).toBeNull();
    const direct = lmHeadLoss(h, param(w.detach()), TARGETS);
    expect(await direct.item()).toBeCloseTo(await loss.item(), 5);
    for (const t of [free, loss, direct, h, w.grad, w]) t?.dispose();
  });
});

describe("lmHeadLoss gradient", () => {
  it("finite differences of the chunked loss (hidden and head)", async () => {
    const h = tensor(
      Float32Array.from({ length: N * D }, (_, i) => Math.sin(i + 1)),
      [N, D],
    );
    const w = tensor(
      Float32Array.from({ length: V * D }, (_, i) => Math.cos(2 * i) * 0.5),
      [V, D],
    );
    const r = await gradCheck(
      (a, b) => lmHeadLoss(a as Tensor, b as Tensor, TARGETS, CHUNKED),
      [h, w],
    );
    expect(r.checked).toBeGreaterThan(40);
  });
});
