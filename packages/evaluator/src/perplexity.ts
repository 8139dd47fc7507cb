// Perplexity with the LongLoRA protocol: windows of length L starting every `stride` tokens with
// the last start dropped, each scored from scratch, PPL = exp(mean window loss).
import { EvalConfigError, NonFiniteScoreError, ScorerContractError } from "./errors";
import type { AttentionKind, CachePolicy, Scorer, TokenLogprobs } from "./scorer";

/** The truncated e that LongLoRA's eval.py raises to the loss (2.71828), for log-comparable PPL. */
export const LONGLORA_E = 271_828 / 100_000;

/** Options of {@link evaluatePerplexity}. */
export interface PerplexityOptions {
  /** Context lengths L (default 256, 512, 1024, 2048, 4096). */
  lengths?: readonly number[];
  /** Distance between window starts (default 256). */
  stride?: number;
  /** Drop the last window start, as LongLoRA's `all_ix.pop()` (default true). */
  dropLast?: boolean;
  attention?: AttentionKind;
  anchorIds?: readonly number[];
  /** Windows per scorer call (default 1). */
  batchSize?: number;
  /** Score only the first N windows of each length (default: all). */
  maxWindows?: number;
  /**
   * "all" (default, LongLoRA): a window's loss is the mean over its L-1 predictions, PPL from the mean
   * of window losses. "last-stride" (HF-guide variant): only the last `stride` predictions of each
   * window after the first are scored, token-weighted.
   */
  scoring?: "all" | "last-stride";
  /**
   * [tokens] 1 = the prediction of this token counts, 0 = it does not (e.g. an <AC> inserted into
   * a token stream: only the original tokens are scored). Default: every token counts.
   */
  targets?: Uint8Array;
  /**
   * Perplexity through the cache: each window is scored teacher-forced through a cache of this
   * policy, `chunkSize` tokens at a time (the policy applied after every chunk), instead of one
   * masked forward (`attention` is then ignored).
   */
  policy?: CachePolicy;
  /** Separator ids (sepllm's flags). */
  separatorIds?: readonly number[];
  /** Chunk of the cached scoring (default 64). */
  chunkSize?: number;
}

/** One row of the perplexity report. */
export interface PerplexityResult {
  length: number;
  /** exp(loss) */
  ppl: number;
  /** 2.71828 ** loss, as LongLoRA's eval.py prints (comparable with its logs) */
  pplLongLoRA: number;
  /** mean window loss (nats) */
  loss: number;
  windows: number;
  attention: AttentionKind;
  /** fraction of scored predictions where the argmax equals the next token (LongLoRA val_acc) */
  tokenAccuracy: number;
  timeMs: number;
}

/** Window starts `range(0, n - L, stride)`, last one dropped when `dropLast`. */
export function windowStarts(n: number, length: number, stride: number, dropLast = true): number[] {
  if (!(length >= 2)) throw new EvalConfigError(`context length must be >= 2, got ${length}`);
  if (!(stride >= 1)) throw new EvalConfigError(`stride must be >= 1, got ${stride}`);
  const starts: number[] = [];
  for (let i = 0; i < n - length; i += stride) starts.push(i);
  if (dropLast) starts.pop();
  return starts;
}

/** Perplexity of `tokens` at every requested context length. */
export async function evaluatePerplexity(
  scorer: Scorer,
  tokens: ArrayLike<number>,
  opts: PerplexityOptions = {},
): Promise<PerplexityResult[]> {
  const lengths = opts.lengths ?? [256, 512, 1024, 2048, 4096];
  const stride = opts.stride ?? 256;
  const data = Int32Array.from(tokens);
  const results: PerplexityResult[] = [];
  for (const L of lengths) {
    if (L > scorer.maxLength) {
      throw new EvalConfigError(
        `context length ${L} exceeds the model's maximum ${scorer.maxLength}`,
      );
    }
    let starts = windowStarts(data.length, L, stride, opts.dropLast ?? true);
    if (opts.maxWindows !== undefined) starts = starts.slice(0, opts.maxWindows);
    if (starts.length === 0) {
      throw new EvalConfigError(
        `${data.length} tokens give no window of length ${L} with stride ${stride} (need > ${L + stride} tokens)`,
      );
    }
    results.push(await scoreWindows(scorer, data, L, starts, stride, opts));
  }
  return results;
}

