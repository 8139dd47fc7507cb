// A user's Hugging Face tokenizer.json (+ tokenizer_config.json) through @huggingface/tokenizers;
// the path AnLLM-AC checkpoints need, since only their tokenizer.json knows the added <AC>.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { TokenizerError } from "./errors";
import type { EncodeOptions, Tokenizer, TokenizerSpec } from "./tokenizer";

const PROBE = "\n";

function tokenName(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") {
    return (v as { content: string }).content;
  }
  return undefined;
}

class JsonTokenizer implements Tokenizer {
  readonly name = "tokenizer-json";
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number | undefined;
  private readonly hf: HfTokenizer;
  private readonly probeIds: number[];
  private readonly specials: Set<number>;
  constructor(
    private readonly json: string,
    private readonly config: string | undefined,
  ) {
    let cfg: Record<string, unknown>;
    try {
      cfg = config ? JSON.parse(config) : {};
      this.hf = new HfTokenizer(JSON.parse(json), cfg);
    } catch (err) {
      throw new TokenizerError(
        `cannot build tokenizer from tokenizer.json: ${(err as Error).message}`,
      );
    }
    const vocab = this.hf.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const id = (name: string | undefined) =>
      name === undefined ? undefined : this.hf.token_to_id(name);
    const bos = id(tokenName(cfg.bos_token) ?? "<s>");
    const eos = id(tokenName(cfg.eos_token) ?? "</s>");
    if (bos === undefined || eos === undefined) {
      throw new TokenizerError(
        "tokenizer.json: cannot find the BOS/EOS tokens (set bos_token/eos_token)",
      );
    }
    this.bosId = bos;
    this.eosId = eos;
    this.padId = id(tokenName(cfg.pad_token));
    this.specials = new Set(this.hf.get_added_tokens_decoder().keys());
    this.probeIds = this.raw(PROBE);
  }
  private raw(text: string): number[] {
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = this.raw(text);
    if (opts.bos ?? true) ids.unshift(this.bosId);
    if (opts.eos) ids.push(this.eosId);
    return ids;
  }
  encodeContinuation(text: string): number[] {
    if (text === "") return [];
    const ids = this.raw(PROBE + text);
    const p = this.probeIds;
    if (ids.length >= p.length && p.every((v, i) => ids[i] === v)) return ids.slice(p.length);
    return this.raw(text);
  }
  decode(ids: ArrayLike<number>): string {
    return this.hf.decode(
      Array.from(ids).filter((i) => !this.specials.has(i)),
      {
        skip_special_tokens: true,
      },
    );
  }
  idToPiece(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
  tokenToId(piece: string): number | undefined {
    return this.hf.token_to_id(piece);
  }
  spec(): TokenizerSpec {
    return this.config === undefined
      ? { kind: "tokenizer-json", json: this.json }
      : { kind: "tokenizer-json", json: this.json, config: this.config };
  }
}

/** Builds a tokenizer from tokenizer.json text (and optional tokenizer_config.json text). */
export function tokenizerFromJson(json: string, config?: string): Tokenizer {
  return new JsonTokenizer(json, config);
}

/**
 * Loads a tokenizer.json file; a tokenizer_config.json beside it is used for the BOS/EOS/PAD
 * names. Added tokens (e.g. `<AC>`) keep the ids the file gives them.
 */
export function loadTokenizerJson(path: string): Tokenizer {
  if (!existsSync(path)) throw new TokenizerError(`${path}: no such tokenizer.json`);
  const cfgPath = join(dirname(path), "tokenizer_config.json");
  const config = existsSync(cfgPath) ? readFileSync(cfgPath, "utf8") : undefined;
  return tokenizerFromJson(readFileSync(path, "utf8"), config);
}
