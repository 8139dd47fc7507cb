// Speed-up T of anchor-cache QA scoring against two baselines timed in the same run on the same
// requests: no cache (each request recomputed from scratch, full attention) and a full cache.
import type { TokenRequest } from "./qa-prompts";
import { scoreCached, scoreRecompute } from "./qa-scoring";
import type { Scorer } from "./scorer";

/** Wall times (ms) and speed-ups of one task. */
export interface QaSpeedReport {
  /** Documents the three timings cover. */
  docs: number;
  anchorCacheMs: number;
  noCacheMs: number;
  fullCacheMs: number;
  /** noCacheMs / anchorCacheMs */
  tNoCache: number;
  /** fullCacheMs / anchorCacheMs */
  tFullCache: number;
}

/**
 * Times both baselines over all documents (after one untimed warm-up document per mode) and relates
 * them to the anchor-cache time measured by the caller (also after warm-up of the first document).
 */
export async function measureQaSpeed(
  scorer: Scorer,
  perDoc: readonly TokenRequest[][],
  anchorIds: readonly number[],
  anchorCacheMs: number,
  opts: { batchSize?: number; chunkSize?: number },
): Promise<QaSpeedReport> {
  const timeAll = async (fn: (reqs: TokenRequest[]) => Promise<unknown>) => {
    const t0 = performance.now();
    for (const reqs of perDoc) await fn(reqs);
    return performance.now() - t0;
  };
  const noCache = (r: TokenRequest[]) =>
    scoreRecompute(scorer, r, "causal", anchorIds, opts.batchSize);
  const fullCache = (r: TokenRequest[]) =>
    scoreCached(scorer, r, "full", anchorIds, opts.chunkSize);
  if (perDoc.length > 0) {
    await noCache(perDoc[0]!);
    await fullCache(perDoc[0]!);
  }
  const noCacheMs = await timeAll(noCache);
  const fullCacheMs = await timeAll(fullCache);
  return {
    docs: perDoc.length,
    anchorCacheMs,
    noCacheMs,
    fullCacheMs,
    tNoCache: noCacheMs / anchorCacheMs,
    tFullCache: fullCacheMs / anchorCacheMs,
  };
}
