// An illustrative, browser-only tokenizer for the interactive anchor-mask page: words and single
// punctuation marks, each keeping its leading space (like SentencePiece's "▁"). It is NOT Llama-2's
// tokenizer; only the ids of the pieces that matter for anchors are Llama-2's real ids.

/** Llama-2 ids of the pieces the paper's anchor strategies use (guide/method.md §Anchor selection). */
export const LLAMA2_IDS = {
  bos: 1,
  ".": 29889,
  ",": 29892,
  ";": 29936,
  "?": 29973,
  "!": 29991,
  ac: 32001,
} as const;

/** The punctuation pieces AnLLM-EP can use as endpoints. */
export const ENDPOINT_PIECES = [".", ",", ";", "?", "!"] as const;
export type EndpointPiece = (typeof ENDPOINT_PIECES)[number];

/** One token of the illustrative tokenization. */
export interface IllustrativeToken {
  /** What is shown: "<s>", "<AC>", or the text piece with its leading space as "▁". */
  readonly text: string;
  /** Token id: Llama-2's id for BOS, <AC> and the endpoint pieces, a stable made-up id otherwise. */
  readonly id: number;
}

/** How `<AC>` is placed in AnLLM-AC: after every sentence (default) or only between sentences. */
export type AcPlacement = "after" | "between";

const PIECE = /\s*(?:[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[^\s\p{L}\p{N}])/gu;
const SENTENCE_END = /^[.?!]$/;

/** A stable made-up id in [100, 29000) for an ordinary piece (FNV-1a hash). */
function ordinaryId(piece: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < piece.length; k++) {
    h ^= piece.charCodeAt(k);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 100 + (h % 28900);
}

function pieceToken(raw: string): IllustrativeToken {
  const leadingSpace = /^\s/.test(raw);
  const core = raw.trim();
  const text = leadingSpace ? `▁${core}` : core;
  const special = !leadingSpace ? (LLAMA2_IDS as Record<string, number>)[core] : undefined;
  return { text, id: special ?? ordinaryId(text) };
}

/** Splits text into pieces (words, numbers, single punctuation marks), each with its leading space. */
export function splitPieces(text: string): string[] {
  return text.match(PIECE) ?? [];
}

/**
 * Tokenizes for AnLLM-EP: BOS, then one token per piece. A "." glued to the previous piece has
 * Llama-2's id 29889 (an endpoint); " ." after a space is a different piece, as in Llama-2.
 */
export function tokenizeEp(text: string): IllustrativeToken[] {
  return [{ text: "<s>", id: LLAMA2_IDS.bos }, ...splitPieces(text).map(pieceToken)];
}

/**
 * Tokenizes for AnLLM-AC: like `tokenizeEp`, plus `<AC>` after each sentence. A sentence ends at
 * ".", "?" or "!" followed by the end of the text or by a piece starting with a space and an
 * upper-case letter or digit (a crude stand-in for a real sentence splitter).
 */
export function tokenizeAc(text: string, placement: AcPlacement = "after"): IllustrativeToken[] {
  const pieces = splitPieces(text);
  const out: IllustrativeToken[] = [{ text: "<s>", id: LLAMA2_IDS.bos }];
  const ac: IllustrativeToken = { text: "<AC>", id: LLAMA2_IDS.ac };
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k]!;
    out.push(pieceToken(piece));
    const next = pieces[k + 1];
    const endsSentence =
      SENTENCE_END.test(piece.trim()) && (next === undefined || /^\s+[\p{Lu}\p{N}]/u.test(next));
    if (endsSentence && (placement === "after" || next !== undefined)) out.push(ac);
  }
  const last = pieces.at(-1);
  if (placement === "after" && last !== undefined && !SENTENCE_END.test(last.trim())) out.push(ac);
  return out;
}
