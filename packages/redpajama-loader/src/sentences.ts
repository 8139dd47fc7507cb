// Sentence splitting for AnLLM-AC with cldr-segmentation: Unicode UAX #29 sentence breaks plus
// CLDR's English abbreviation suppressions (Dr., Mr., e.g., …), which Intl.Segmenter ignores.
import { cldrSentences } from "./sentence-breaks";

/** Options of {@link splitSentences}. */
export interface SplitOptions {
  /**
   * "space" (default, Punkt-like): a single line break inside a paragraph does not end a sentence
   * (hard-wrapped books, LaTeX); a blank line still does. "break": every line break ends one (UAX #29).
   */
  lineBreaks?: "space" | "break";
}

/** cldr segments of `text`; with "space", lone "\n" are seen as spaces (same length, same offsets). */
function segment(text: string, lineBreaks: "space" | "break"): string[] {
  if (lineBreaks === "break" || !text.includes("\n")) return cldrSentences(text);
  const probe = text.replace(/(?<![\n\r])\r?\n(?![\r\n])/g, (m) => " ".repeat(m.length));
  const out: string[] = [];
  let pos = 0;
  for (const seg of cldrSentences(probe)) {
    out.push(text.slice(pos, pos + seg.length));
    pos += seg.length;
  }
  return out;
}

/**
 * Splits a text into sentences. The pieces concatenate back to `text` exactly; the whitespace
 * between two sentences is moved to the front of the later one, so each piece after the first
 * can be encoded as a continuation and an anchor placed right after each sentence's last
 * character. Whitespace-only pieces are merged into their neighbours.
 */
export function splitSentences(text: string, opts: SplitOptions = {}): string[] {
  const raw = segment(text, opts.lineBreaks ?? "space");
  const out: string[] = [];
  let carry = "";
  for (const seg of raw) {
    const body = seg.trimEnd();
    const tail = seg.slice(body.length);
    if (body.trim() === "") {
      carry += seg;
      continue;
    }
    out.push(carry + body);
    carry = tail;
  }
  if (carry !== "") {
    if (out.length === 0) out.push(carry);
    else out[out.length - 1] += carry;
  }
  return out;
}
