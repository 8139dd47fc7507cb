// The cache-policy comparison: the recall generator is deterministic and places queries at the
// asked distances; perplexity through the full cache equals from-scratch scoring; the comparison
// runs every policy and reports the quantities with the relations they must satisfy.
import { parsePolicy } from "@anllm/anchor-mask";
import { Llama2, PRESETS } from "@anllm/llama2-model";
import { tokenizerFromJson } from "@anllm/redpajama-loader";
import { splitSentences } from "@anllm/redpajama-loader/text";
import { CpuDevice } from "@anllm/tensor";
import { describe, expect, it } from "vitest";
import { LlamaScorer } from "../src/llama-scorer";
import { passkeyPrompt, runPasskey } from "../src/passkey";
import { evaluatePerplexity } from "../src/perplexity";
import { policyMarkdownTables, runPolicyBench } from "../src/policy-bench";
import {
  factSentence,
  RECALL_KEY_COUNT,
  RECALL_VALUE_IDS,
  recallFacts,
  recallPrompt,
  recallTokenizerJson,
  recallTrainingDocuments,
  tokenizeFact,
} from "../src/recall-task";

/** Byte-like tokenizer into the tiny vocabulary (64): "." is id 63. */
const encode = (text: string) =>
  [...text].map((ch) => (ch === "." ? 63 : 3 + ((ch.codePointAt(0) as number) % 59)));

