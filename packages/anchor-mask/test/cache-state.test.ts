// The inference state machine replayed with random chunkings: every step's visibility over
// [cache rows + chunk rows] equals the training mask row exactly, the cache holds exactly anchors +
// open segment (+ options), and one-layer attention with the dropped cache equals full masked attention.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AnchorCacheError,
  AnchorCacheState,
  anchorKeepIndices,
  buildAnchorMask,
  type CacheStateOptions,
  type CacheStep,
  packSteps,
  segmentIds,
  stepAllowed,
  stepMask,
} from "../src/index";
import { chunk, flagsArb } from "./arbitraries";
import { bruteMask } from "./brute-force";
import { firstDiff } from "./compare";

const optionsArb: fc.Arbitrary<CacheStateOptions> = fc.record({
  positions: fc.constantFrom<"original" | "compacted">("original", "compacted"),
  bosVisible: fc.boolean(),
  policy: fc.constantFrom<"anchor" | "full">("anchor", "anchor", "full"),
  keepFull: fc.oneof(
    fc.constant([]),
    fc.array(
      fc
        .tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 8 }))
        .map(([s, l]): [number, number] => [s, s + l]),
      { maxLength: 2 },
    ),
  ),
});

const replayArb = fc.integer({ min: 0, max: 60 }).chain((n) =>
  fc.record({
    flags: flagsArb(n),
    sizes: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }),
    options: optionsArb,
  }),
);

/** Expected cache after `end` tokens: anchors, open segment, keep-full, BOS (or all for "full"). */
function expectedCache(flags: number[], end: number, o: CacheStateOptions): number[] {
  const last = flags.slice(0, end).lastIndexOf(1);
  const full = (t: number) => (o.keepFull ?? []).some(([s, e]) => t >= s && t < e);
  const out: number[] = [];
  for (let t = 0; t < end; t++) {
    const keep =
      o.policy === "full" || flags[t] === 1 || t > last || full(t) || (o.bosVisible && t === 0);
    if (keep) out.push(t);
  }
  return out;
}

/** Element-wise equality of two number sequences. */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Checks one step against the training mask `want` ([L, L]) and the state invariants; returns the
 * first violated property (null when all hold), so the hot loop makes one `expect` per run.
 */
function checkStep(
  step: CacheStep,
  want: Uint8Array,
  flags: number[],
  o: CacheStateOptions,
): string | null {
  const n = flags.length;
  const nk = step.cacheLength + step.chunkLength;
  const seg = segmentIds(flags);
  const dense = stepMask(step);
  const kPos = [...step.kPos];
  const full = (t: number) => (o.keepFull ?? []).some(([s, e]) => t >= s && t < e);
  if (!kPos.every((p, k) => k === 0 || p > kPos[k - 1]!)) return "kPos not increasing";
  if (
    !same(
      step.kSeg,
      kPos.map((p) => seg[p]!),
    )
  )
    return "kSeg";
  if (
    !same(
      step.kAnchor,
      kPos.map((p) => (flags[p] || full(p) ? 1 : 0)),
    )
  )
    return "kAnchor";
  for (let q = 0; q < step.chunkLength; q++) {
    const p = step.qPos[q]!;
    const got = new Uint8Array(n); // step visibility scattered to original positions
    for (let k = 0; k < nk; k++) {
      if ((stepAllowed(step, q, k) ? 1 : 0) !== dense[q * nk + k]) return "stepMask vs stepAllowed";
      if (dense[q * nk + k]) got[kPos[k]!] = 1;
    }
    if (!same(got, want.subarray(p * n, (p + 1) * n))) return `visibility of token ${p}`;
    const rope = o.positions === "compacted" ? step.cacheLength + q : p;
    if (step.qRopePos[q] !== rope) return "qRopePos";
  }
  return null;
}

