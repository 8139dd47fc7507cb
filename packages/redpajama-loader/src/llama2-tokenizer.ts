// The built-in Llama-2 SentencePiece tokenizer (32,000 pieces) via llama-tokenizer-js, which
// embeds the exact vocab and merges; checked against Llama-2 test vectors (test/tokenizer.test.ts).
import llamaTokenizer from "llama-tokenizer-js";
import type { EncodeOptions, Tokenizer, TokenizerSpec } from "./tokenizer";
import { bpeModelEntry, specialTokenEntry } from "./tokenizer-json";

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

/**
 * The Llama-2 tokenizer in Hugging Face's tokenizer.json form (the layout of the meta-llama
 * checkpoints: BPE over "▁"-pieces with byte fallback, "▁" prepended and spaces replaced, BOS
 * added by the post-processor), built from the same vocabulary and merges this tokenizer uses.
 * `added` lists tokens appended after id 31999 (e.g. [PAD], <AC>), all special.
 */
export function llama2TokenizerJson(added: readonly string[] = []): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  llamaTokenizer.vocabById.forEach((piece: string, id: number) => {
    vocab[piece] = id;
  });
  // the package keys its merges "piece piece" in priority order, as tokenizer.json lists them
  const merges = [...(llamaTokenizer.merges as Map<string, number>).keys()];
  const n = llamaTokenizer.vocabById.length;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      specialTokenEntry(0, "<unk>"),
      specialTokenEntry(BOS, "<s>"),
      specialTokenEntry(EOS, "</s>"),
      ...added.map((t, i) => specialTokenEntry(n + i, t)),
    ],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [BOS], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: bpeModelEntry(vocab, merges, { fuseUnk: true, byteFallback: true }),
  };
}