describe("recall task", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    expect(recallFacts(3, 50)).toEqual(recallFacts(3, 50));
    expect(recallFacts(3, 50)).not.toEqual(recallFacts(4, 50));
    const docs = recallTrainingDocuments({ seed: 9, documents: 3, sentences: 20 });
    expect(docs).toEqual(recallTrainingDocuments({ seed: 9, documents: 3, sentences: 20 }));
    expect(docs[0]).toMatch(/^( ([A-Z][a-z]\d{2}) \2\.){20}$/);
    // --min-sentences: lengths spread over [min, max], short documents included
    const mixed = recallTrainingDocuments({
      seed: 9,
      documents: 200,
      sentences: 64,
      minSentences: 4,
    });
    const counts = mixed.map((d) => (d.match(/\./g) ?? []).length);
    expect(Math.min(...counts)).toBe(4);
    expect(Math.max(...counts)).toBeLessThanOrEqual(64);
    expect(counts.filter((n) => n <= 16).length).toBeGreaterThan(60);
    expect(counts.filter((n) => n > 32).length).toBeGreaterThan(20);
    expect(() =>
      recallTrainingDocuments({ seed: 1, documents: 1, sentences: 4, minSentences: 5 }),
    ).toThrow(/minSentences must be/);
    // --value-pool: a document's values come from that many, each under several keys; the
    // default (every value) draws nothing more, so earlier seeds keep their documents
    const pooled = recallTrainingDocuments({ seed: 9, documents: 20, sentences: 40, valuePool: 3 });
    for (const d of pooled) {
      const values = new Set([...d.matchAll(/[A-Z][a-z](\d{2})\./g)].map((m) => m[1]));
      expect(values.size).toBeLessThanOrEqual(3);
    }
    expect(
      recallTrainingDocuments({ seed: 9, documents: 3, sentences: 20, valuePool: 90 }),
    ).toEqual(docs);
    expect(() => recallTrainingDocuments({ seed: 1, documents: 1, valuePool: 0 })).toThrow(
      /valuePool must be/,
    );
    const keys = recallFacts(1, RECALL_KEY_COUNT).map((f) => f.key);
    expect(new Set(keys).size).toBe(RECALL_KEY_COUNT);
    expect(() => recallFacts(1, RECALL_KEY_COUNT + 1)).toThrow(/recallFacts: n must be/);
  });

  it("the mqar and repeat layouts restate every fact (key) once, in a seeded order", () => {
    const opts = { seed: 5, documents: 30, sentences: 12, minSentences: 2 };
    const mqar = recallTrainingDocuments({ ...opts, layout: "mqar" });
    expect(mqar).toEqual(recallTrainingDocuments({ ...opts, layout: "mqar" }));
    let shuffled = 0;
    for (const doc of mqar) {
      const facts = doc.match(/ ([A-Z][a-z]\d{2}) \1\./g) ?? [];
      const n = facts.length / 2;
      expect(Number.isInteger(n) && n >= 2 && n <= 12).toBe(true);
      const first = facts.slice(0, n);
      const asked = facts.slice(n);
      expect(new Set(first.map((f) => f.slice(1, 3))).size).toBe(n); // distinct keys
      expect([...asked].sort()).toEqual([...first].sort()); // each fact restated once, same value
      if (asked.join("") !== first.join("")) shuffled++;
    }
    expect(shuffled).toBeGreaterThan(20);
    const repeat = recallTrainingDocuments({ ...opts, layout: "repeat" });
    expect(repeat).toEqual(recallTrainingDocuments({ ...opts, layout: "repeat" }));
    for (const doc of repeat) {
      expect(doc).toMatch(/^( [A-Z][a-z])+$/);
      const half = doc.slice(0, doc.length / 2);
      expect(doc).toBe(half + half);
      expect(half.length / 3).toBeGreaterThanOrEqual(2);
      expect(half.length / 3).toBeLessThanOrEqual(12);
    }
    // the default layout is "facts"
    expect(recallTrainingDocuments({ ...opts, layout: "facts" })).toEqual(
      recallTrainingDocuments(opts),
    );
    expect(() =>
      recallTrainingDocuments({ ...opts, layout: "zigzag" as unknown as "facts" }),
    ).toThrow(/layout must be one of facts, mqar, repeat/);
  });

  it("training documents restate runs of earlier facts with the same values", () => {
    for (const maxRun of [1, 4]) {
      for (const doc of recallTrainingDocuments({ seed: 2, documents: 5, sentences: 40, maxRun })) {
        const facts: string[] = [];
        const seen = new Map<string, string>();
        let repeats = 0;
        let longestRun = 0;
        let run = 0;
        let last = -1;
        for (const m of doc.matchAll(/ ([A-Z][a-z])(\d{2}) \1\2\./g)) {
          const [, k, v] = m as unknown as [string, string, string];
          if (seen.has(k)) {
            expect(seen.get(k)).toBe(v);
            repeats++;
            // a run restates consecutive facts in their order
            const i = facts.indexOf(k);
            run = i === last + 1 && run > 0 ? run + 1 : 1;
            last = i;
            longestRun = Math.max(longestRun, run);
          } else {
            facts.push(k);
            seen.set(k, v);
            run = 0;
          }
        }
        expect(repeats).toBeGreaterThan(0);
        // runs of several consecutive facts appear when they are allowed
        if (maxRun === 4) expect(longestRun).toBeGreaterThan(1);
      }
    }
  });

  it("has a tokenizer that makes each key and each value one token (a fact is five)", () => {
    const t = tokenizerFromJson(JSON.stringify(recallTokenizerJson()));
    expect(t.vocabSize).toBe(4 + 8 + 10 + 52 + 26 + RECALL_KEY_COUNT + 90);
    expect([t.bosId, t.eosId]).toEqual([1, 2]);
    const facts = recallFacts(8, RECALL_KEY_COUNT).map((f) =>
      tokenizeFact(f, (x) => t.encodeContinuation(x)),
    );
    // every key and value is its own single id, distinct across keys
    expect(facts.every((f) => f.query.length === 1 && f.answer.length === 1)).toBe(true);
    expect(new Set(facts.map((f) => f.query[0])).size).toBe(RECALL_KEY_COUNT);
    // the values are the id range that `train --loss-ids` is given
    expect(t.encodeContinuation("10")).toEqual([RECALL_VALUE_IDS[0]]);
    expect(t.encodeContinuation("99")).toEqual([RECALL_VALUE_IDS[1]]);
    const [doc] = recallTrainingDocuments({ seed: 4, documents: 1, sentences: 30 });
    const ids = t.encode(doc as string, { bos: false });
    expect(ids).toHaveLength(150);
    expect(t.decode(ids)).toBe(doc);
    // a document is the concatenation of its facts' tokens: no merge crosses a fact, and the
    // sentence is the tokenized fact (key, value, the two again, period)
    const first = (doc as string).slice(0, 11);
    expect(ids.slice(0, 5)).toEqual([...t.encodeContinuation(first)]);
    const [, key, value] = first.match(/^ ([A-Z][a-z])(\d{2}) /) as unknown as string[];
    const fact = tokenizeFact({ key: key as string, value: value as string }, (x) =>
      t.encodeContinuation(x),
    );
    expect(Array.from(fact.sentence)).toEqual(ids.slice(0, 5));
    expect(ids.slice(2, 4)).toEqual(ids.slice(0, 2));
    // other text falls back to characters (or <unk>), it never fails
    expect(t.decode(t.encode("Hi, you!", { bos: false }))).toBe("Hi, you!");
  });

  it("ends every fact as a sentence of its own for the loader's splitter (AnLLM-AC anchors)", () => {
    const [doc] = recallTrainingDocuments({ seed: 3, documents: 1, sentences: 12 });
    expect(splitSentences(doc as string)).toHaveLength(12);
    // every key: a period right after a key would read as an abbreviation for some (` In.`)
    const all = recallFacts(1, RECALL_KEY_COUNT);
    expect(splitSentences(all.map(factSentence).join(""))).toHaveLength(RECALL_KEY_COUNT);
  });

  it("places each query near its distance, with the answer tokens where the fact's value is", () => {
    const facts = recallFacts(5, 400).map((f) => tokenizeFact(f, encode));
    const p = recallPrompt(facts, 512, [16, 64, 256, 1024], { bosId: 1, perDistance: 4 });
    expect(p.ids.length).toBeLessThanOrEqual(512);
    // every distance below the length gets its queries; 1024 does not fit
    const count = (d: number) => p.queries.filter((q) => q.target === d).length;
    expect([16, 64, 256, 1024].map(count)).toEqual([4, 4, 4, 0]);
    // within a quarter of the distance, or half a sentence for the short ones
    const halfSentence = Math.ceil(Math.max(...facts.map((f) => f.sentence.length)) / 2);
    for (const q of p.queries) {
      expect(Math.abs(q.distance - q.target)).toBeLessThanOrEqual(
        Math.max(halfSentence, Math.floor(q.target / 4)),
      );
      // the answer equals the original fact's value tokens
      const answer = Array.from(p.ids.subarray(q.answerAt, q.answerAt + q.answerLength));
      const original = q.answerAt - q.distance;
      expect(Array.from(p.ids.subarray(original, original + q.answerLength))).toEqual(answer);
    }
    expect(recallPrompt(facts, 512, [16, 64, 256, 1024], { bosId: 1, perDistance: 4 })).toEqual(p);
  });
});

