// The files Hugging Face's AutoTokenizer.from_pretrained reads (tokenizer.json with the added
// tokens, tokenizer_config.json, special_tokens_map.json, added_tokens.json) for a tokenizer of
// this package, so that a saved AnLLM-AC folder opens in transformers with its <AC> and [PAD].
import { llama2TokenizerJson } from "./llama2-tokenizer";
import type { Tokenizer, TokenizerSpec } from "./tokenizer";

/** The base spec under any added tokens, and the added tokens in id order. */
function unwrap(spec: TokenizerSpec): { base: TokenizerSpec; added: string[] } {
  if (spec.kind !== "added") return { base: spec, added: [] };
  const inner = unwrap(spec.base);
  return { base: inner.base, added: [...inner.added, ...spec.tokens] };
}

/**
 * HF tokenizer files of `tokenizer` (file name -> text), or null when it has no HF form (the byte
 * tokenizer of the test models). Llama-2 is written in the meta-llama layout; a user's
 * tokenizer.json is kept as given with the added tokens appended.
 */
export function hfTokenizerFiles(
  tokenizer: Tokenizer,
  opts: { modelMaxLength: number },
): Record<string, string> | null {
  const { base, added } = unwrap(tokenizer.spec());
  let json: Record<string, unknown>;
  let config: Record<string, unknown> = {};
  if (base.kind === "llama2") {
    json = llama2TokenizerJson();
    config = { tokenizer_class: "LlamaTokenizerFast", legacy: true };
  } else if (base.kind === "tokenizer-json") {
    json = JSON.parse(base.json) as Record<string, unknown>;
    config = base.config ? (JSON.parse(base.config) as Record<string, unknown>) : {};
  } else return null;
  // added tokens: the ids the anchor logic gave them, special (never split, kept by decode)
  const addedJson = (json.added_tokens as { id: number; content: string }[] | undefined) ?? [];
  const newTokens: Record<string, number> = {};
  for (const t of added) {
    const id = tokenizer.tokenToId(t) as number;
    if (addedJson.some((a) => a.content === t)) continue;
    newTokens[t] = id;
    addedJson.push({
      id,
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    } as { id: number; content: string });
  }
  json.added_tokens = addedJson;
  const piece = (id: number | undefined) =>
    id === undefined ? undefined : tokenizer.idToPiece(id);
  const specials = {
    bos_token: piece(tokenizer.bosId),
    eos_token: piece(tokenizer.eosId),
    unk_token: base.kind === "llama2" ? "<unk>" : (config.unk_token as string | undefined),
    ...(tokenizer.padId !== undefined ? { pad_token: piece(tokenizer.padId) } : {}),
    ...(tokenizer.tokenToId("<AC>") !== undefined ? { additional_special_tokens: ["<AC>"] } : {}),
  };
  const tokenizerConfig = {
    ...config,
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: opts.modelMaxLength,
    ...specials,
    added_tokens_decoder: Object.fromEntries(
      addedJson.map(({ id, ...rest }) => [String(id), rest]),
    ),
  };
  const text = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return {
    "tokenizer.json": `${JSON.stringify(json)}\n`,
    "tokenizer_config.json": text(tokenizerConfig),
    "special_tokens_map.json": text(specials),
    "added_tokens.json": text(newTokens),
  };
}
