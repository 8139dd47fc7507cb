// Cache policies (cache-policy.ts) replayed under random chunkings: after every step the rows a
// policy keeps equal its brute-force definition (`policyKeeps`, independent loops here for h2o),
// every step's visibility equals "the keys the cache holds after the query" (so chunked ==
// token-by-token for the deterministic policies), and parsing/formatting round-trips.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AnchorCacheError,
  type CachePolicy,
  createCacheState,
  formatPolicy,
  h2oKeep,
  NO_EVICTION,
  packSteps,
  parsePolicy,
  policyKeeps,
  stepAllowed,
  windowUntil,
} from "../src/index";
import { chunk, flagsArb } from "./arbitraries";

type Deterministic = Exclude<CachePolicy, { kind: "h2o" }>;

const policyArb: fc.Arbitrary<Deterministic> = fc.oneof(
  fc.constant<Deterministic>({ kind: "full" }),
  fc.constant<Deterministic>({ kind: "anchor" }),
  fc
    .record({ sink: fc.integer({ min: 0, max: 4 }), window: fc.integer({ min: 1, max: 8 }) })
    .map((o): Deterministic => ({ kind: "sink", ...o, positions: "original" })),
  fc
    .record({
      initial: fc.integer({ min: 0, max: 4 }),
      window: fc.integer({ min: 1, max: 8 }),
      extra: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(Number.POSITIVE_INFINITY)),
    })
    .map(
      (o): Deterministic => ({
        kind: "sepllm",
        initial: o.initial,
        window: o.window,
        budget: o.initial + o.window + o.extra,
        separators: ".",
      }),
    ),
);

