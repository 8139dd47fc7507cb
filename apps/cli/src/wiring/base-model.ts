// The pre-trained base model shipped with the CLI (apps/cli/models/base-small: a Llama-2-architecture
// byte-level model trained with full attention by scripts/build-base-model.sh), its provenance file,
// and the held-out perplexity protocol the provenance records and the tests check again.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  evaluatePerplexity,
  LlamaScorer,
  type PerplexityOptions,
  type PerplexityResult,
} from "@anllm/evaluator";
import { defaultDatasetPath, resolveAnchors } from "@anllm/redpajama-loader";
import { documentTokens } from "./heldout";
import type { LoadedModel } from "./model";

/** Folder name of the shipped base under apps/cli/models/. */
export const BASE_MODEL_NAME = "base-small";

/**
 * The shipped base model's folder. Found by walking up from this file (src/wiring/ in development,
 * dist/ when built) to the CLI package root, which holds models/.
 */
export function shippedBaseDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    const candidate = join(dir, "models", BASE_MODEL_NAME);
    if (existsSync(join(candidate, "config.json"))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    `the shipped base model (models/${BASE_MODEL_NAME}/config.json) is missing from the @anllm/cli package; ` +
      "rebuild it with `bash scripts/build-base-model.sh`",
  );
}

/** The prompt of the sample recorded in provenance.json (the corpus is mostly the King James Bible). */
export const BASE_SAMPLE_PROMPT = "And it came to pass in those days, that";

/** How held-out perplexity is measured for the base (recorded in provenance.json). */
export interface HeldoutProtocol {
  /** context lengths L (tokens) */
  lengths: number[];
  /** distance between window starts */
  stride: number;
  /** windows scored per length (the first ones) */
  maxWindows: number;
}

/** The protocol of the shipped base's recorded perplexity and of the demo's comparison. */
export const HELDOUT_PROTOCOL: HeldoutProtocol = {
  lengths: [64, 128, 256],
  stride: 128,
  maxWindows: 24,
};

/** Tokens of held-out text enough for every window of `p` (plus the dropped last one). */
export function tokenBudget(p: HeldoutProtocol): number {
  return p.maxWindows * p.stride + Math.max(...p.lengths) + 2 * p.stride;
}

/**
 * The held-out split as plain text tokens (BOS per document, no anchor tokens inserted), enough
 * for `p`: the stream every model is scored on with full attention, so that base and AnLLM are
 * compared on identical windows.
 */
export async function plainHeldoutTokens(l: LoadedModel, p: HeldoutProtocol): Promise<Int32Array> {
  const none = resolveAnchors(l.tokenizer, { mode: "none" });
  return (await documentTokens(defaultDatasetPath("heldout"), l.tokenizer, none, tokenBudget(p)))
    .ids;
}

/** Perplexity of `l` on `ids` with protocol `p` (full attention unless `extra` says otherwise). */
export async function protocolPerplexity(
  l: LoadedModel,
  ids: Int32Array,
  p: HeldoutProtocol,
  extra: Pick<PerplexityOptions, "attention" | "anchorIds" | "targets"> = { attention: "causal" },
): Promise<PerplexityResult[]> {
  const scorer = new LlamaScorer(l.model, { maxLength: Math.max(...p.lengths) });
  return evaluatePerplexity(scorer, ids, {
    lengths: p.lengths,
    stride: p.stride,
    maxWindows: p.maxWindows,
    ...extra,
  });
}

/** Full-attention perplexity of `l` on the held-out split at every length of `p`. */
export async function heldoutFullPerplexity(
  l: LoadedModel,
  p: HeldoutProtocol = HELDOUT_PROTOCOL,
): Promise<PerplexityResult[]> {
  return protocolPerplexity(l, await plainHeldoutTokens(l, p), p);
}

/** provenance.json next to the shipped weights (fields the CLI and the tests read). */
export interface BaseProvenance {
  /** the `anllm train` command that trained it */
  command: string;
  /** the script that rebuilds the folder (training, packaging, this file) */
  rebuild: string;
  seed: number;
  commit: string;
  heldout: {
    protocol: HeldoutProtocol;
    results: Array<{ length: number; ppl: number; windows: number }>;
  };
  [key: string]: unknown;
}

/** A base folder's provenance.json (the shipped base has one; another folder may not: null). */
export function readBaseProvenance(dir: string = shippedBaseDir()): BaseProvenance | null {
  const path = join(dir, "provenance.json");
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, "utf8")) as BaseProvenance;
}
