// The small scoring interface the evaluator is written against: full forwards (no cache), a
// prefix-cached path (prefill -> reduced cache -> continuations) and generation, plus cache stats.

import type { CachePolicy as PolicySpec } from "@anllm/anchor-mask";
import { NonFiniteScoreError } from "./errors";

/** Attention used for a from-scratch forward: plain causal, or the AnLLM anchor mask (Eq. 4). */
export type AttentionKind = "causal" | "anchor";

/**
 * Cache policy of the cached path: "full" keeps everything, "anchor" drops finished segments'
 * non-anchors (AnLLM); or any of anchor-mask's policies (sink, sepllm, h2o, ... from
 * `parsePolicy("NAME[:k=v,...]")`).
 */
export type CachePolicy = "full" | "anchor" | PolicySpec;

/** Per-token scores of one sequence x[0..n): entry t is about predicting x[t+1] from x[0..t]. */
export interface TokenLogprobs {
  /** [seqLen - 1] log p(x[t+1] | x[0..t]) */
  logprobs: Float64Array;
  /** [seqLen - 1] 1 when x[t+1] is the argmax prediction at t */
  greedy: Uint8Array;
}

/** Options of a from-scratch forward. */
export interface ForwardOptions {
  attention: AttentionKind;
  /** Token ids that are anchors (used when attention is "anchor"). */
  anchorIds: readonly number[];
}

/** Cache occupancy of one cached scoring or generation run (one sequence). */
export interface CacheUsage {
  /** Largest number of K/V entries (tokens) held at any time, transient chunk rows included. */
  peakEntries: number;
  /** Mean entries held after each chunk step (absent where the scorer does not track it). */
  meanEntries?: number;
  /** Entries a full cache would hold at the end (all tokens processed). */
  fullEntries: number;
  /** Bytes for peakEntries over all layers (K and V). */
  peakBytes: number;
  /** Bytes for fullEntries over all layers (K and V). */
  fullBytes: number;
}

/** Result of scoring several continuations against one cached prefix. */
export interface ContinuationScores {
  /** Per continuation: token log-probs and greedy flags (length = continuation length). */
  continuations: TokenLogprobs[];
  /** Per continuation: the cache occupancy of the prefix + that continuation. */
  usage: CacheUsage[];
}

/** Options of the cached path. */
export interface CachedOptions {
  policy: CachePolicy;
  anchorIds: readonly number[];
  /** Separator ids (sepllm's flags). */
  separatorIds?: readonly number[];
  /** Prefill chunk size in tokens (0 or undefined = the whole context in one chunk). */
  chunkSize?: number;
}

/** Options of a generation run. */
export interface ScorerGenerateOptions {
  maxNewTokens: number;
  /** "none" recomputes the whole sequence every step (the paper's no-cache baseline). */
  cache: CachePolicy | "none";
  anchorIds: readonly number[];
  /** Separator ids (sepllm's flags). */
  separatorIds?: readonly number[];
  chunkSize?: number;
  eosId?: number;
}

/** Result of a generation run for a batch of prompts. */
export interface GenerateResult {
  tokens: Int32Array[];
  usage: CacheUsage[];
  timeMs: number;
  /** time until the first new token (prefill); absent where the scorer does not measure it */
  prefillMs?: number;
}

/**
 * What the evaluator needs from a language model. Implemented by {@link LlamaScorer} (the real model)
 * and {@link VisibleCountScorer} (a deterministic reference model for tests).
 */
export interface Scorer {
  /** Human-readable name for reports. */
  readonly name: string;
  /** Largest number of positions one forward may take (lm-eval `max_length`). */
  readonly maxLength: number;
  /** Scores each sequence from scratch (no cache carried between sequences). Ragged batches ok. */
  scoreSequences(seqs: readonly Int32Array[], opts: ForwardOptions): Promise<TokenLogprobs[]>;
  /**
   * Prefills `context` (non-empty) into a cache under `policy`, then scores every continuation
   * against (a copy of) that cache. The first continuation token is scored from the prefill logits.
   */
  scoreContinuations(
    context: Int32Array,
    continuations: readonly Int32Array[],
    opts: CachedOptions,
  ): Promise<ContinuationScores>;
  /** Greedy generation after each prompt. */
  generate(prompts: readonly Int32Array[], opts: ScorerGenerateOptions): Promise<GenerateResult>;
  /**
   * Teacher-forced scoring of `seq` through a cache of `opts.policy`, chunk by chunk (the policy
   * applied after every chunk): entry t is log p(seq[t+1] | what the cache kept of seq[0..t]).
   */
  scoreThroughCache?(
    seq: Int32Array,
    opts: CachedOptions,
  ): Promise<{ scores: TokenLogprobs; usage: CacheUsage }>;
}

/** The per-token flags a policy reads: separators for sepllm, anchors for anchor, else none. */
export function policyFlagIds(
  policy: CachePolicy | "none",
  ids: { anchorIds: readonly number[]; separatorIds?: readonly number[] },
): readonly number[] {
  const kind = typeof policy === "string" ? policy : policy.kind;
  if (kind === "anchor") return ids.anchorIds;
  if (kind === "sepllm") return ids.separatorIds ?? [];
  return [];
}

/** Sum of log-probs of the last `n` entries (the continuation part of a from-scratch score). */
export function tailSum(scores: TokenLogprobs, n: number): { ll: number; greedy: boolean } {
  const lp = scores.logprobs;
  let ll = 0;
  let greedy = true;
  for (let t = lp.length - n; t < lp.length; t++) {
    ll += lp[t]!;
    if (!scores.greedy[t]) greedy = false;
  }
  if (Number.isNaN(ll)) {
    throw new NonFiniteScoreError(
      "a continuation's log-likelihood is NaN: the model's log-probabilities are not finite (NaN in the weights or activations); no accuracy is reported",
    );
  }
  return { ll, greedy };
}