describe("runPolicyBench", () => {
  it("compares every policy at each prompt length", { timeout: 300_000 }, async () => {
    const model = Llama2.init(
      { ...PRESETS.tiny, maxSeqLen: 512 },
      { seed: 7, device: new CpuDevice() },
    );
    const scorer = new LlamaScorer(model, { maxLength: 512 });
    const sentences = Array.from({ length: 30 }, (_, i) =>
      Int32Array.from(encode(` word${i} and more text here.`)),
    );
    const facts = recallFacts(1, 300).map((f) => tokenizeFact(f, encode));
    const names = [
      "full",
      "anchor",
      "sink:sink=4,window=32",
      "sepllm:window=32",
      "h2o:budget=48,recent=16",
    ];
    const report = await runPolicyBench({
      scorer,
      policies: names.map((spec) => ({
        name: spec.split(":")[0] as string,
        spec,
        policy: parsePolicy(spec),
      })),
      sentences,
      facts,
      anchorIds: [63],
      separatorIds: [63],
      bosId: 1,
      promptLengths: [64, 112],
      distances: [16, 48],
      maxNewTokens: 3,
      chunkSize: 16,
      queriesPerDistance: 2,
    });
    expect(report.rows.length).toBe(10);
    expect(report.noCache.length).toBe(2);
    for (const r of report.rows) {
      expect(r.peakEntries).toBeLessThanOrEqual(r.fullEntries);
      expect(r.meanEntries).toBeLessThanOrEqual(r.peakEntries);
      expect(r.C).toBeCloseTo(1 - r.peakEntries / r.fullEntries, 12);
      expect(r.tFullCache).toBeCloseTo(
        (report.rows.find((x) => x.policy === "full" && x.promptLength === r.promptLength)
          ?.msPerToken as number) / r.msPerToken,
        9,
      );
      expect(Number.isFinite(r.ppl) && r.ppl > 1).toBe(true);
      // the longer prompt holds both distances' queries
      if (r.promptLength === 112) expect(r.recall.map((b) => b.distance)).toEqual([16, 48]);
      expect(r.recall.length).toBeGreaterThan(0);
      for (const b of r.recall) expect(b.correct).toBeLessThanOrEqual(b.total);
      if (r.policy === "full") {
        expect(r.ppl).toBeCloseTo(r.pplFull, 6);
        expect(r.C).toBe(0);
      }
      if (r.policy === "sink") expect(r.peakEntries).toBeLessThanOrEqual(4 + 32 + 16);
      if (r.policy === "h2o") expect(r.meanEntries).toBeLessThanOrEqual(48);
    }
    // scoring through the full cache equals from-scratch causal scoring of the same window
    const seq = Int32Array.from(sentences.flatMap((x) => Array.from(x)).slice(0, 80));
    const cached = await scorer.scoreThroughCache(seq, {
      policy: "full",
      anchorIds: [],
      chunkSize: 16,
    });
    const [scratch] = await scorer.scoreSequences([seq], { attention: "causal", anchorIds: [] });
    cached.scores.logprobs.forEach((x, t) => {
      expect(x).toBeCloseTo(scratch?.logprobs[t] as number, 4);
    });
    expect(policyMarkdownTables(report)).toContain("### Prompt 112 tokens");
    model.dispose();
  });
});

