// Bridges @anllm/redpajama-loader to the evaluator: its Tokenizer as a TextTokenizer (with added
// special tokens such as <AC> spliced in by id), AC sentence anchors for QA text, and the sentence
// source of `anllm eval cache` (the embedded held-out corpus by default).
import {
  defaultDatasetPath,
  type ResolvedAnchors,
  readDocuments,
  splitSentences,
  type Tokenizer,
} from "@anllm/redpajama-loader";
import { type CacheBenchInput, type CacheBenchRow, runCacheBench } from "./cache-bench";
import { EvalConfigError } from "./errors";
import type { TextTokenizer } from "./token-file";

/**
 * The loader's tokenizer without BOS. Each text in `specialTokens` (e.g. "<AC>") is cut out and
 * replaced by its id; the pieces after a special token are encoded as continuations (no dummy
 * prefix), as the loader encodes AC documents.
 */
export function textTokenizerOf(
  tok: Tokenizer,
  specialTokens: readonly string[] = [],
): TextTokenizer {
  const specials = specialTokens.map((text) => {
    const id = tok.tokenToId(text);
    if (id === undefined) throw new EvalConfigError(`tokenizer ${tok.name} has no token "${text}"`);
    return { text, id };
  });
  const encode = (text: string): number[] => {
    if (specials.length === 0) return tok.encode(text, { bos: false });
    const out: number[] = [];
    let first = true;
    let rest = text;
    while (rest.length > 0) {
      let hit: { at: number; text: string; id: number } | null = null;
      for (const s of specials) {
        const at = rest.indexOf(s.text);
        if (at >= 0 && (hit === null || at < hit.at)) hit = { at, ...s };
      }
      const piece = hit ? rest.slice(0, hit.at) : rest;
      if (piece.length > 0)
        out.push(...(first ? tok.encode(piece, { bos: false }) : tok.encodeContinuation(piece)));
      first = false;
      if (!hit) break;
      out.push(hit.id);
      rest = rest.slice(hit.at + hit.text.length);
    }
    return out;
  };
  return { encode, bosId: tok.bosId, eosId: tok.eosId };
}

/**
 * A `transformText` for QA prompts of AnLLM-AC models: inserts `anchorText` after each sentence
 * ("after") or only between sentences ("between", default: the text's last sentence, e.g. "Answer:",
 * stays open so the answer is scored inside its segment).
 */
export function sentenceAnchorTransform(
  anchorText: string,
  placement: "after" | "between" = "between",
) {
  return (text: string): string => {
    const s = splitSentences(text);
    return s
      .map((x, i) => (placement === "after" || i < s.length - 1 ? x + anchorText : x))
      .join("");
  };
}

/** Sentences of `texts` as token ids (each encoded as a continuation, so no BOS/dummy prefix). */
export function tokenizeSentences(
  texts: readonly string[],
  tok: Tokenizer,
  maxSentences = 20_000,
): Int32Array[] {
  const out: Int32Array[] = [];
  for (const t of texts) {
    for (const s of splitSentences(t)) {
      const ids = tok.encodeContinuation(s);
      if (ids.length > 0) out.push(Int32Array.from(ids));
      if (out.length >= maxSentences) return out;
    }
  }
  return out;
}

/** Texts of the loader's embedded held-out corpus (public-domain documents). */
export async function heldoutTexts(maxDocs = 50): Promise<string[]> {
  const out: string[] = [];
  for await (const doc of readDocuments(defaultDatasetPath("heldout"))) {
    out.push(doc.text);
    if (out.length >= maxDocs) break;
  }
  return out;
}

/** Input of {@link runCacheEval}. */
export interface CacheEvalInput
  extends Omit<CacheBenchInput, "sentences" | "tokenizer" | "anchorIds" | "appendAnchorId"> {
  tokenizer: Tokenizer;
  /** EP: anchors are ids inside the text; AC: the AC id is appended after every sentence. */
  anchors: ResolvedAnchors;
  /** Source texts (default: the embedded held-out corpus). */
  texts?: readonly string[];
}

/** `anllm eval cache`: long many-sentence prompts, generation, C and T per prompt length. */
export async function runCacheEval(input: CacheEvalInput): Promise<CacheBenchRow[]> {
  if (input.anchors.mode === "none" || input.anchors.ids.length === 0) {
    throw new EvalConfigError("eval cache needs anchors (EP ids or the AC token)");
  }
  const texts = input.texts ?? (await heldoutTexts());
  const sentences = tokenizeSentences(texts, input.tokenizer);
  return runCacheBench({
    ...input,
    sentences,
    anchorIds: input.anchors.ids,
    ...(input.anchors.mode === "ac" ? { appendAnchorId: input.anchors.ids[0]! } : {}),
    bosId: input.bosId ?? input.tokenizer.bosId,
  });
}
