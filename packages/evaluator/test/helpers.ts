// Test helpers: a character tokenizer (one id per ASCII code point, "<AC>" as a special token) whose
// encodings can be written down by hand.
import { join } from "node:path";
import type { TextTokenizer } from "../src/token-file";

/** Id of the "<AC>" special token in {@link charTokenizer}. */
export const AC_ID = 255;

/** One id per ASCII character; "<AC>" -> 255; BOS 1, EOS 2. */
export const charTokenizer: TextTokenizer = {
  bosId: 1,
  eosId: 2,
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [i, piece] of text.split("<AC>").entries()) {
      if (i > 0) ids.push(AC_ID);
      for (const ch of piece) {
        const c = ch.codePointAt(0)!;
        if (c >= 128) throw new Error(`charTokenizer: non-ASCII ${ch}`);
        ids.push(c);
      }
    }
    return ids;
  },
};

/** Path of a test fixture. */
export const fx = (p: string) => join(import.meta.dirname, "fixtures", p);

/** Int32Array shorthand. */
export const ids = (...xs: number[]) => Int32Array.from(xs);
