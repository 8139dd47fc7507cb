// The function behind `anllm eval ppl`: load a token file (or tokenise text/jsonl), then run the
// LongLoRA perplexity protocol at every requested length.
import { evaluatePerplexity, type PerplexityOptions, type PerplexityResult } from "./perplexity";
import type { Scorer } from "./scorer";
import { loadEvalTokens, type TextTokenizer, type TokenizeOptions } from "./token-file";

/** Input of {@link runPerplexityEval}. */
export interface PplEvalInput extends PerplexityOptions {
  scorer: Scorer;
  /** `.bin`/`.u16` uint16 token file, or `.txt` / `.jsonl` / `.jsonl.gz` text. */
  data: string;
  tokenizer?: TextTokenizer;
  tokenize?: TokenizeOptions;
}

/** Output printed by `anllm eval ppl --json`. */
export interface PplEvalOutput {
  results: PerplexityResult[];
  data: {
    path: string;
    tokens: number;
    source: "token-file" | "tokenized";
    documents?: number;
    skipped: number;
  };
  model: string;
}

/** Loads `data` and evaluates perplexity; `results` has one row per length. */
export async function runPerplexityEval(input: PplEvalInput): Promise<PplEvalOutput> {
  const loaded = await loadEvalTokens(input.data, input.tokenizer, input.tokenize);
  const results = await evaluatePerplexity(input.scorer, loaded.ids, input);
  return {
    results,
    data: {
      path: input.data,
      tokens: loaded.ids.length,
      source: loaded.source,
      ...(loaded.documents !== undefined ? { documents: loaded.documents } : {}),
      skipped: loaded.skipped,
    },
    model: input.scorer.name,
  };
}
