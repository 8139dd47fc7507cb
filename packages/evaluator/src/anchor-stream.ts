// The paper scores AnLLM-AC's anchor perplexity on a second token stream with <AC> after every
// sentence. A token file (LongLoRA's .bin of Llama-2 ids) has none, so this derives that stream:
// split into documents at BOS, find the sentence ends of each document's decoded text, and insert
// the anchor id after the token where each sentence ends. The original ids are kept as they are
// (re-encoding sentence by sentence would change some of them), and `targets` marks them, so the
// perplexity is taken over the original tokens' predictions only and stays comparable with the
// full-attention perplexity of the original stream.

/** What deriving the stream needs from a tokenizer and a sentence splitter. */
export interface AnchorStreamOptions {
  /** id inserted after each sentence */
  anchorId: number;
  /** documents start at this id */
  bosId: number;
  /** ids decode drops (BOS, EOS, padding): they carry no text */
  specialIds: readonly number[];
  /** a token's piece: SentencePiece style ("▁" = space, "<0xNN>" = one byte) */
  idToPiece(id: number): string | undefined;
  decode(ids: number[]): string;
  /** the sentences of a text, as consecutive pieces of it (joined they give the text) */
  splitSentences(text: string): string[];
}

/** The derived stream and what was done to it. */
export interface AnchorStream {
  /** [n + inserted] the ids with the anchor id after every sentence */
  ids: Int32Array;
  /** [n + inserted] 1 = an original token (a prediction that counts), 0 = an inserted anchor */
  targets: Uint8Array;
  documents: number;
  inserted: number;
  /** documents whose pieces did not line up with their decoded text: left without anchors */
  unaligned: number;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8 = new TextEncoder();

/** Bytes each token contributes to the decoded text (0 for special ids). */
function tokenBytes(ids: ArrayLike<number>, o: AnchorStreamOptions): number[] | null {
  const specials = new Set(o.specialIds);
  const out: number[] = [];
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k] as number;
    if (specials.has(id)) {
      out.push(0);
      continue;
    }
    const piece = o.idToPiece(id);
    if (piece === undefined) return null;
    out.push(BYTE_PIECE.test(piece) ? 1 : utf8.encode(piece.replace(/\u2581/g, " ")).length);
  }
  return out;
}

/** Token indices after which a sentence ends, or null when pieces and text do not line up. */
function sentenceEndTokens(doc: ArrayLike<number>, o: AnchorStreamOptions): number[] | null {
  const bytes = tokenBytes(doc, o);
  if (!bytes) return null;
  const text = o.decode(Array.from(doc));
  const textBytes = utf8.encode(text).length;
  const total = bytes.reduce((a, b) => a + b, 0);
  // SentencePiece decoding drops the space the encoder put before the first word
  const shift = total - textBytes;
  if (shift !== 0 && shift !== 1) return null;
  const ends: number[] = [];
  let at = 0; // byte offset in the text of the end of the current sentence
  let k = 0;
  let cum = -shift; // text bytes covered by tokens 0..k-1
  const sentences = o.splitSentences(text);
  for (let s = 0; s < sentences.length; s++) {
    at += utf8.encode(sentences[s] as string).length;
    while (k < doc.length && cum + (bytes[k] as number) <= at) cum += bytes[k++] as number;
    // the sentence ends after token k - 1, or inside token k (then the anchor follows token k)
    const last = cum === at ? k - 1 : Math.min(k, doc.length - 1);
    if (last >= 0 && ends[ends.length - 1] !== last) ends.push(last);
  }
  return ends;
}

/** Derives the stream with the anchor after every sentence of every document of `ids`. */
export function deriveAnchorStream(ids: ArrayLike<number>, o: AnchorStreamOptions): AnchorStream {
  const outIds: number[] = [];
  const targets: number[] = [];
  let documents = 0;
  let inserted = 0;
  let unaligned = 0;
  const n = ids.length;
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && ids[end] !== o.bosId) end++;
    const doc = Array.prototype.slice.call(ids, start, end) as number[];
    documents++;
    const ends = sentenceEndTokens(doc, o);
    if (ends === null) unaligned++;
    const after = new Set(ends ?? []);
    for (let k = 0; k < doc.length; k++) {
      outIds.push(doc[k] as number);
      targets.push(1);
      if (after.has(k)) {
        outIds.push(o.anchorId);
        targets.push(0);
        inserted++;
      }
    }
    start = end;
  }
  return {
    ids: Int32Array.from(outIds),
    targets: Uint8Array.from(targets),
    documents,
    inserted,
    unaligned,
  };
}
