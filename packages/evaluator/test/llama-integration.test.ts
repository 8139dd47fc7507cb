// Integration with a tiny seeded Llama2 on the CPU and WebGPU devices: the adapter's log-probs equal
// the model's own logits/loss, and anchor-cache scoring equals anchor-mask scoring on the same inputs.
import { Llama2, PRESETS } from "@anllm/llama2-model";
import { describeDevices } from "@anllm/tensor/testing";
import { beforeAll, expect, it } from "vitest";
import { runCacheBench } from "../src/cache-bench";
import { LlamaScorer } from "../src/llama-scorer";
import { evaluatePerplexity, windowStarts } from "../src/perplexity";
import { readTaskFile } from "../src/qa-data";
import { evaluateTask } from "../src/qa-eval";
import { encodeRequest } from "../src/qa-prompts";
import { scoreCached, scoreRecompute } from "../src/qa-scoring";
import type { TextTokenizer } from "../src/token-file";
import { fx } from "./helpers";

const VOCAB = PRESETS.tiny!.vocabSize; // 64
const ANCHOR = 63; // "." and "<AC>" both map here
/** Hashing character tokenizer into the tiny vocabulary; "." and "<AC>" are the anchor. */
const tinyTok: TextTokenizer = {
  bosId: 1,
  eosId: 2,
  encode: (text) =>
    text
      .split("<AC>")
      .flatMap((piece, i) => [
        ...(i > 0 ? [ANCHOR] : []),
        ...[...piece].map((ch) => (ch === "." ? ANCHOR : 3 + (ch.codePointAt(0)! % 60))),
      ]),
};

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describeDevices("LlamaScorer", () => {
  let model: Llama2;
  let scorer: LlamaScorer;
  beforeAll(() => {
    model = Llama2.init({ ...PRESETS.tiny!, maxSeqLen: 512 }, { seed: 7 });
    scorer = new LlamaScorer(model, { name: "tiny", headRows: 5 });
  });

  it("log-probs equal the model's logits, ragged batches equal single sequences", async () => {
    const r = lcg(1);
    const seqs = [17, 9, 30].map((n) =>
      Int32Array.from({ length: n }, () => 3 + Math.floor(r() * 61)),
    );
    const batched = await scorer.scoreSequences(seqs, { attention: "causal", anchorIds: [] });
    const single = await scorer.scoreSequences([seqs[1]!], { attention: "causal", anchorIds: [] });
    for (let t = 0; t < 8; t++)
      expect(batched[1]!.logprobs[t]).toBeCloseTo(single[0]!.logprobs[t]!, 4);
    const s = seqs[0]!;
    const logits = model.forward({
      inputIds: s.subarray(0, 16),
      batch: 1,
      seqLen: 16,
      attention: "causal",
    });
    const d = (await logits.data()) as Float32Array;
    logits.dispose();
    for (const t of [0, 7, 15]) {
      const row = Array.from(d.subarray(t * VOCAB, (t + 1) * VOCAB));
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      expect(batched[0]!.logprobs[t]).toBeCloseTo(row[s[t + 1]!]! - lse, 4);
    }
  });

  it("perplexity window loss equals the model's own loss per window", async () => {
    const r = lcg(2);
    const data = Int32Array.from({ length: 80 }, () => 3 + Math.floor(r() * 61));
    const [res] = await evaluatePerplexity(scorer, data, {
      lengths: [24],
      stride: 16,
      batchSize: 2,
    });
    const starts = windowStarts(80, 24, 16);
    let sum = 0;
    for (const st of starts) {
      const w = data.subarray(st, st + 24);
      const l = model.loss({ inputIds: w, batch: 1, seqLen: 24, attention: "causal" });
      sum += await l.item();
      l.dispose();
    }
    expect(res!.windows).toBe(starts.length);
    expect(res!.loss).toBeCloseTo(sum / starts.length, 4);
  });

  it("anchor-cache scoring equals anchor-mask scoring (chunked prefill, several continuations)", async () => {
    const r = lcg(3);
    const tok = () => (r() < 0.15 ? ANCHOR : 3 + Math.floor(r() * 60));
    const reqs = [0, 1, 2].map(() => ({
      context: Int32Array.from({ length: 40 }, tok),
      continuation: Int32Array.from({ length: 6 }, tok),
    }));
    reqs.push({ context: reqs[0]!.context, continuation: Int32Array.of(ANCHOR, 9, 10) });
    const reqsT = reqs.map((q) => ({ ...q, truncated: 0 }));
    const masked = await scoreRecompute(scorer, reqsT, "anchor", [ANCHOR], 2);
    for (const chunkSize of [undefined, 7]) {
      const cached = await scoreCached(scorer, reqsT, "anchor", [ANCHOR], chunkSize);
      for (const [i, c] of cached.entries()) expect(c.ll).toBeCloseTo(masked[i]!.ll, 3);
      expect(cached[0]!.usage!.peakEntries).toBeLessThan(cached[0]!.usage!.fullEntries);
    }
    const causal = await scoreRecompute(scorer, reqsT, "causal", [], 1);
    const full = await scoreCached(scorer, reqsT, "full", [ANCHOR], 9);
    for (const [i, c] of full.entries()) expect(c.ll).toBeCloseTo(causal[i]!.ll, 3);
  });

  it("QA end to end: anchor-cache task scores match mask-only, baselines timed", async () => {
    const docs = await readTaskFile("openbookqa", fx("openbookqa/test.jsonl"));
    const req = encodeRequest(tinyTok, { context: "a.b", continuation: " c" }, { maxLength: 512 });
    expect([...req.context]).toEqual(tinyTok.encode("a.b"));
    const res = await evaluateTask(scorer, tinyTok, "openbookqa", docs, undefined, {
      numFewshot: 2,
      attention: "anchor",
      anchorIds: [ANCHOR],
      demoAnchorText: "<AC>",
      chunkSize: 16,
      verifyMask: true,
    });
    expect(res.maskCheck!.maxAbsDiff).toBeLessThan(1e-3);
    expect(res.maskCheck!.predictionAgreement).toBe(1);
    // 2-shot prompts with "." anchors: the cache keeps fewer rows than the full prompt
    expect(res.cache!.meanPeakEntries).toBeLessThan(res.cache!.meanFullEntries);
    expect(res.cache!.C).toBeGreaterThan(0.05);
    expect(res.cache!.C).toBeLessThan(1);
    expect(res.speed!.tNoCache).toBeCloseTo(res.speed!.noCacheMs / res.speed!.anchorCacheMs, 9);
  });

  it("cache bench: 20-token sentences give C > 0.9 at 480 tokens with 8-token chunks", async () => {
    const sentences = Array.from({ length: 9 }, (_, k) =>
      Int32Array.from({ length: 20 }, (_, i) => (i === 19 ? ANCHOR : 3 + ((k * 7 + i) % 60))),
    );
    const [row] = await runCacheBench({
      scorer,
      sentences,
      anchorIds: [ANCHOR],
      promptLengths: [480],
      maxNewTokens: 4,
      chunkSize: 8,
    });
    // peak <= 24 anchors + 19 open + 8 chunk rows (+ generated); full = 480 + 3
    expect(row!.meanFullEntries).toBe(483);
    expect(row!.C).toBeGreaterThan(0.9);
    expect(row!.baselinesAgree).toBe(1);
  });
});