describe("AnchorCacheState replay vs the training mask", () => {
  it("reproduces the mask's visibility exactly for any chunking (2000 random runs)", () => {
    let multiTokenChunkWithAnchor = 0;
    fc.assert(
      fc.property(replayArb, ({ flags, sizes, options }) => {
        const want = buildAnchorMask(flags, options);
        expect(firstDiff(want, bruteMask({ isAnchor: flags, ...options }))).toBe(-1);
        const state = new AnchorCacheState(options);
        for (const [s, e] of chunk(flags.length, sizes)) {
          const rowsBefore = state.cachedRows();
          const step = state.append(flags.slice(s, e));
          if (e - s > 1 && flags.slice(s, e - 1).includes(1)) multiTokenChunkWithAnchor++;
          const failure =
            checkStep(step, want, flags, options) ??
            (same(step.kPos.subarray(0, step.cacheLength), rowsBefore.pos) ? null : "cache kPos") ??
            (same(step.kRopePos.subarray(0, step.cacheLength), rowsBefore.ropePos)
              ? null
              : "cache rope") ??
            (same(state.cachedRows().pos, expectedCache(flags, e, options)) ? null : "kept rows") ??
            (state.totalTokens === e ? null : "totalTokens");
          expect(failure, `chunk [${s}, ${e})`).toBeNull();
        }
      }),
      { numRuns: 2000 },
    );
    expect(multiTokenChunkWithAnchor).toBeGreaterThan(300);
  });

  it("blocks the old open segment for rows after an in-chunk anchor", () => {
    const state = new AnchorCacheState();
    state.append([0, 0, 1, 0, 0]); // cache after: anchor 2 + open segment 3, 4
    expect([...state.cachedRows().pos]).toEqual([2, 3, 4]);
    const step = state.append([0, 1, 0]); // tokens 5, 6 (anchor), 7
    // keys: 2, 3, 4 (cache), 5, 6, 7 (chunk)
    expect(Array.from(stepMask(step))).toEqual([
      ...[1, 1, 1, 1, 0, 0], // 5 sees anchor 2 and its segment 3, 4, 5
      ...[0, 1, 1, 1, 1, 0], // 6 (anchor) sees only its own segment 3..6
      ...[1, 0, 0, 0, 1, 1], // 7 sees anchors 2, 6 and itself, not the old tail 3, 4, 5
    ]);
    expect([...step.keep]).toEqual([0, 4, 5]); // rows 2, 6, 7
    expect(state.peakRows).toBe(6);
  });

  it("compacted positions give new tokens cacheLength + t after a drop", () => {
    const state = new AnchorCacheState({ positions: "compacted" });
    state.append([0, 0, 1, 0, 0, 1]); // keeps 2, 5
    const step = state.append([0, 0]);
    expect([...step.qRopePos]).toEqual([2, 3]);
    expect([...step.qPos]).toEqual([6, 7]);
    expect([...state.cachedRows().ropePos]).toEqual([2, 5, 2, 3]);
  });

  it("anchorKeepIndices keeps anchors and the open segment", () => {
    expect([...anchorKeepIndices([0, 0, 1, 0, 1, 0, 0])]).toEqual([2, 4, 5, 6]);
    expect([...anchorKeepIndices([0, 0, 1], { bosVisible: true })]).toEqual([0, 2]);
    expect([...anchorKeepIndices([0, 1, 0, 0, 1], { keepFull: [[2, 4]] })]).toEqual([1, 2, 3, 4]);
    expect([...anchorKeepIndices([0, 1, 0], { policy: "full" })]).toEqual([0, 1, 2]);
  });

  it("refuses to commit a stale step", () => {
    const state = new AnchorCacheState();
    const stale = state.plan([0, 1]);
    state.append([0]);
    expect(() => state.commit(stale)).toThrow(AnchorCacheError);
    expect(() => new AnchorCacheState().commit(stale)).toThrow(
      /not planned from the current state/,
    );
  });
});

/** One-layer attention of query vector qv over keys/values, restricted to `allowed`. */
function attend(qv: number[], keys: number[][], values: number[][], allowed: boolean[]): number[] {
  const scores = keys.map((k, j) =>
    allowed[j] ? k.reduce((a, x, d) => a + x * qv[d]!, 0) : -Infinity,
  );
  const m = Math.max(...scores);
  const w = scores.map((s) => Math.exp(s - m));
  const z = w.reduce((a, b) => a + b, 0);
  return values[0]!.map((_, d) => values.reduce((a, v, j) => a + (w[j]! / z) * v[d]!, 0));
}

describe("cache-dropping attention equals full masked attention", () => {
  it("gives the same outputs for random vectors and chunkings", () => {
    const arb = fc.record({
      flags: fc.integer({ min: 1, max: 30 }).chain((n) => flagsArb(n)),
      sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      seed: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 }),
    });
    fc.assert(
      fc.property(arb, ({ flags, sizes, seed }) => {
        const n = flags.length;
        const vec = (t: number, c: number) =>
          [0, 1, 2].map((d) => Math.sin((t + 1) * (d + 1) * seed[d]! + c));
        const [Q, K, V] = [0, 1, 2].map((c) => flags.map((_, t) => vec(t, c)));
        const mask = buildAnchorMask(flags);
        const full = flags.map((_, i) =>
          attend(
            Q[i]!,
            K!,
            V!,
            flags.map((_, j) => mask[i * n + j] === 1),
          ),
        );
        const state = new AnchorCacheState();
        let cacheK: number[][] = [];
        let cacheV: number[][] = [];
        for (const [s, e] of chunk(n, sizes)) {
          const step = state.append(flags.slice(s, e));
          const keys = [...cacheK, ...K!.slice(s, e)];
          const values = [...cacheV, ...V!.slice(s, e)];
          for (let q = 0; q < e - s; q++) {
            const allowed = keys.map((_, k) => stepAllowed(step, q, k));
            const out = attend(Q[s + q]!, keys, values, allowed);
            for (const [d, x] of out.entries()) expect(x).toBeCloseTo(full[s + q]![d]!, 12);
          }
          cacheK = [...step.keep].map((k) => keys[k]!);
          cacheV = [...step.keep].map((k) => values[k]!);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("packSteps (batch = one state per sequence)", () => {
  it("pads ragged steps and keeps each row's visibility under kValid", () => {
    const states = [new AnchorCacheState(), new AnchorCacheState(), new AnchorCacheState()];
    states[0]!.append([0, 0, 1, 0, 0, 0, 1, 0]);
    states[1]!.append([0, 1]);
    const steps = [states[0]!.append([0, 1, 0]), states[1]!.append([0]), states[2]!.append([0, 0])];
    const p = packSteps(steps);
    expect([p.batch, p.lq, p.lk]).toEqual([3, 3, 6]);
    steps.forEach((s, b) => {
      const nk = s.cacheLength + s.chunkLength;
      for (let q = 0; q < p.lq; q++) {
        expect(p.qValid[b * p.lq + q]).toBe(q < s.chunkLength ? 1 : 0);
        if (q >= s.chunkLength) continue;
        for (let k = 0; k < p.lk; k++) {
          const i = b * p.lq + q;
          const j = b * p.lk + k;
          const allowed =
            p.kValid[j] === 1 &&
            p.kPos[j]! <= p.qPos[i]! &&
            (p.qSeg[i] === p.kSeg[j] || (p.kAnchor[j] === 1 && p.qAnchor[i] === 0));
          expect(allowed).toBe(k < nk && stepAllowed(s, q, k));
        }
      }
    });
  });
});
