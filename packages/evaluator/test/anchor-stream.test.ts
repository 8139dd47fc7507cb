// The <AC> stream derived from a token file: original ids kept, one anchor after every sentence
// (as the loader's splitter finds them in the decoded text), documents split at BOS, and a
// perplexity taken over the original tokens' predictions only.
import { llama2Tokenizer, splitSentences } from "@anllm/redpajama-loader";
import { describe, expect, it } from "vitest";
import { deriveAnchorStream } from "../src/anchor-stream";
import { evaluatePerplexity } from "../src/perplexity";
import type { Scorer, TokenLogprobs } from "../src/scorer";

const AC = 32001;
const tok = llama2Tokenizer();
const opts = {
  anchorId: AC,
  bosId: tok.bosId,
  specialIds: [tok.bosId, tok.eosId],
  idToPiece: (id: number) => tok.idToPiece(id),
  decode: (ids: number[]) => tok.decode(ids),
  splitSentences: (text: string) => splitSentences(text),
};

describe("deriveAnchorStream", () => {
  it("keeps the original ids and puts <AC> after the token where each sentence ends", () => {
    const docs = [
      "The cat sat on the mat. It was warm! Was it? Yes, it was.",
      "Dr. Smith arrived at 5 p.m. and left. Ünïcödé text works too. 日本語の文。最後",
    ];
    const ids = docs.flatMap((d) => tok.encode(d));
    const s = deriveAnchorStream(ids, opts);
    expect([s.documents, s.unaligned]).toEqual([2, 0]);
    expect(Array.from(s.ids).filter((id) => id !== AC)).toEqual(ids);
    expect(Array.from(s.targets)).toEqual(Array.from(s.ids, (id) => +(id !== AC)));
    const sentences = docs.flatMap((d) => splitSentences(d));
    expect(s.inserted).toBe(sentences.length);
    // the text before each anchor (within its document) ends with that sentence
    let docStart = 0;
    let n = 0;
    for (let i = 0; i < s.ids.length; i++) {
      if (s.ids[i] === tok.bosId) docStart = i;
      if (s.ids[i] !== AC) continue;
      const before = Array.from(s.ids.subarray(docStart, i)).filter((id) => id !== AC);
      expect(tok.decode(before).trimEnd(), `anchor ${n}`).toMatch(
        new RegExp(`${sentences[n]!.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
      );
      n++;
    }
  });

  it("a document whose pieces do not line up with its text is left without anchors", () => {
    const ids = tok.encode("One. Two.");
    const s = deriveAnchorStream(ids, { ...opts, decode: () => "something else entirely" });
    expect([s.unaligned, s.inserted]).toEqual([1, 0]);
    expect(Array.from(s.ids)).toEqual(ids);
  });
});

describe("perplexity over target tokens", () => {
  // log p(token) = -(1 + token % 5) / 10 at every position: the loss is a known mean
  const scorer: Scorer = {
    name: "fixed",
    maxLength: 64,
    async scoreSequences(seqs) {
      return seqs.map(
        (s): TokenLogprobs => ({
          logprobs: Float64Array.from(s.subarray(1), (t) => -(1 + (t % 5)) / 10),
          greedy: new Uint8Array(s.length - 1),
        }),
      );
    },
    scoreContinuations: () => Promise.reject(new Error("unused")),
    generate: () => Promise.reject(new Error("unused")),
  };

  it("counts only the predictions of tokens marked as targets", async () => {
    const data = Int32Array.from({ length: 40 }, (_, i) => i);
    const all = await evaluatePerplexity(scorer, data, { lengths: [8], stride: 8 });
    const same = await evaluatePerplexity(scorer, data, {
      lengths: [8],
      stride: 8,
      targets: new Uint8Array(40).fill(1),
    });
    expect(same[0]!.loss).toBe(all[0]!.loss);
    // only even tokens count: window at s scores tokens s+1..s+7, of which the even ones
    const even = Uint8Array.from({ length: 40 }, (_, i) => +(i % 2 === 0));
    const r = await evaluatePerplexity(scorer, data, { lengths: [8], stride: 8, targets: even });
    const want =
      [0, 8, 16].reduce((acc, s) => {
        const ts = [2, 4, 6].map((o) => s + o);
        return acc + ts.reduce((a, t) => a + (1 + (t % 5)) / 10, 0) / ts.length;
      }, 0) / 3;
    expect(r[0]!.loss).toBeCloseTo(want, 12);
  });
});
