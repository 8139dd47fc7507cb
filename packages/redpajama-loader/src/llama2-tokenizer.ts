// The built-in Llama-2 SentencePiece tokenizer (32,000 pieces) via llama-tokenizer-js, which
// embeds the exact vocab and merges; checked against Llama-2 test vectors (test/tokenizer.test.ts).
import llamaTokenizer from "llama-tokenizer-js";
import type { EncodeOptions, Tokenizer, TokenizerSpec } from "./tokenizer";

const BOS = 1;
const EOS = 2;

class Llama2Tokenizer implements Tokenizer {
  readonly name = "llama2";
  readonly vocabSize = llamaTokenizer.vocabById.length;
  readonly bosId = BOS;
  readonly eosId = EOS;
  readonly padId = undefined;
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = llamaTokenizer.encode(text, opts.bos ?? true, true);
    if (opts.eos) ids.push(EOS);
    return ids;
  }
  encodeContinuation(text: string): number[] {
    if (text === "") return [];
    return llamaTokenizer.encode(text, false, false);
  }
  decode(ids: ArrayLike<number>): string {
    const kept = Array.from(ids).filter((id) => id > EOS && id < this.vocabSize);
    if (kept.length === 0) return "";
    return llamaTokenizer.decode(kept, false, true);
  }
  idToPiece(id: number): string | undefined {
    return llamaTokenizer.vocabById[id];
  }
  tokenToId(piece: string): number | undefined {
    return llamaTokenizer.vocabByString.get(piece);
  }
  spec(): TokenizerSpec {
    return { kind: "llama2" };
  }
}

let instance: Tokenizer | null = null;

/** The Llama-2 tokenizer (BOS 1, EOS 2, no padding id; "." is 29889). */
export function llama2Tokenizer(): Tokenizer {
  instance ??= new Llama2Tokenizer();
  return instance;
}
