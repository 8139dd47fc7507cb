// Benchmarks for @anllm/llama2-model (prints JSON): training forward/backward time, generation
// tokens/s per cache mode, and anchor cache reduction on a few-shot-like prompt.
// Usage: pnpm bench [-- --device cpu|webgpu --preset small --reps 5]
//        pnpm bench -- --suite big [--tinyllama DIR --llama7b DIR --tokens 16] (bench/big-models.ts)
//        pnpm bench -- --suite memory (memoryReport's training memory of TinyLlama and 7B)
import { parseArgs } from "node:util";
import { backward } from "@anllm/tensor";
import { initNodeDevice } from "@anllm/tensor/node";
import { generate, Llama2, memoryReport, preset } from "../src/index";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    device: { type: "string", default: process.env.ANLLM_DEVICE ?? "webgpu" },
    preset: { type: "string", default: "small" },
    reps: { type: "string", default: "5" },
    seqLen: { type: "string", default: "128" },
    // "big": the big-model suite (bench/big-models.ts) over folders from make-random-model.ts
    suite: { type: "string", default: "default" },
    tinyllama: { type: "string", default: "/tmp/big/tinyllama-f16" },
    llama7b: { type: "string", default: "/tmp/big/llama2-7b-f16" },
    tokens: { type: "string", default: "16" },
  },
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main() {
  const device = await initNodeDevice({ prefer: values.device as "cpu" | "webgpu" });
  const config = preset(values.preset as string);
  const reps = Number(values.reps);
  const seqLen = Number(values.seqLen);
  const model = Llama2.init(config, { seed: 1 });
  const anchor = 7;
  const ids = Int32Array.from({ length: seqLen }, (_, i) =>
    i % 16 === 15 ? anchor : 3 + ((i * 37) % (config.vocabSize - 3)),
  );
  const batch = {
    inputIds: ids,
    batch: 1,
    seqLen,
    attention: "anchor" as const,
    isAnchor: Uint8Array.from(ids, (t) => +(t === anchor)),
  };
  const fwd: number[] = [];
  const fwdBwd: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const logits = model.forward(batch);
    await logits.data();
    fwd.push(performance.now() - t0);
    logits.dispose();
    t0 = performance.now();
    const loss = model.loss(batch);
    backward(loss);
    await model.param("model.embed_tokens.weight").grad?.data();
    fwdBwd.push(performance.now() - t0);
    loss.dispose();
    for (const p of model.parameters().values()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
  const prompt = ids.subarray(0, Math.min(seqLen, 96));
  const gen: Record<string, unknown> = {};
  for (const cache of ["anchor", "full", "none"] as const) {
    const g = await generate(model, [prompt], {
      maxNewTokens: 16,
      cache,
      anchorIds: [anchor],
      eosId: -1,
      chunkSize: 16,
    });
    const s = g.stats;
    gen[cache] = {
      timeMs: Math.round(g.timeMs),
      tokensPerSec: +(16 / (g.timeMs / 1000)).toFixed(2),
      peakEntries: s.peakEntries[0],
      fullEntries: s.fullEntries[0],
      cacheReduction: +(1 - (s.peakEntries[0] ?? 0) / (s.fullEntries[0] ?? 1)).toFixed(3),
      entriesAtEnd: s.entries[0],
      peakBytes: s.peakBytes,
      fullBytes: s.fullBytes,
    };
  }
  console.log(
    JSON.stringify(
      {
        device: device.name,
        preset: values.preset,
        params: memoryReport(config).totalParams,
        seqLen,
        forwardMsMedian: +median(fwd).toFixed(1),
        forwardBackwardMsMedian: +median(fwdBwd).toFixed(1),
        trainTokensPerSec: +(seqLen / (median(fwdBwd) / 1000)).toFixed(1),
        generate: gen,
      },
      null,
      2,
    ),
  );
  model.dispose();
}

if (values.suite === "memory") {
  // memoryReport's training figures (shape-only, nothing allocated): TinyLlama at seq 4096,
  // batch 1, f32 and mixed precision, with and without activation checkpointing; and a 7B
  const GiB = 2 ** 30;
  const rows = [];
  for (const [name, seqLen] of [
    ["tinyllama-1.1b", 4096],
    ["llama2-7b", 4096],
  ] as const) {
    for (const compute of ["f32", "f16"] as const) {
      const t = memoryReport(preset(name), { batch: 1, seqLen, compute }).training;
      rows.push({
        preset: name,
        batch: 1,
        seqLen,
        compute,
        weightsGiB: +(t.weightBytes / GiB).toFixed(2),
        gradientsGiB: +(t.gradientBytes / GiB).toFixed(2),
        optimizerGiB: +(t.optimizerBytes / GiB).toFixed(2),
        f16WeightCopiesGiB: +(t.computeWeightBytes / GiB).toFixed(2),
        activationsGiB: {
          plain: +(t.activationBytes.plain / GiB).toFixed(2),
          checkpointed: +(t.activationBytes.checkpointed / GiB).toFixed(2),
        },
        totalGiB: {
          plain: +(t.totalBytes.plain / GiB).toFixed(2),
          checkpointed: +(t.totalBytes.checkpointed / GiB).toFixed(2),
        },
      });
    }
  }
  console.log(
    JSON.stringify(
      { suite: "memory", source: "memoryReport (model of test/memory-report.test.ts)", rows },
      null,
      2,
    ),
  );
  process.exit(0);
}
if (values.suite === "big") {
  const { bigModels } = await import("./big-models");
  const r = await bigModels({
    tinyllama: values.tinyllama as string,
    llama7b: values.llama7b as string,
    tokens: Number(values.tokens),
  });
  console.log(JSON.stringify(r, null, 2));
  process.exit(0);
} else {
  await main();
}
