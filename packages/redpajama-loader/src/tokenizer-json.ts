// Pieces of a Hugging Face tokenizer.json that the project writes itself (the Llama-2 vocabulary
// file, the recall task's tokenizer): plain objects, browser-safe.

/** One `added_tokens` entry of a tokenizer.json: a special token, matched verbatim. */
export function specialTokenEntry(id: number, content: string): Record<string, unknown> {
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

/** The `model` section of a BPE tokenizer.json (`<unk>` for pieces outside the vocabulary). */
export function bpeModelEntry(
  vocab: Record<string, number>,
  merges: readonly unknown[],
  opts: { fuseUnk?: boolean; byteFallback?: boolean } = {},
): Record<string, unknown> {
  return {
    type: "BPE",
    dropout: null,
    unk_token: "<unk>",
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: opts.fuseUnk ?? false,
    byte_fallback: opts.byteFallback ?? false,
    vocab,
    merges,
  };
}
