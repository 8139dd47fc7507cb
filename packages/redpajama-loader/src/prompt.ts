// A prompt's token ids for generation: as a document, except that AnLLM-AC puts <AC> after complete
// sentences only (a prompt that stops mid-sentence gets no <AC> at its end).
import { encodeDocument, type ResolvedAnchors } from "./anchors";
import type { Tokenizer } from "./tokenizer";

/** Prompt ids and anchor flags: AC puts <AC> after complete sentences only. */
export function encodePrompt(
  text: string,
  tokenizer: Tokenizer,
  anchors: ResolvedAnchors,
): Int32Array {
  if (anchors.mode !== "ac") return encodeDocument(text, tokenizer, anchors).ids;
  const complete = /[.!?]["')\]]?\s*$/.test(text);
  return encodeDocument(text, tokenizer, { ...anchors, placement: complete ? "after" : "between" })
    .ids;
}
