// Rebuilds a tokenizer from its serialisable spec (used by worker threads and saved configs).
import { byteTokenizer } from "./byte-tokenizer";
import { TokenizerError } from "./errors";
import { tokenizerFromJson } from "./hf-tokenizer";
import { llama2Tokenizer } from "./llama2-tokenizer";
import { type Tokenizer, type TokenizerSpec, withAddedTokens } from "./tokenizer";

/** Rebuilds a tokenizer from its {@link TokenizerSpec}. */
export function tokenizerFromSpec(spec: TokenizerSpec): Tokenizer {
  switch (spec.kind) {
    case "llama2":
      return llama2Tokenizer();
    case "bytes":
      return byteTokenizer();
    case "tokenizer-json":
      return tokenizerFromJson(spec.json, spec.config);
    case "added":
      return withAddedTokens(tokenizerFromSpec(spec.base), spec.tokens);
    default:
      // a spec read from a file may name anything
      throw new TokenizerError(
        `unknown tokenizer kind ${JSON.stringify((spec as { kind?: unknown } | null)?.kind)} (expected llama2, bytes, tokenizer-json or added)`,
      );
  }
}
