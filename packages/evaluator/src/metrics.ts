// Cache reduction C and speed-up T as apps/docs/guide/method.md defines them:
// C = 1 - kept/full per sample (kept = peak cache entries, full = all tokens), averaged;
// T = time(baseline) / time(anchor).
import type { CacheUsage } from "./scorer";

/** Cache reduction over a set of samples. */
export interface CacheReduction {
  /** mean over samples of 1 - peakEntries / fullEntries */
  C: number;
  /** mean over samples of 1 - peakBytes / fullBytes */
  Cbytes: number;
  meanPeakEntries: number;
  meanFullEntries: number;
  meanPeakBytes: number;
  meanFullBytes: number;
  samples: number;
}

/** A sample's usage is the worst (largest peak) of its runs, e.g. the choices of one QA document. */
export function summarizeUsage(perSample: readonly (readonly CacheUsage[])[]): CacheReduction {
  let c = 0;
  let cb = 0;
  let pe = 0;
  let fe = 0;
  let pb = 0;
  let fb = 0;
  for (const runs of perSample) {
    const peak = Math.max(...runs.map((u) => u.peakEntries));
    const full = Math.max(...runs.map((u) => u.fullEntries));
    const peakB = Math.max(...runs.map((u) => u.peakBytes));
    const fullB = Math.max(...runs.map((u) => u.fullBytes));
    c += 1 - peak / full;
    cb += fullB > 0 ? 1 - peakB / fullB : 0;
    pe += peak;
    fe += full;
    pb += peakB;
    fb += fullB;
  }
  const n = perSample.length;
  return {
    C: c / n,
    Cbytes: cb / n,
    meanPeakEntries: pe / n,
    meanFullEntries: fe / n,
    meanPeakBytes: pb / n,
    meanFullBytes: fb / n,
    samples: n,
  };
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
