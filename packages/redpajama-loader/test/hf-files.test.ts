// HF tokenizer files of our tokenizers: the Llama-2 tokenizer.json written from the embedded vocab
// and merges encodes exactly like the built-in tokenizer when read by @huggingface/tokenizers (an
// independent BPE implementation), and an AC tokenizer's files list [PAD] = 32000 and <AC> = 32001.
import { describe, expect, it } from "vitest";
import {
  byteTokenizer,
  hfTokenizerFiles,
  llama2Tokenizer,
  tokenizerFromJson,
  withAnchorToken,
} from "../src/index";

const TEXTS = [
  "Hello world. This is a test.",
  "  leading spaces and  double  spaces",
  "Numbers 12345 and punctuation!?;:",
  "Unicode: café, naïve, 日本語, emoji 🤖 and a rare glyph 𝔘",
  "Line one\nLine two\n\nLine four",
];

describe("hfTokenizerFiles", () => {
  it("Llama-2 + AC: tokenizer.json encodes like the built-in tokenizer; [PAD] 32000, <AC> 32001", () => {
    const ac = withAnchorToken(llama2Tokenizer());
    const files = hfTokenizerFiles(ac, { modelMaxLength: 4096 })!;
    expect(Object.keys(files).sort()).toEqual([
      "added_tokens.json",
      "special_tokens_map.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    expect(JSON.parse(files["added_tokens.json"]!)).toEqual({ "[PAD]": 32000, "<AC>": 32001 });
    const map = JSON.parse(files["special_tokens_map.json"]!);
    expect(map).toEqual({
      bos_token: "<s>",
      eos_token: "</s>",
      unk_token: "<unk>",
      pad_token: "[PAD]",
      additional_special_tokens: ["<AC>"],
    });
    const config = JSON.parse(files["tokenizer_config.json"]!);
    expect(config.model_max_length).toBe(4096);
    expect(config.added_tokens_decoder["32001"].content).toBe("<AC>");
    const hf = tokenizerFromJson(files["tokenizer.json"]!, files["tokenizer_config.json"]);
    expect([hf.vocabSize, hf.bosId, hf.eosId, hf.padId]).toEqual([32002, 1, 2, 32000]);
    expect(hf.tokenToId("<AC>")).toBe(32001);
    // as in transformers, special tokens written in the text are matched (our encoder never does)
    expect(hf.encode("a.<AC> b", { bos: false })).toContain(32001);
    for (const t of TEXTS) {
      expect(hf.encode(t), t).toEqual(llama2Tokenizer().encode(t));
      expect(hf.decode(hf.encode(t)), t).toBe(
        llama2Tokenizer().decode(llama2Tokenizer().encode(t)),
      );
    }
  });

  it("a user's tokenizer.json keeps its content and gets the added tokens; bytes have no HF form", () => {
    const base = tokenizerFromJson(
      hfTokenizerFiles(llama2Tokenizer(), { modelMaxLength: 8 })!["tokenizer.json"]!,
      JSON.stringify({ bos_token: "<s>", eos_token: "</s>" }),
    );
    const files = hfTokenizerFiles(withAnchorToken(base), { modelMaxLength: 8 })!;
    const again = tokenizerFromJson(files["tokenizer.json"]!, files["tokenizer_config.json"]);
    expect([again.tokenToId("[PAD]"), again.tokenToId("<AC>"), again.padId]).toEqual([
      32000, 32001, 32000,
    ]);
    expect(again.encode(TEXTS[0]!)).toEqual(llama2Tokenizer().encode(TEXTS[0]!));
    expect(hfTokenizerFiles(withAnchorToken(byteTokenizer()), { modelMaxLength: 8 })).toBeNull();
  });
});
