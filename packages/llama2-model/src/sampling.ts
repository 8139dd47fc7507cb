// Next-token selection from one row of logits: greedy, temperature, top-k, top-p (nucleus),
// with a seeded PRNG (splitmix32) so generation is reproducible.

/** A seeded uniform [0, 1) generator (splitmix32). */
export function seededRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** Sampling options; temperature 0 / undefined = greedy (argmax). */
export interface SampleOptions {
  temperature?: number;
  /** keep only the k most likely tokens (0 / undefined = all) */
  topK?: number;
  /** keep the smallest set of most likely tokens whose probability reaches p (1 = all) */
  topP?: number;
}

/** Index of the largest value (first on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if ((x[i] as number) > (x[best] as number)) best = i;
  return best;
}

/**
 * Pick the next token from `logits` [vocabSize].
 * @param rand uniform [0, 1) source (seededRng)
 */
export function sampleToken(
  logitsIn: ArrayLike<number>,
  opts: SampleOptions,
  rand: () => number,
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
  let r = rand() * total;
  for (const c of cand) {
    r -= c.p;
    if (r < 0) return c.id;
  }
  return cand[cand.length - 1]?.id ?? 0;
}
