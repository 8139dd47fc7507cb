// The playground's real Llama-2 tokenization, in the browser: llama-tokenizer-js (the exact
// SentencePiece BPE with the 32,000-piece vocab, also used by @anllm/redpajama-loader), loaded on
// demand. AnLLM-AC encodes sentence by sentence and appends <AC> (32001), as the loader does.
import { type AcPlacement, type IllustrativeToken, LLAMA2_IDS } from "./illustrative-tokenizer";

/** The part of llama-tokenizer-js the playground uses. */
export interface Llama2Encoder {
  encode(text: string, addBos?: boolean, addPrecedingSpace?: boolean): number[];
  vocabById: string[];
}

/** Loads llama-tokenizer-js (a separate ~0.7 MB chunk in the browser). */
export async function loadLlama2(): Promise<Llama2Encoder> {
  const mod = await import("llama-tokenizer-js");
  return mod.default;
}

/**
 * Splits text into sentences with the playground's simple rule: a sentence ends at ".", "?" or "!"
 * followed by whitespace and an upper-case letter or digit, or by the end. Whitespace between
 * sentences stays at the front of the next one (SentencePiece turns it into "▁").
 */
export function splitSentencesSimple(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (const m of text.matchAll(/[.?!](?=\s+[\p{Lu}\p{N}]|\s*$)/gu)) {
    const end = m.index + 1;
    out.push(text.slice(start, end));
    start = end;
  }
  if (text.slice(start).trim() !== "") out.push(text.slice(start));
  return out.filter((s) => s.trim() !== "");
}

function tokensOf(enc: Llama2Encoder, ids: readonly number[]): IllustrativeToken[] {
  return ids.map((id) => ({
    id,
    text: id === LLAMA2_IDS.ac ? "<AC>" : (enc.vocabById[id] ?? `#${id}`),
  }));
}

/** AnLLM-EP tokens: BOS + the Llama-2 encoding of the text. */
export function llama2Ep(enc: Llama2Encoder, text: string): IllustrativeToken[] {
  return tokensOf(enc, enc.encode(text, true, true));
}

/**
 * AnLLM-AC tokens: the first sentence encoded with BOS and the dummy prefix, later ones as
 * continuations, `<AC>` after every sentence ("after") or only between sentences ("between").
 */
export function llama2Ac(
  enc: Llama2Encoder,
  text: string,
  placement: AcPlacement,
): IllustrativeToken[] {
  const sentences = splitSentencesSimple(text);
  const ids: number[] = [LLAMA2_IDS.bos];
  sentences.forEach((s, k) => {
    ids.push(...(k === 0 ? enc.encode(s, false, true) : enc.encode(s, false, false)));
    if (placement === "after" || k < sentences.length - 1) ids.push(LLAMA2_IDS.ac);
  });
  return tokensOf(enc, ids);
}
