// Test helper: a Llama-2 tokenizer.json (the package's llama2TokenizerJson, from the embedded
// vocab and merges), optionally with [PAD] and <AC> added.
import { llama2TokenizerJson } from "../src/llama2-tokenizer";

/** tokenizer.json text; `withAc` appends [PAD]=32000 and <AC>=32001 as the AnLLM reference does. */
export function llamaTokenizerJson(withAc = false): string {
  return JSON.stringify(llama2TokenizerJson(withAc ? ["[PAD]", "<AC>"] : []));
}

/** tokenizer_config.json text of Llama-2 (plus pad_token when `withAc`). */
export function llamaTokenizerConfig(withAc = false): string {
  const cfg: Record<string, unknown> = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: "<s>",
    eos_token: "</s>",
    unk_token: "<unk>",
    legacy: true,
  };
  if (withAc) cfg.pad_token = "[PAD]";
  return JSON.stringify(cfg);
}