describe("perplexity and QA scoring through a cache policy", () => {
  it("full through the cache equals from-scratch causal perplexity; a window shorter than the text raises it", async () => {
    const model = Llama2.init(
      { ...PRESETS.tiny, maxSeqLen: 256 },
      { seed: 3, device: new CpuDevice() },
    );
    const scorer = new LlamaScorer(model);
    const data = Int32Array.from({ length: 200 }, (_, i) => 3 + ((i * 7919) % 59));
    const opts = { lengths: [48], stride: 32, maxWindows: 3 };
    const [causal] = await evaluatePerplexity(scorer, data, opts);
    const [full] = await evaluatePerplexity(scorer, data, {
      ...opts,
      policy: "full",
      chunkSize: 16,
    });
    const [wide] = await evaluatePerplexity(scorer, data, {
      ...opts,
      policy: parsePolicy("sink:sink=4,window=64"),
      chunkSize: 16,
    });
    const [narrow] = await evaluatePerplexity(scorer, data, {
      ...opts,
      policy: parsePolicy("sink:sink=1,window=4"),
      chunkSize: 16,
    });
    expect(full?.ppl).toBeCloseTo(causal?.ppl as number, 3);
    // a window covering the whole text forgets nothing
    expect(wide?.ppl).toBeCloseTo(causal?.ppl as number, 3);
    expect(narrow?.ppl).not.toBeCloseTo(causal?.ppl as number, 3);
    model.dispose();
  });
});

describe("passkey", () => {
  const bytes = (t: string) => [...new TextEncoder().encode(t)].map((b) => b + 3);
  it("hides a seeded 5-digit key at the asked depth in a prompt of about the asked length", () => {
    const a = passkeyPrompt(bytes, 600, 0.5, 1, 1);
    expect(a).toEqual(passkeyPrompt(bytes, 600, 0.5, 1, 1));
    expect(a.passkey).toMatch(/^\d{5}$/);
    expect(passkeyPrompt(bytes, 600, 0.5, 2, 1).passkey).not.toBe(a.passkey);
    expect(a.ids.length).toBeLessThanOrEqual(600);
    expect(a.ids.length).toBeGreaterThan(500);
    const where = (depth: number) => {
      const p = passkeyPrompt(bytes, 600, depth, 1, 1);
      const text = String.fromCharCode(...Array.from(p.ids.subarray(1), (x) => x - 3));
      return { text, at: text.indexOf(`pass key is ${p.passkey}`) / text.length };
    };
    const [start, mid, end] = [where(0), where(0.5), where(1)];
    expect(start.at).toBeLessThan(mid.at);
    expect(mid.at).toBeLessThan(end.at);
    expect(start.at).toBeLessThan(0.35);
    expect(end.at).toBeGreaterThan(0.75);
    const text = mid.text;
    expect(text.endsWith("The pass key is")).toBe(true);
    expect(() => passkeyPrompt(bytes, 600, 1.5, 1)).toThrow(/depth/);
  });

  it("scores exact matches of greedy generations", async () => {
    const model = Llama2.init(
      { ...PRESETS.tiny, maxSeqLen: 512 },
      { seed: 1, device: new CpuDevice() },
    );
    const tok = (t: string) => bytes(t).map((x) => 3 + (x % 60));
    const cells = await runPasskey(new LlamaScorer(model), tok, {
      lengths: [200],
      depths: [0, 1],
      trials: 1,
      generate: { cache: parsePolicy("sink:window=64"), anchorIds: [], chunkSize: 32 },
    });
    expect(cells.map((c) => [c.length, c.depth, c.trials])).toEqual([
      [200, 0, 1],
      [200, 1, 1],
    ]);
    // an untrained model does not know the key
    for (const c of cells) expect(c.accuracy).toBe(0);
    model.dispose();
  });
});
