// Tensor lifetimes: training steps (direct and chunked head), cache steps, clone and generate leave
// the live-tensor count where it started.
import { backward, initDevice, memoryStats, tidy } from "@anllm/tensor";
import { beforeAll, expect, it } from "vitest";
import { generate, Llama2, PRESETS } from "../src/index";

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
});

it("no tensor leaks in loss/backward, cache steps, clone and generate", async () => {
  const model = Llama2.init({ ...PRESETS.tiny, vocabSize: 32 }, { seed: 1 });
  const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 3) % 32);
  const isAnchor = Uint8Array.from(ids, (t) => +(t === 7));
  const b = { inputIds: ids, batch: 1, seqLen: 16, attention: "anchor" as const, isAnchor };
  const start = memoryStats().liveTensors;
  for (const maxLogits of [undefined, 64]) {
    tidy(() => backward(model.loss(b, { maxLogits })));
    for (const p of model.parameters().values()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
  expect(memoryStats().liveTensors).toBe(start);
  const cache = model.createCache({ batch: 2, policy: "anchor" });
  for (let i = 0; i < 5; i++) {
    const chunks = [ids.subarray(i * 3, i * 3 + 3), ids.subarray(i, i + 1)];
    const flags = [Uint8Array.of(0, 1, 0), Uint8Array.of(1)];
    model.forwardChunk(cache, chunks, { isAnchor: flags }).dispose();
  }
  cache.clone().dispose();
  cache.dispose();
  await generate(model, [ids.subarray(0, 5)], { maxNewTokens: 4, cache: "anchor", anchorIds: [7] });
  await generate(model, [ids.subarray(0, 5)], { maxNewTokens: 4, cache: "none" });
  expect(memoryStats().liveTensors).toBe(start);
  model.dispose();
});
