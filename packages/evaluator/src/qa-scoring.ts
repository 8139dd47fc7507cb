// Scores token requests with a Scorer, either from scratch (one forward per request, batched) or
// through the cached path (prefill each distinct context once, then every continuation against it).
import { ScorerContractError } from "./errors";
import type { TokenRequest } from "./qa-prompts";
import {
  type AttentionKind,
  type CachePolicy,
  type CacheUsage,
  type Scorer,
  tailSum,
} from "./scorer";

/** Score of one request. */
export interface RequestScore {
  /** Sum of the continuation's token log-probs. */
  ll: number;
  /** Every continuation token is the argmax. */
  greedy: boolean;
  usage?: CacheUsage;
}

/** From-scratch scoring: sequence = context + continuation, batched `batchSize` per call. */
export async function scoreRecompute(
  scorer: Scorer,
  reqs: readonly TokenRequest[],
  attention: AttentionKind,
  anchorIds: readonly number[],
  batchSize = 1,
): Promise<RequestScore[]> {
  const out: RequestScore[] = [];
  for (let b = 0; b < reqs.length; b += batchSize) {
    const batch = reqs.slice(b, b + batchSize);
    const seqs = batch.map((r) => {
      const s = new Int32Array(r.context.length + r.continuation.length);
      s.set(r.context);
      s.set(r.continuation, r.context.length);
      return s;
    });
    const res = await scorer.scoreSequences(seqs, { attention, anchorIds });
    if (res.length !== seqs.length) {
      throw new ScorerContractError(
        `scoreSequences returned ${res.length} results for ${seqs.length}`,
      );
    }
    res.forEach((r, k) => {
      if (r.logprobs.length !== seqs[k]!.length - 1) {
        throw new ScorerContractError(
          `sequence of ${seqs[k]!.length} tokens got ${r.logprobs.length} scores`,
        );
      }
      out.push(tailSum(r, batch[k]!.continuation.length));
    });
  }
  return out;
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Cached scoring: requests with identical contexts share one prefill (e.g. all choices of an MC doc). */
export async function scoreCached(
  scorer: Scorer,
  reqs: readonly TokenRequest[],
  policy: CachePolicy,
  anchorIds: readonly number[],
  chunkSize?: number,
  separatorIds?: readonly number[],
): Promise<RequestScore[]> {
  const out: RequestScore[] = new Array(reqs.length);
  const done = new Uint8Array(reqs.length);
  for (let i = 0; i < reqs.length; i++) {
    if (done[i]) continue;
    const group = [i];
    for (let j = i + 1; j < reqs.length; j++) {
      if (!done[j] && sameIds(reqs[j]!.context, reqs[i]!.context)) group.push(j);
    }
    const conts = group.map((g) => reqs[g]!.continuation);
    const res = await scorer.scoreContinuations(reqs[i]!.context, conts, {
      policy,
      anchorIds,
      chunkSize,
      ...(separatorIds ? { separatorIds } : {}),
    });
    if (res.continuations.length !== conts.length || res.usage.length !== conts.length) {
      throw new ScorerContractError(
        `scoreContinuations returned ${res.continuations.length} results for ${conts.length}`,
      );
    }
    group.forEach((g, k) => {
      const r = res.continuations[k]!;
      if (r.logprobs.length !== conts[k]!.length) {
        throw new ScorerContractError(
          `continuation of ${conts[k]!.length} tokens got ${r.logprobs.length} scores`,
        );
      }
      out[g] = { ...tailSum(r, r.logprobs.length), usage: res.usage[k]! };
      done[g] = 1;
    });
  }
  return out;
}