/** Scores the windows of one length in batches and averages (see PerplexityOptions.scoring). */
async function scoreWindows(
  scorer: Scorer,
  data: Int32Array,
  L: number,
  starts: number[],
  stride: number,
  opts: PerplexityOptions,
): Promise<PerplexityResult> {
  const attention = opts.attention ?? "causal";
  const batchSize = opts.policy ? 1 : Math.max(1, opts.batchSize ?? 1);
  const t0 = performance.now();
  let lossSum = 0;
  let nllSum = 0;
  let scored = 0;
  let correct = 0;
  let windows = 0;
  const targets = opts.targets;
  for (let b = 0; b < starts.length; b += batchSize) {
    const seqs = starts.slice(b, b + batchSize).map((s) => data.subarray(s, s + L));
    const out = opts.policy
      ? await throughPolicy(scorer, seqs, opts.policy, opts)
      : await scorer.scoreSequences(seqs, { attention, anchorIds: opts.anchorIds ?? [] });
    if (out.length !== seqs.length) {
      throw new ScorerContractError(
        `scoreSequences returned ${out.length} results for ${seqs.length}`,
      );
    }
    out.forEach((r, k) => {
      if (r.logprobs.length !== L - 1) {
        throw new ScorerContractError(
          `window of ${L} tokens got ${r.logprobs.length} scores, expected ${L - 1}`,
        );
      }
      const first = opts.scoring === "last-stride" && b + k > 0 ? Math.max(0, L - 1 - stride) : 0;
      const start = starts[b + k] as number;
      let nll = 0;
      let counted = 0;
      for (let t = first; t < L - 1; t++) {
        // logprobs[t] is the prediction of token start + t + 1
        if (targets && targets[start + t + 1] === 0) continue;
        nll -= r.logprobs[t]!;
        correct += r.greedy[t]!;
        counted++;
      }
      if (counted === 0) return;
      nllSum += nll;
      scored += counted;
      lossSum += nll / counted;
      windows++;
    });
  }
  const loss = opts.scoring === "last-stride" ? nllSum / scored : lossSum / windows;
  if (!Number.isFinite(loss)) {
    throw new NonFiniteScoreError(
      `perplexity at length ${L} (${attention} attention) is ${Math.exp(loss)}: the model's log-probabilities are not finite (NaN or Infinity in the weights or activations); no number is reported`,
    );
  }
  return {
    length: L,
    ppl: Math.exp(loss),
    pplLongLoRA: LONGLORA_E ** loss,
    loss,
    windows: starts.length,
    attention,
    tokenAccuracy: correct / scored,
    timeMs: performance.now() - t0,
  };
}

/** Each window scored through a cache of `policy`, chunk by chunk (teacher-forced). */
async function throughPolicy(
  scorer: Scorer,
  seqs: Int32Array[],
  policy: CachePolicy,
  opts: PerplexityOptions,
): Promise<TokenLogprobs[]> {
  if (!scorer.scoreThroughCache)
    throw new EvalConfigError(`scorer ${scorer.name} cannot score through a cache`);
  const out: TokenLogprobs[] = [];
  for (const seq of seqs) {
    const r = await scorer.scoreThroughCache(seq, {
      policy,
      anchorIds: opts.anchorIds ?? [],
      separatorIds: opts.separatorIds ?? [],
      chunkSize: opts.chunkSize ?? 64,
    });
    out.push(r.scores);
  }
  return out;
}
