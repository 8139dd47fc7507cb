// Tokenizer selection for the CLI: "bytes" (259-id byte tokenizer of the tiny/demo models),
// "llama2" (the embedded Llama-2 SentencePiece vocabulary) or a path to a tokenizer.json; and the
// anchor configuration for --anchor none|ep|ac (AC adds [PAD]/<AC> tokens after the vocabulary).

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type AnchorConfig,
  byteTokenizer,
  llama2Tokenizer,
  loadTokenizerJson,
  type ResolvedAnchors,
  resolveAnchors,
  type Tokenizer,
  withAnchorToken,
} from "@anllm/redpajama-loader";
import { UsageError } from "../errors";

/** Anchor strategies of the CLI. */
export type AnchorMode = "none" | "ep" | "ac";
export const ANCHOR_MODES: readonly AnchorMode[] = ["none", "ep", "ac"];

/** Loads the base tokenizer named by --tokenizer (a model folder with tokenizer.json also works). */
export function loadTokenizer(command: string, spec: string): Tokenizer {
  if (spec === "bytes") return byteTokenizer();
  if (spec === "llama2") return llama2Tokenizer();
  const file =
    existsSync(spec) && statSync(spec).isDirectory() ? join(spec, "tokenizer.json") : spec;
  if (!existsSync(file)) {
    throw new UsageError(
      command,
      `--tokenizer expects "bytes", "llama2" or a tokenizer.json path, got "${spec}" (no such file)`,
    );
  }
  if (!statSync(file).isFile()) {
    throw new UsageError(command, `--tokenizer ${file} is not a regular file (a FIFO or device?)`);
  }
  return loadTokenizerJson(file);
}

/** The tokenizer (with <AC> added for AC) and the resolved anchors of `mode`. */
export function anchorSetup(
  base: Tokenizer,
  mode: AnchorMode,
  epPieces?: string[],
  epIds?: number[],
): { tokenizer: Tokenizer; anchors: ResolvedAnchors } {
  const tokenizer = mode === "ac" ? withAnchorToken(base) : base;
  const cfg: AnchorConfig =
    mode === "none"
      ? { mode: "none" }
      : mode === "ep"
        ? { mode: "ep", ...(epIds ? { ids: epIds } : { pieces: epPieces ?? ["."] }) }
        : { mode: "ac" };
  return { tokenizer, anchors: resolveAnchors(tokenizer, cfg) };
}