describe("deterministic cache policies", () => {
  it("keep the rows of their brute-force rule and show each query exactly those keys, for any chunking", () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 1, max: 40 }).chain((n) => flagsArb(n)),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        (policy, flags, sizes) => {
          const state = createCacheState(policy);
          for (const [s, e] of chunk(flags.length, sizes)) {
            const step = state.plan(Uint8Array.from(flags.slice(s, e)));
            const keys = Array.from(step.kPos);
            for (let q = 0; q < e - s; q++) {
              const p = s + q;
              const seen = keys.filter((_, k) => stepAllowed(step, q, k));
              // an anchor query sees its own segment only (isAllowed); others see the kept rows
              const ownSegment = (j: number) => !flags.slice(j, p).some(Boolean);
              const want = Array.from({ length: p + 1 }, (_, j) => j).filter((j) =>
                policy.kind === "anchor" && flags[p]
                  ? ownSegment(j)
                  : policyKeeps(policy, flags, j, p),
              );
              expect(seen).toEqual(want);
            }
            state.commit(step);
            const kept = Array.from(state.cachedRows().pos);
            const rule = Array.from({ length: e }, (_, j) => j).filter((j) =>
              policyKeeps(policy, flags, j, e - 1),
            );
            expect(kept).toEqual(rule);
          }
          expect(state.totalTokens).toBe(flags.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("windowUntil is the first position whose rule drops the key", () => {
    fc.assert(
      fc.property(
        policyArb.filter((p) => p.kind === "sink" || p.kind === "sepllm"),
        fc.integer({ min: 1, max: 40 }).chain((n) => flagsArb(n)),
        (policy, flags) => {
          const until = windowUntil(policy as Extract<CachePolicy, { kind: "sepllm" }>, flags);
          for (let j = 0; j < flags.length; j++) {
            let first = NO_EVICTION;
            for (let p = j; p < flags.length; p++)
              if (!policyKeeps(policy, flags, j, p)) {
                first = p;
                break;
              }
            // beyond the sequence the bound may be known (window) or not (budget): compare inside it
            const got = until[j] as number;
            expect(got >= flags.length ? NO_EVICTION : got).toBe(first);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("packSteps carries kUntil; stale steps are refused", () => {
    const state = createCacheState({ kind: "sink", sink: 1, window: 2, positions: "original" });
    const step = state.plan(new Uint8Array(5));
    const packed = packSteps([step]);
    expect(Array.from(packed.kUntil)).toEqual([NO_EVICTION, 3, 4, 5, 6]);
    expect(Array.from(step.keep)).toEqual([0, 3, 4]);
    state.commit(step);
    expect(() => state.commit(step)).toThrow(AnchorCacheError);
  });

  it("sink with cache positions evicts before the next token and numbers rows 0..n-1 (StreamingLLM)", () => {
    const state = createCacheState({ kind: "sink", sink: 2, window: 3, positions: "cache" });
    for (let t = 0; t < 9; t++) state.commit(state.plan(new Uint8Array(1)));
    // the next token (9) sees sinks + 7, 8, 9: the cache holds sinks + 7, 8
    expect(Array.from(state.cachedRows().pos)).toEqual([0, 1, 7, 8]);
    expect(Array.from(state.cachedRows().ropePos)).toEqual([0, 1, 2, 3]);
    expect(Array.from(state.plan(new Uint8Array(1)).qRopePos)).toEqual([4]);
  });
});

/** Independent H2O oracle: replays the chunks with plain arrays and a full sort. */
function bruteH2o(
  chunks: Array<[number, number]>,
  scoresOf: (step: number, keys: number[]) => number[],
  budget: number,
  recent: number,
): number[][] {
  let rows: Array<{ pos: number; acc: number }> = [];
  const out: number[][] = [];
  chunks.forEach(([s, e], i) => {
    const keys = [...rows.map((r) => r.pos), ...Array.from({ length: e - s }, (_, t) => s + t)];
    const add = scoresOf(i, keys);
    const all = keys.map((pos, k) => ({ pos, acc: (rows[k]?.acc ?? 0) + (add[k] as number) }));
    if (all.length > budget) {
      const newest = [...all].sort((a, b) => b.pos - a.pos).slice(0, recent);
      const others = all
        .filter((r) => !newest.includes(r))
        .sort((a, b) => b.acc - a.acc || b.pos - a.pos)
        .slice(0, budget - recent);
      rows = all.filter((r) => newest.includes(r) || others.includes(r));
    } else rows = all;
    out.push(rows.map((r) => r.pos));
  });
  return out;
}

describe("h2o", () => {
  it("keeps, per head, the recent window plus that head's heaviest accumulated rows, for any chunking", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, sizes, recent, extra, heads, seed) => {
          const budget = recent + extra;
          // deterministic pseudo-scores from (seed, step, head, key position); multiples of 1/8
          // avoid ties in f32
          const scoresOf = (i: number, h: number, keys: number[]) =>
            keys.map((p) => ((seed * 31 + i * 17 + h * 53 + p * 7919) % 97) / 8);
          const chunks = chunk(n, sizes);
          const want = Array.from({ length: heads }, (_, h) =>
            bruteH2o(chunks, (i, keys) => scoresOf(i, h, keys), budget, recent),
          );
          const state = createCacheState({ kind: "h2o", budget, recent }, { heads });
          expect(state.heads).toBe(heads);
          chunks.forEach(([s, e], i) => {
            const step = state.plan(new Uint8Array(e - s));
            // within a chunk h2o hides nothing (causal over cache + chunk)
            for (let q = 0; q < e - s; q++)
              for (let k = 0; k < step.kPos.length; k++)
                expect(stepAllowed(step, q, k)).toBe(
                  k < step.cacheLength || k - step.cacheLength <= q,
                );
            // each head scores the tokens it holds (its rows differ from the other heads')
            const before = state.headPositions();
            const fresh = Array.from({ length: e - s }, (_, t) => s + t);
            const perHead = before.map((held, h) => scoresOf(i, h, [...held, ...fresh]));
            state.commit(step, Float32Array.from(perHead.flat()));
            const got = state.headPositions().map((p) => Array.from(p));
            expect(got).toEqual(want.map((w) => w[i]));
            // every head keeps as many rows as the cache has; a row's shared position bounds them all
            const rows = Array.from(state.cachedRows().pos);
            expect(rows.length).toBe(state.cacheLength);
            rows.forEach((p, r) => {
              expect(p).toBe(Math.max(...got.map((g) => g[r] as number)));
            });
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("commit without column sums is an error naming what it expected", () => {
    const state = createCacheState({ kind: "h2o", budget: 2, recent: 1 }, { heads: 2 });
    const step = state.plan(new Uint8Array(3));
    expect(() => state.commit(step)).toThrow(/expected 2 x 3 attention column sums/);
    expect(() => state.commit(step, new Float32Array(3))).toThrow(/got 3/);
  });

  it("h2oKeep equals a full sort (newest `recent`, then score, ties to the newer row) on any positions", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        fc.boolean(),
        (rawPos, rawScore, recent, extra, sorted) => {
          const pos = sorted ? [...rawPos].sort((a, b) => a - b) : rawPos;
          const score = pos.map((_, k) => (rawScore[k] as number) / 4); // many ties
          const budget = recent + extra;
          const idx = pos.map((_, k) => k);
          const newest = [...idx].sort((a, b) => pos[b]! - pos[a]!).slice(0, recent);
          const heavy = idx
            .filter((k) => !newest.includes(k))
            .sort((a, b) => score[b]! - score[a]! || pos[b]! - pos[a]!)
            .slice(0, budget - recent);
          const want = pos.length <= budget ? idx : [...newest, ...heavy].sort((a, b) => a - b);
          expect(Array.from(h2oKeep(pos, score, { budget, recent }))).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("h2oKeep keeps everything within the budget", () => {
    expect(Array.from(h2oKeep([0, 1, 2], [0, 0, 0], { budget: 3, recent: 1 }))).toEqual([0, 1, 2]);
    expect(Array.from(h2oKeep([0, 1, 2, 3], [5, 1, 9, 0], { budget: 2, recent: 1 }))).toEqual([
      2, 3,
    ]);
  });
});

describe("parsePolicy", () => {
  it("round-trips every policy and applies defaults", () => {
    for (const spec of [
      "full",
      "anchor",
      "sink",
      "sink:sink=2,window=64,positions=cache",
      "sepllm",
      "sepllm:initial=2,window=32,budget=100,separators=.\\,\\n",
      "h2o:budget=128,recent=32",
    ]) {
      const p = parsePolicy(spec);
      expect(parsePolicy(formatPolicy(p))).toEqual(p);
    }
    expect(parsePolicy("sink")).toEqual({
      kind: "sink",
      sink: 4,
      window: 256,
      positions: "original",
    });
    expect(parsePolicy("sepllm:separators=.\\,\\n")).toMatchObject({ separators: ".,\n" });
  });

  it("names the bad option", () => {
    expect(() => parsePolicy("lru")).toThrow(/unknown cache policy "lru"/);
    expect(() => parsePolicy("sink:size=3")).toThrow(/unknown option "size" for sink/);
    expect(() => parsePolicy("sink:window=0")).toThrow(/window must be an integer >= 1/);
    expect(() => parsePolicy("h2o:budget=4,recent=8")).toThrow(/below recent 8/);
    expect(() => parsePolicy("sepllm:initial=4,window=8,budget=10")).toThrow(/below initial/);
  });
});
