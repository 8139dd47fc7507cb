// Next-token selection from one row of logits: greedy, temperature, top-k, top-p (nucleus), drawing
// from @anllm/tensor's seeded generator so generation is reproducible.
import type { SeededRandom } from "@anllm/tensor";

/** Sampling options; temperature 0 / undefined = greedy (argmax). */
export interface SampleOptions {
  temperature?: number;
  /** keep only the k most likely tokens (0 / undefined = all) */
  topK?: number;
  /** keep the smallest set of most likely tokens whose probability reaches p (1 = all) */
  topP?: number;
}

/** Index of the largest value (first on ties). */
function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if ((x[i] as number) > (x[best] as number)) best = i;
  return best;
}

/**
 * Pick the next token from `logits` [vocabSize].
 * @param rng uniform [0, 1) source (`seededRandom(seed)` of @anllm/tensor); unused when greedy
 */
export function sampleToken(
  logitsIn: ArrayLike<number>,
  opts: SampleOptions,
  rng: Pick<SeededRandom, "next">,
): number {
  const temp = opts.temperature ?? 0;
  if (!(temp > 0)) return argmax(logitsIn);
  // candidates sorted by logit, descending; then top-k, softmax with temperature, top-p
  let cand = Array.from(logitsIn, (logit, id) => ({ id, logit, p: 0 }));
  cand.sort((x, y) => y.logit - x.logit);
  if (opts.topK && opts.topK > 0 && opts.topK < cand.length) cand = cand.slice(0, opts.topK);
  const maxL = cand[0]?.logit ?? 0;
  let total = 0;
  for (const c of cand) {
    c.p = Math.exp((c.logit - maxL) / temp);
    total += c.p;
  }
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    let cut = cand.length;
    for (const [i, c] of cand.entries()) {
      acc += c.p / total;
      if (acc >= topP) {
        cut = i + 1;
        break;
      }
    }
    cand = cand.slice(0, cut);
    total = cand.reduce((x, c) => x + c.p, 0);
  }
  let r = rng.next() * total;
  for (const c of cand) {
    r -= c.p;
    if (r < 0) return c.id;
  }
  return cand[cand.length - 1]?.id ?? 0;
}
