// End-to-end demo of every evaluator entry point on a seeded `small` Llama2 with the byte tokenizer:
// QA on the test fixtures (full attention and anchor cache), perplexity on the embedded held-out
// corpus (full and anchor mask), the cache experiment; writes report.json/.md and ppl.svg.
// Usage: node --conditions=@anllm/source --import tsx bench/report-demo.ts [outDir]
import { join } from "node:path";
import { Llama2, preset } from "@anllm/llama2-model";
import { byteTokenizer, resolveAnchors } from "@anllm/redpajama-loader";
import { initNodeDevice } from "@anllm/tensor/node";
import { LlamaScorer } from "../src/llama-scorer";
import { heldoutTexts, runCacheEval, textTokenizerOf } from "../src/loader-bridge";
import { evaluatePerplexity } from "../src/perplexity";
import type { TaskSource } from "../src/qa-data";
import { runQaEval } from "../src/qa-suite";
import type { TaskName } from "../src/qa-tasks";
import { writeReport } from "../src/report";

const fx = (p: string) => join(import.meta.dirname, "..", "test", "fixtures", p);
const TASKS: Partial<Record<TaskName, TaskSource>> = {
  openbookqa: { eval: fx("openbookqa/test.jsonl") },
  winogrande: { eval: fx("winogrande/dev.jsonl") },
  arc_easy: { eval: fx("arc/ARC-Easy-Test.jsonl") },
  arc_challenge: { eval: fx("arc/ARC-Challenge-Test.jsonl") },
  piqa: { eval: fx("piqa/dev.jsonl") },
  hellaswag: { eval: fx("hellaswag/hellaswag_val.jsonl") },
  sciq: { eval: fx("sciq/test.json") },
  boolq: { eval: fx("boolq/val.jsonl") },
};

async function main() {
  const out = process.argv.slice(2).find((a) => a !== "--") ?? "/tmp/anllm-eval-report";
  const device = await initNodeDevice();
  const model = Llama2.init({ ...preset("small"), maxSeqLen: 1100 }, { seed: 1 });
  const scorer = new LlamaScorer(model, { name: "small (seed 1, untrained)" });
  const bytes = byteTokenizer();
  const tokenizer = textTokenizerOf(bytes);
  const anchors = resolveAnchors(bytes, { mode: "ep" });
  const common = { scorer, tokenizer, numFewshot: 0, tasks: TASKS };
  const full = await runQaEval({ ...common, attention: "full" });
  const ansan = await runQaEval({
    ...common,
    attention: "anchor",
    anchorIds: anchors.ids,
    verifyMask: true,
  });
  const texts = await heldoutTexts(5);
  const ids = texts.flatMap((t) => bytes.encode(t));
  const ppl = { lengths: [128, 256, 512], stride: 256, batchSize: 2, maxWindows: 4 };
  const pFull = await evaluatePerplexity(scorer, ids, ppl);
  const pAnchor = await evaluatePerplexity(scorer, ids, {
    ...ppl,
    attention: "anchor",
    anchorIds: anchors.ids,
  });
  const cache = await runCacheEval({
    scorer,
    tokenizer: bytes,
    anchors,
    texts,
    promptLengths: [512, 1024],
    maxNewTokens: 8,
    chunkSize: 32,
  });
  const paths = await writeReport(out, {
    qa: [
      { label: "small, full attention", result: full },
      { label: "small, AnSAN (anchor cache)", result: ansan },
    ],
    perplexity: [
      { label: "small, full attention", results: pFull },
      { label: "small, anchor mask", results: pAnchor },
    ],
    cache,
    meta: { device: device.name, tokenizer: bytes.name, anchors: anchors.ids },
  });
  console.log(
    JSON.stringify({ paths, average: { full: full.average, ansan: ansan.average } }, null, 2),
  );
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
