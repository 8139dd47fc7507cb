// The loader bridge with the real Llama-2 tokenizer: harness pair encoding (" yes" after "Answer:"),
// <AC> spliced in by id, sentence anchors, and the eval-cache sentence source.
import { llama2Tokenizer, resolveAnchors, withAnchorToken } from "@anllm/redpajama-loader";
import { describe, expect, it } from "vitest";
import {
  heldoutTexts,
  runCacheEval,
  sentenceAnchorTransform,
  textTokenizerOf,
  tokenizeSentences,
} from "../src/loader-bridge";
import { encodeRequest, fewshotContext } from "../src/qa-prompts";
import type { QaDoc } from "../src/qa-tasks";
import { VisibleCountScorer } from "../src/visible-count-scorer";

const llama = llama2Tokenizer();

describe("loader bridge", () => {
  it("encodes harness pairs without BOS; the continuation is the ' yes' piece", () => {
    const tok = textTokenizerOf(llama);
    expect(Array.from(tok.encode("Hello world. How are you?"))).toEqual([
      15043, 3186, 29889, 1128, 526, 366, 29973,
    ]);
    const r = encodeRequest(
      tok,
      { context: "Is it?\nAnswer:", continuation: " yes" },
      { maxLength: 4096 },
    );
    expect([...r.continuation]).toEqual([llama.tokenToId("▁yes")]);
    expect(r.context[0]).not.toBe(llama.bosId);
  });

  it("splices <AC> by id after each demonstration", () => {
    const ac = withAnchorToken(llama);
    const acId = ac.tokenToId("<AC>")!;
    const tok = textTokenizerOf(ac, ["<AC>"]);
    const d = (t: string): QaDoc => ({
      id: t,
      text: `Q: ${t}\nA:`,
      target: " ok",
      choices: ["ok"],
      gold: 0,
      kind: "multiple-choice",
    });
    const ids = Array.from(
      tok.encode(
        fewshotContext(d("c"), [d("a"), d("b")], { numFewshot: 2, demoAnchorText: "<AC>" }),
      ),
    );
    expect(ids.filter((x) => x === acId)).toHaveLength(2);
    // text after the anchor is a continuation: "\n\nQ: b" starts with the newline byte piece, no dummy "▁"
    const after = ids.indexOf(acId) + 1;
    expect(ids[after]).toBe(llama.encodeContinuation("\n")[0]);
    expect(Array.from(tok.encode("plain"))).toEqual(llama.encode("plain", { bos: false }));
  });

  it("sentence anchors: between (default) leaves the last sentence open", () => {
    expect(sentenceAnchorTransform("<AC>")("Dr. Smith came. He sat.\nAnswer:")).toBe(
      "Dr. Smith came.<AC> He sat.<AC>\nAnswer:",
    );
    expect(sentenceAnchorTransform("<AC>", "after")("One. Two.")).toBe("One.<AC> Two.<AC>");
  });

  it("eval cache over the embedded held-out corpus: sentences, EP anchors, C per length", async () => {
    const texts = await heldoutTexts(3);
    expect(texts.length).toBeGreaterThan(0);
    const sentences = tokenizeSentences(texts, llama, 500);
    expect(sentences.length).toBeGreaterThan(10);
    const period = llama.tokenToId(".")!;
    expect(sentences.filter((s) => s.includes(period)).length).toBeGreaterThan(
      sentences.length / 2,
    );
    const scorer = new VisibleCountScorer({ vocabSize: llama.vocabSize, maxLength: 1024 });
    const rows = await runCacheEval({
      scorer,
      tokenizer: llama,
      anchors: resolveAnchors(llama, { mode: "ep" }),
      texts,
      promptLengths: [256],
      maxNewTokens: 2,
      chunkSize: 16,
      skipNoCache: true,
    });
    expect(rows[0]!.promptLength).toBe(256);
    expect(rows[0]!.C).toBeGreaterThan(0.3);
    expect(rows[0]!.tNoCache).toBeUndefined();
  });
});
