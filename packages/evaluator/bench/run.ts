// Benchmarks for @anllm/evaluator (prints JSON): the paper-style cache experiment (C and T against
// no-cache and full-cache baselines, same run) on long many-sentence prompts, and perplexity throughput.
// Usage: pnpm bench [-- --device cpu|webgpu --preset small --lengths 512,1024,2048 --new 16 --chunk 64]
import { parseArgs } from "node:util";
import { Llama2, preset } from "@anllm/llama2-model";
import { initNodeDevice } from "@anllm/tensor/node";
import { runCacheBench } from "../src/cache-bench";
import { LlamaScorer } from "../src/llama-scorer";
import { evaluatePerplexity } from "../src/perplexity";
import { cacheMarkdownTable } from "../src/report";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    device: { type: "string", default: process.env.ANLLM_DEVICE ?? "webgpu" },
    preset: { type: "string", default: "small" },
    lengths: { type: "string", default: "512,1024,2048" },
    new: { type: "string", default: "16" },
    chunk: { type: "string", default: "64" },
    sentence: { type: "string", default: "20" },
    repeats: { type: "string", default: "1" },
    "skip-no-cache": { type: "boolean", default: false },
  },
});

async function main() {
  const device = await initNodeDevice({ prefer: values.device as "cpu" | "webgpu" });
  const lengths = values.lengths!.split(",").map(Number);
  const maxNew = Number(values.new);
  const base = preset(values.preset!);
  const config = { ...base, maxSeqLen: Math.max(base.maxSeqLen, Math.max(...lengths) + maxNew) };
  const model = Llama2.init(config, { seed: 1 });
  const scorer = new LlamaScorer(model, { name: `${values.preset} (seed 1)` });
  const anchor = 7;
  const len = Number(values.sentence);
  // sentences of `len` tokens: len - 1 content tokens + the anchor
  const sentences = Array.from({ length: 50 }, (_, k) =>
    Int32Array.from({ length: len }, (_, i) =>
      i === len - 1 ? anchor : 10 + ((k * 31 + i * 17) % (config.vocabSize - 10)),
    ),
  );
  const rows = await runCacheBench({
    scorer,
    sentences,
    anchorIds: [anchor],
    promptLengths: lengths,
    maxNewTokens: maxNew,
    chunkSize: Number(values.chunk),
    repeats: Number(values.repeats),
    bosId: config.bosTokenId,
    skipNoCache: values["skip-no-cache"],
  });
  const tokens = Int32Array.from(
    { length: 2048 + 256 },
    (_, i) => sentences[Math.floor(i / len) % 50]![i % len]!,
  );
  const t0 = performance.now();
  const ppl = await evaluatePerplexity(scorer, tokens, {
    lengths: [256],
    stride: 256,
    batchSize: 4,
  });
  const pplMs = performance.now() - t0;
  const out = {
    device: device.name,
    preset: values.preset,
    sentenceTokens: len,
    chunkSize: Number(values.chunk),
    maxNewTokens: maxNew,
    cache: rows.map((r) => ({
      promptLength: r.promptLength,
      C: +r.C.toFixed(4),
      Cbytes: +r.Cbytes.toFixed(4),
      peakEntries: r.meanPeakEntries,
      fullEntries: r.meanFullEntries,
      anchorMs: Math.round(r.anchorMs),
      fullCacheMs: Math.round(r.fullCacheMs),
      noCacheMs: r.noCacheMs === undefined ? null : Math.round(r.noCacheMs),
      tNoCache: r.tNoCache === undefined ? null : +r.tNoCache.toFixed(3),
      tFullCache: +r.tFullCache.toFixed(3),
      baselinesAgree: r.baselinesAgree ?? null,
    })),
    perplexity: {
      length: 256,
      windows: ppl[0]!.windows,
      msPerWindow: +(pplMs / ppl[0]!.windows).toFixed(1),
    },
  };
  console.log(JSON.stringify(out, null, 2));
  console.error(cacheMarkdownTable(rows));
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
