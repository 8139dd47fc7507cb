// Activation checkpointing (Llama2.loss({ checkpointActivations: true })): the loss and every
// parameter gradient equal the plain run's (the recompute runs the same kernels on the same
// values), with mixed precision too, and the training step's peak device memory is lower.
import { backward, memoryStats, resetPeakMemory, type Tensor } from "@anllm/tensor";
import { describeDevices, expectAllClose } from "@anllm/tensor/testing";
import { expect, it } from "vitest";
import { Llama2, type LlamaConfig, type ModelBatch, preset } from "../src/index";

const CONFIG: LlamaConfig = {
  ...preset("tiny"),
  nLayers: 4,
  dModel: 64,
  nHeads: 4,
  nKvHeads: 2,
  headDim: 16,
  hiddenDim: 128,
};

function batchOf(L: number, vocab: number): ModelBatch {
  const ids = Int32Array.from({ length: 2 * L }, (_, i) =>
    i % 9 === 8 ? 5 : 6 + ((i * 31) % (vocab - 6)),
  );
  return {
    inputIds: ids,
    isAnchor: Uint8Array.from(ids, (t) => +(t === 5)),
    batch: 2,
    seqLen: L,
    attention: "anchor",
  };
}

/** Loss, gradients by name and the step's peak device bytes above what was live before. */
async function step(model: Llama2, batch: ModelBatch, opts: Parameters<Llama2["loss"]>[1]) {
  for (const p of model.parameters().values()) {
    p.grad?.dispose();
    p.grad = null;
  }
  const before = memoryStats().liveBytes;
  resetPeakMemory();
  const loss = model.loss(batch, opts);
  backward(loss);
  const peak = memoryStats().peakBytes - before;
  const value = await loss.item();
  loss.dispose();
  const grads = new Map<string, ArrayLike<number>>();
  for (const [n, p] of model.parameters()) grads.set(n, await (p.grad as Tensor).data());
  return { value, grads, peak };
}

describeDevices("activation checkpointing", (getDevice) => {
  it("same loss and gradients as the plain run, lower peak memory (f32 and mixed precision)", async () => {
    const model = Llama2.init(CONFIG, { seed: 3, device: getDevice() });
    const batch = batchOf(48, CONFIG.vocabSize);
    for (const compute of ["f32", "f16"] as const) {
      const plain = await step(model, batch, { compute });
      const ckpt = await step(model, batch, { compute, checkpointActivations: true });
      expect(ckpt.value, compute).toBeCloseTo(plain.value, 6);
      for (const [name, g] of plain.grads) {
        await expectAllClose(ckpt.grads.get(name) as ArrayLike<number>, g, {
          rtol: 1e-5,
          atol: 1e-7,
        });
      }
      expect(ckpt.peak, compute).toBeLessThan(plain.peak * 0.8);
    }
    model.dispose();
  });
});
