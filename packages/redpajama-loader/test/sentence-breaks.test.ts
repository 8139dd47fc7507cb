// The linear-time sentence breaker equals cldr-segmentation's own sentenceSplit (English
// suppressions) exactly: random texts with surrogates, lone surrogates, NUL and abbreviations,
// and every held-out corpus document (as is and with single line breaks read as spaces).
/// <reference path="../src/types/cldr-segmentation.d.ts" />
import * as cldr from "cldr-segmentation";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultDatasetPath, readDocuments } from "../src/index";
import { cldrCodePoints, cldrSentences } from "../src/sentence-breaks";

const reference = (text: string) => cldr.sentenceSplit(text, cldr.suppressions.en);

const PIECES = [
  "a",
  "Word",
  " ",
  "  ",
  ".",
  "Dr.",
  "Mr. ",
  "e.g. ",
  "U.S.",
  "3.5",
  "?",
  "!",
  "…",
  "\n",
  "\n\n",
  "\r\n",
  "\u2029",
  "\u00a0",
  "\u3002",
  "”",
  '"',
  "(",
  ")",
  "é",
  "\u0000",
  "\ud83d\ude00",
  "\ud83c\uddeb\ud83c\uddf7",
  "\ud83d",
  "\ude00",
  "\ud800\ud800\udc00",
  "\udbff\udfff",
];

describe("cldrSentences (linear-time driver of cldr-segmentation's sentence rules)", () => {
  it("equals cldr.sentenceSplit on random texts, odd code units included", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }), (parts) => {
        const text = parts.join("");
        expect(cldrSentences(text)).toEqual(reference(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("code points follow cldr's cursor: pairs joined, stop at NUL", () => {
    expect(cldrCodePoints("a\ud83d\ude00b")).toEqual([97, 0x1f600, 98]);
    expect(cldrCodePoints("ab\u0000cd")).toEqual([97, 98]);
    expect(cldrCodePoints("")).toEqual([]);
    // cldr drops what follows a NUL; so does the linear driver.
    expect(cldrSentences("One. Two\u0000 Three.")).toEqual(reference("One. Two\u0000 Three."));
  });

  it("equals cldr.sentenceSplit on every held-out corpus document", async () => {
    let n = 0;
    for await (const d of readDocuments(defaultDatasetPath("heldout"))) {
      const spaced = d.text.replace(/(?<![\n\r])\r?\n(?![\r\n])/g, (m) => " ".repeat(m.length));
      expect(cldrSentences(d.text)).toEqual(reference(d.text));
      expect(cldrSentences(spaced)).toEqual(reference(spaced));
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });
});
