// Perplexity windows and averaging against hand-computed values (LongLoRA protocol).
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { EvalConfigError } from "../src/errors";
import { evaluatePerplexity, windowStarts } from "../src/perplexity";
import {
  loadEvalTokens,
  readTokenFile,
  tokenizeDocuments,
  writeTokenFile,
} from "../src/token-file";
import { VisibleCountScorer } from "../src/visible-count-scorer";
import { charTokenizer } from "./helpers";

describe("windowStarts", () => {
  it("range(0, N - L, stride) with the last start popped", () => {
    expect(windowStarts(8, 3, 2)).toEqual([0, 2]);
    expect(windowStarts(8, 3, 2, false)).toEqual([0, 2, 4]);
    expect(windowStarts(10, 4, 3)).toEqual([0]);
  });
  it("reproduces LongLoRA's Proof-Pile window counts", () => {
    const n = 4_194_304;
    expect(windowStarts(n, 4096, 256).length).toBe(16_367);
    expect(windowStarts(n, 2048, 256).length).toBe(16_375);
    expect(windowStarts(n, 256, 256).length).toBe(16_382);
  });
});

describe("evaluatePerplexity", () => {
  // vocab 3, alpha 1: p(w | visible S) = (1 + count_S(w)) / (3 + |S|)
  const scorer = new VisibleCountScorer({ vocabSize: 3 });
  const data = [0, 1, 1, 2, 0, 0, 1, 2];

  it("matches the hand-computed mean window loss", async () => {
    // windows [0,1,1] and [1,2,0]; predictions p(1|{0})=1/4, p(1|{0,1})=2/5; p(2|{1})=1/4, p(0|{1,2})=1/5
    const w0 = -(Math.log(1 / 4) + Math.log(2 / 5)) / 2;
    const w1 = -(Math.log(1 / 4) + Math.log(1 / 5)) / 2;
    for (const batchSize of [1, 2]) {
      const [r] = await evaluatePerplexity(scorer, data, { lengths: [3], stride: 2, batchSize });
      expect(r!.windows).toBe(2);
      expect(r!.loss).toBeCloseTo((w0 + w1) / 2, 12);
      expect(r!.ppl).toBeCloseTo(Math.exp((w0 + w1) / 2), 12);
      expect(r!.pplLongLoRA).toBeCloseTo((271_828 / 100_000) ** ((w0 + w1) / 2), 12);
      // greedy: {0} -> 0 (miss 1), {0,1} -> 0 (miss 1), {1} -> 1 (miss 2), {1,2} -> 1 (miss 0)
      expect(r!.tokenAccuracy).toBe(0);
    }
  });

  it("last-stride variant scores only the newest stride targets, token-weighted", async () => {
    const [r] = await evaluatePerplexity(scorer, data, {
      lengths: [3],
      stride: 1,
      scoring: "last-stride",
      maxWindows: 2,
    });
    // windows [0,1,1] (all 2 targets) and [1,1,2] (last 1 target: p(2|{1,1}) = 1/5)
    const nll = -(Math.log(1 / 4) + Math.log(2 / 5) + Math.log(1 / 5));
    expect(r!.loss).toBeCloseTo(nll / 3, 12);
  });

  it("anchor attention changes what a window sees", async () => {
    const seq = [0, 2, 1, 1, 0, 0, 0];
    const [causal] = await evaluatePerplexity(scorer, seq, {
      lengths: [4],
      stride: 4,
      dropLast: false,
    });
    const [anchor] = await evaluatePerplexity(scorer, seq, {
      lengths: [4],
      stride: 4,
      dropLast: false,
      attention: "anchor",
      anchorIds: [2],
    });
    // [0,2,1,1]: causal 1/4, 1/5, 2/6; anchor: q2 (after anchor 2) sees {2,1} -> 2/5
    expect(causal!.loss).toBeCloseTo(
      -(Math.log(1 / 4) + Math.log(1 / 5) + Math.log(2 / 6)) / 3,
      12,
    );
    expect(anchor!.loss).toBeCloseTo(
      -(Math.log(1 / 4) + Math.log(1 / 5) + Math.log(2 / 5)) / 3,
      12,
    );
    expect(anchor!.attention).toBe("anchor");
  });

  it("rejects data too short and lengths above the model maximum", async () => {
    await expect(evaluatePerplexity(scorer, data, { lengths: [7], stride: 2 })).rejects.toThrow(
      EvalConfigError,
    );
    const small = new VisibleCountScorer({ vocabSize: 3, maxLength: 4 });
    await expect(evaluatePerplexity(small, data, { lengths: [5] })).rejects.toThrow(/exceeds/);
  });
});

describe("token files", () => {
  it("round-trips uint16 little-endian without header", async () => {
    const dir = await mkdtemp(join(tmpdir(), "anllm-eval-"));
    const path = join(dir, "t.bin");
    await writeTokenFile(path, [1, 258, 65535, 0]);
    const raw = await readFile(path);
    expect([...raw]).toEqual([1, 0, 2, 1, 255, 255, 0, 0]);
    expect([...(await readTokenFile(path))]).toEqual([1, 258, 65535, 0]);
    await expect(writeTokenFile(path, [70000])).rejects.toThrow(/uint16/);
    await writeFile(join(dir, "odd.bin"), Buffer.from([1, 2, 3]));
    await expect(readTokenFile(join(dir, "odd.bin"))).rejects.toThrow(/odd\.bin.*multiple of 2/);
  });

  it("tokenises jsonl(.gz) documents with BOS, counting skipped records", async () => {
    const dir = await mkdtemp(join(tmpdir(), "anllm-eval-"));
    const lines = ['{"text":"ab"}', "not json", '{"meta":{}}', "", '{"text":"c"}'].join("\n");
    await writeFile(join(dir, "d.jsonl"), lines);
    await writeFile(join(dir, "d.jsonl.gz"), gzipSync(lines));
    for (const f of ["d.jsonl", "d.jsonl.gz"]) {
      const rep = await tokenizeDocuments(join(dir, f), charTokenizer);
      expect([...rep.ids]).toEqual([1, 97, 98, 1, 99]);
      expect(rep.documents).toBe(2);
      expect(rep.skipped.map((s) => s.line)).toEqual([2, 3]);
    }
    const capped = await tokenizeDocuments(join(dir, "d.jsonl"), charTokenizer, {
      addBos: false,
      addEos: true,
      maxTokensPerDoc: 2,
    });
    expect([...capped.ids]).toEqual([97, 98, 99, 2]);
    await writeTokenFile(join(dir, "d.bin"), capped.ids);
    expect([...(await loadEvalTokens(join(dir, "d.bin"))).ids]).toEqual([97, 98, 99, 2]);
    await expect(loadEvalTokens(join(dir, "d.jsonl"))).rejects.toThrow(/tokenizer/);
    await writeFile(join(dir, "plain.txt"), "hi\nyo");
    const txt = await loadEvalTokens(join(dir, "plain.txt"), charTokenizer);
    expect([...txt.ids]).toEqual([1, 104, 105, 10, 121, 111]);
    expect(txt.documents).toBe(1);
  });
});
