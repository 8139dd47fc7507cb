// The Tokenizer interface every implementation follows, a serialisable spec (so worker threads
// can rebuild the same tokenizer), and added tokens ([PAD], <AC>) appended after the base vocab.
/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend BOS (default true). */
  bos?: boolean;
  /** Append EOS (default false). */
  eos?: boolean;
}

/** A text tokenizer with ids that come from its own vocabulary (never hard-coded by callers). */
export interface Tokenizer {
  /** Human-readable name, e.g. "llama2". */
  readonly name: string;
  /** Number of ids (base vocab plus added tokens). */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Padding id when the vocabulary has one. */
  readonly padId: number | undefined;
  /** Encodes a text as the start of a document (SentencePiece: with the dummy-prefix space). */
  encode(text: string, opts?: EncodeOptions): number[];
  /** Encodes text that continues earlier text: no BOS, no dummy prefix. */
  encodeContinuation(text: string): number[];
  /** Decodes ids to text; special and added tokens are dropped. */
  decode(ids: ArrayLike<number>): string;
  /** The vocabulary piece of an id (e.g. 29889 → "."), or undefined. */
  idToPiece(id: number): string | undefined;
  /** The id of a vocabulary piece or added token (e.g. "." → 29889), or undefined. */
  tokenToId(piece: string): number | undefined;
  /** A JSON description from which {@link tokenizerFromSpec} rebuilds this tokenizer. */
  spec(): TokenizerSpec;
}

/** Serialisable tokenizer description (sent to worker threads). */
export type TokenizerSpec =
  | { kind: "llama2" }
  | { kind: "bytes" }
  | { kind: "tokenizer-json"; json: string; config?: string }
  | { kind: "added"; base: TokenizerSpec; tokens: string[] };

class AddedTokensTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  private readonly added = new Map<string, number>();
  private readonly addedById = new Map<number, string>();
  constructor(
    private readonly base: Tokenizer,
    private readonly tokens: string[],
  ) {
    let next = base.vocabSize;
    for (const t of tokens) {
      if (this.added.has(t)) continue;
      const id = base.tokenToId(t) ?? next++;
      this.added.set(t, id);
      this.addedById.set(id, t);
    }
    this.vocabSize = next;
    this.name = `${base.name}+${tokens.join("+")}`;
  }
  get bosId(): number {
    return this.base.bosId;
  }
  get eosId(): number {
    return this.base.eosId;
  }
  get padId(): number | undefined {
    return this.base.padId ?? this.added.get("[PAD]") ?? this.added.get("<pad>");
  }
  encode(text: string, opts?: EncodeOptions): number[] {
    return this.base.encode(text, opts);
  }
  encodeContinuation(text: string): number[] {
    return this.base.encodeContinuation(text);
  }
  decode(ids: ArrayLike<number>): string {
    return this.base.decode(Array.from(ids).filter((id) => !this.addedById.has(id)));
  }
  idToPiece(id: number): string | undefined {
    return this.addedById.get(id) ?? this.base.idToPiece(id);
  }
  tokenToId(piece: string): number | undefined {
    return this.added.get(piece) ?? this.base.tokenToId(piece);
  }
  spec(): TokenizerSpec {
    return { kind: "added", base: this.base.spec(), tokens: this.tokens };
  }
}

/**
 * Appends tokens after the base vocabulary, in order (a token the base already knows keeps its
 * id). Added tokens are never produced by `encode`; they are inserted by the anchor logic.
 */
export function withAddedTokens(base: Tokenizer, tokens: string[]): Tokenizer {
  return new AddedTokensTokenizer(base, tokens);
}

/**
 * Adds the AnLLM-AC anchor token as the reference does: `[PAD]` first when the tokenizer has no
 * padding id, then `<AC>` (Llama-2: [PAD] = 32000, <AC> = 32001, vocabSize 32002). A tokenizer
 * that already knows `anchor` (e.g. a fine-tuned tokenizer.json) keeps its id.
 */
export function withAnchorToken(base: Tokenizer, anchor = "<AC>", pad = "[PAD]"): Tokenizer {
  if (base.tokenToId(anchor) !== undefined && base.padId !== undefined) return base;
  const tokens = base.padId === undefined ? [pad, anchor] : [anchor];
  return withAddedTokens(base, tokens);
}
