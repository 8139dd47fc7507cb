// Trainer benchmark: steps/s and tokens/s of full training steps (forward, backward, clip, AdamW)
// on a small next-token model built from tensor ops (embedding -> 2 SiLU MLP layers -> LM head;
// the trainer may not depend on the model package). Prints one JSON object on stdout.
// Usage: pnpm bench [-- --steps N] ; env ANLLM_DEVICE=cpu|webgpu

import { parseArgs } from "node:util";
import {
  add,
  crossEntropy,
  embedding,
  getDevice,
  matmul,
  param,
  randn,
  reshape,
  seededRandom,
  silu,
  type Tensor,
  tensor,
  zeros,
} from "@anllm/tensor";
import { initNodeDevice } from "@anllm/tensor/node";
import type { BatchStream } from "../src/index";
import { train } from "../src/node";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    steps: { type: "string", default: "12" },
    batch: { type: "string", default: "8" },
    "seq-len": { type: "string", default: "64" },
    "d-model": { type: "string", default: "128" },
  },
});
const steps = Number(values.steps);
const batch = Number(values.batch);
const seqLen = Number(values["seq-len"]);
const dModel = Number(values["d-model"]);
const vocabSize = 260;
const hiddenDim = 4 * dModel;

await initNodeDevice();
const p = (shape: number[], seed: number, std: number) => param(randn(shape, { seed, std }));
const params = new Map<string, Tensor>([
  ["embed", p([vocabSize, dModel], 1, 0.02)],
  ["w1", p([hiddenDim, dModel], 2, 0.02)],
  ["b1", param(zeros([hiddenDim]))],
  ["w2", p([dModel, hiddenDim], 3, 0.02)],
  ["head", p([vocabSize, dModel], 4, 0.02)],
]);
const g = (n: string) => params.get(n)!;

interface B {
  ids: Int32Array;
  targets: Int32Array;
}
const stream: BatchStream<B> = (() => {
  let i = 0;
  return {
    async *iterate(c) {
      i = typeof c === "number" ? c : 0;
      for (;;) {
        const rng = seededRandom(i++);
        const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(vocabSize));
        const targets = Int32Array.from(ids, (_, k) => ids[(k + 1) % ids.length]!);
        yield { ids, targets };
      }
    },
    cursor: () => i,
  };
})();

function loss(b: B): Tensor {
  const x = embedding(g("embed"), tensor(b.ids, [batch * seqLen], { dtype: "i32" }));
  const h = silu(add(matmul(x, g("w1"), { transB: true }), g("b1")));
  const y = add(x, matmul(h, g("w2"), { transB: true }));
  const logits = matmul(y, g("head"), { transB: true });
  return crossEntropy(
    reshape(logits, [batch * seqLen, vocabSize]),
    tensor(b.targets, [batch * seqLen], { dtype: "i32" }),
  );
}

const res = await train({
  params,
  loss,
  data: stream,
  steps,
  batchTokens: () => batch * seqLen,
  schedule: { kind: "constant", lr: 1e-3 },
  progress: "none",
});
// the first two steps include pipeline compilation: report the median of the rest
const ms = res.history
  .slice(2)
  .map((m) => m.stepMs)
  .sort((a, b) => a - b);
const median = ms[Math.floor(ms.length / 2)] ?? Number.NaN;
const nParams = [...params.values()].reduce((a, t) => a + t.size, 0);
process.stdout.write(
  `${JSON.stringify(
    {
      bench: "trainer-step",
      device: getDevice().kind,
      deviceName: getDevice().name,
      model: { kind: "embedding-mlp-head", dModel, hiddenDim, vocabSize, params: nParams },
      batch,
      seqLen,
      steps,
      medianStepMs: median,
      stepsPerSec: 1000 / median,
      tokensPerSec: (batch * seqLen * 1000) / median,
      firstLoss: res.history[0]?.loss,
      lastLoss: res.history.at(-1)?.loss,
    },
    null,
    2,
  )}\n`,
);
process.exit(0);
