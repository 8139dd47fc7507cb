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
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Pick the next token from `logits` [vocabSize].
 * @param rand uniform [0, 1) source (seededRng)
 */
export function sampleToken(
  logits: ArrayLike<number>,
  opts: SampleOptions,
  rand: () => number,
): number {
  const temp = opts.temperature ?? 0;
  if (!(temp > 0)) return argmax(logits);
  const n = logits.length;
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  if (opts.topK && opts.topK > 0 && opts.topK < n) order = order.slice(0, opts.topK);
  const maxL = logits[order[0]];
  let probs = order.map((i) => Math.exp((logits[i] - maxL) / temp));
  let total = probs.reduce((a, b) => a + b, 0);
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    let cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      acc += probs[i] / total;
      if (acc >= topP) {
        cut = i + 1;
        break;
      }
    }
    order = order.slice(0, cut);
    probs = probs.slice(0, cut);
    total = probs.reduce((a, b) => a + b, 0);
  }
  let r = rand() * total;
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i];
    if (r < 0) return order[i];
  }
  return order[order.length - 1];
}
