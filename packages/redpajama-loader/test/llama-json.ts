// Test helper: a Llama-2 tokenizer.json (BPE, byte fallback, Prepend/Replace normalizer) rebuilt
// from llama-tokenizer-js's embedded vocab and merges, optionally with [PAD] and <AC> added.
import llamaTokenizer from "llama-tokenizer-js";

function added(id: number, content: string) {
  return {
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  };
}

/** tokenizer.json text; `withAc` appends [PAD]=32000 and <AC>=32001 as the AnLLM reference does. */
export function llamaTokenizerJson(withAc = false): string {
  const vocab: Record<string, number> = {};
  llamaTokenizer.vocabById.forEach((piece, id) => {
    vocab[piece] = id;
  });
  const merges = [...llamaTokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
  const addedTokens = [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")];
  if (withAc) addedTokens.push(added(32000, "[PAD]"), added(32001, "<AC>"));
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges,
    },
  });
}

/** tokenizer_config.json text of Llama-2 (plus pad_token when `withAc`). */
export function llamaTokenizerConfig(withAc = false): string {
  const cfg: Record<string, unknown> = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: "<s>",
    eos_token: "</s>",
    unk_token: "<unk>",
    legacy: true,
  };
  if (withAc) cfg.pad_token = "[PAD]";
  return JSON.stringify(cfg);
}
