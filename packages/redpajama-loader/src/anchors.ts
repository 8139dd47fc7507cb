// Anchors (apps/docs/guide/method.md): EP flags tokens whose id is an anchor id (default the "."
// piece); AC splits sentences and inserts the <AC> token after each sentence (or only between
// sentences).
import { epStrategy, markAnchors } from "@anllm/anchor-mask";
import { TokenizerError } from "./errors";
import { type SplitOptions, splitSentences } from "./sentences";
import type { Tokenizer } from "./tokenizer";

/** How anchors are chosen. */
export type AnchorConfig =
  | { mode: "none" }
  /** EP: anchors are tokens with these ids, or these pieces (default ["."], Llama-2 id 29889). */
  | { mode: "ep"; ids?: number[]; pieces?: string[] }
  /**
   * AC: an anchor token (default "<AC>", must be known to the tokenizer: see withAnchorToken)
   * after every sentence ("after", default) or only between sentences ("between", as the
   * released reference code joins sentences with " <AC> ").
   */
  | {
      mode: "ac";
      token?: string;
      placement?: "after" | "between";
      lineBreaks?: SplitOptions["lineBreaks"];
    };

/** Anchor settings with ids resolved from a tokenizer (plain JSON, sent to workers). */
export interface ResolvedAnchors {
  mode: "none" | "ep" | "ac";
  /** Ids flagged as anchors (EP: the anchor ids; AC: the single AC id). */
  ids: number[];
  placement: "after" | "between";
  lineBreaks: "space" | "break";
}

/** Resolves anchor ids from the tokenizer; throws {@link TokenizerError} for unknown pieces. */
export function resolveAnchors(tokenizer: Tokenizer, cfg: AnchorConfig): ResolvedAnchors {
  const base = { placement: "after" as const, lineBreaks: "space" as const };
  if (cfg.mode === "none") return { ...base, mode: "none", ids: [] };
  if (cfg.mode === "ep") {
    const ids = cfg.ids ?? (cfg.pieces ?? ["."]).map((p) => pieceId(tokenizer, p));
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize) {
        throw new TokenizerError(
          `EP anchor id ${id} is outside the vocabulary (${tokenizer.vocabSize})`,
        );
      }
    }
    return { ...base, mode: "ep", ids };
  }
  const token = cfg.token ?? "<AC>";
  const id = tokenizer.tokenToId(token);
  if (id === undefined) {
    throw new TokenizerError(
      `tokenizer ${tokenizer.name} has no "${token}" token; wrap it with withAnchorToken()`,
    );
  }
  return {
    mode: "ac",
    ids: [id],
    placement: cfg.placement ?? "after",
    lineBreaks: cfg.lineBreaks ?? "space",
  };
}

function pieceId(tokenizer: Tokenizer, piece: string): number {
  const id = tokenizer.tokenToId(piece);
  if (id === undefined)
    throw new TokenizerError(`tokenizer ${tokenizer.name} has no piece "${piece}"`);
  return id;
}

/** One tokenised document. */
export interface EncodedDoc {
  /** [seqLen] token ids. */
  ids: Int32Array;
  /** [seqLen] 1 where the token is an anchor. */
  anchors: Uint8Array;
}

/** Options of {@link encodeDocument}. */
export interface DocEncodeOptions {
  bos?: boolean;
  eos?: boolean;
}

/**
 * Tokenises one document and flags its anchors. AC: sentences are encoded one after another
 * (the first with the dummy prefix, the rest as continuations) with the anchor id after each.
 */
export function encodeDocument(
  text: string,
  tokenizer: Tokenizer,
  anchors: ResolvedAnchors,
  opts: DocEncodeOptions = {},
): EncodedDoc {
  const bos = opts.bos ?? true;
  const eos = opts.eos ?? false;
  if (anchors.mode !== "ac") {
    const ids = Int32Array.from(tokenizer.encode(text, { bos, eos }));
    const flags =
      anchors.ids.length === 0
        ? new Uint8Array(ids.length)
        : markAnchors(ids, epStrategy(anchors.ids));
    return { ids, anchors: flags };
  }
  const ac = anchors.ids[0]!;
  const sentences = splitSentences(text, { lineBreaks: anchors.lineBreaks });
  const out: number[] = [];
  const flags: number[] = [];
  const push = (ids: number[]) => {
    for (const id of ids) {
      out.push(id);
      flags.push(0);
    }
  };
  sentences.forEach((s, i) => {
    push(i === 0 ? tokenizer.encode(s, { bos }) : tokenizer.encodeContinuation(s));
    if (anchors.placement === "after" || i < sentences.length - 1) {
      out.push(ac);
      flags.push(1);
    }
  });
  if (eos) push([tokenizer.eosId]);
  return { ids: Int32Array.from(out), anchors: Uint8Array.from(flags) };
}
