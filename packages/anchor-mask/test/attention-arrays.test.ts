// The per-token arrays handed to @anllm/tensor's attention: the tensor rule over them equals the
// brute-force mask on every real query row (padding rows are empty there instead of self-only).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AnchorCacheState,
  type AttentionArrays,
  attentionArrays,
  attentionArraysBatch,
  buildAnchorMaskBatch,
} from "../src/index";
import { caseArb, flagsArb } from "./arbitraries";
import { bruteMask } from "./brute-force";
import { firstDiff } from "./compare";

/** The tensor package's documented rule, evaluated on row b of the arrays. */
function tensorRule(a: AttentionArrays, b: number): Uint8Array {
  const n = a.seqLen;
  const out = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const [q, k] = [b * n + i, b * n + j];
      const sameDoc = a.qDoc === null || a.qDoc[q] === a.kDoc![k];
      const ok =
        a.kValid[k] === 1 &&
        a.kPos[k]! <= a.qPos[q]! &&
        sameDoc &&
        (a.qSeg[q] === a.kSeg[k] ||
          (a.kAnchor[k] === 1 && a.qAnchor[q] === 0) ||
          (a.bosVisible && a.kPos[k] === 0));
      out[i * n + j] = ok ? 1 : 0;
    }
  }
  return out;
}

describe("attentionArrays", () => {
  it("the tensor rule reproduces the mask on real rows (1000 random sequences)", () => {
    fc.assert(
      fc.property(caseArb(32), ({ flags, options, brute }) => {
        const n = flags.length;
        const want = bruteMask({ ...brute, padQuery: "none" });
        // A padding query sees nothing under the tensor rule (kValid is about keys, so zero it here).
        const got = tensorRule(attentionArrays(flags, options), 0);
        const valid = brute.valid ?? flags.map(() => 1);
        for (let i = 0; i < n; i++) if (!valid[i]) got.fill(0, i * n, (i + 1) * n);
        expect(firstDiff(got, want)).toBe(-1);
      }),
      { numRuns: 1000 },
    );
  });

  it("batched arrays agree with the batched dense builder on real rows", () => {
    const arb = fc.integer({ min: 1, max: 20 }).chain((n) =>
      fc.array(fc.record({ flags: flagsArb(n), length: fc.integer({ min: 0, max: n }) }), {
        minLength: 1,
        maxLength: 4,
      }),
    );
    fc.assert(
      fc.property(arb, fc.boolean(), (rows, bosVisible) => {
        const n = rows[0]!.flags.length;
        const opts = { lengths: rows.map((r) => r.length), bosVisible, padQuery: "none" as const };
        const a = attentionArraysBatch(
          rows.map((r) => r.flags),
          opts,
        );
        const dense = buildAnchorMaskBatch(
          rows.map((r) => r.flags),
          opts,
        );
        rows.forEach((r, b) => {
          const got = tensorRule(a, b);
          got.fill(0, r.length * n); // padding query rows: outputs ignored (see the test above)
          expect(firstDiff(got, dense.subarray(b * n * n, (b + 1) * n * n))).toBe(-1);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("batched keepFull applies the ranges to every row (arrays and dense builder)", () => {
    const rows = [
      [0, 0, 1, 0, 0, 1, 0, 0],
      [0, 1, 0, 0, 0, 0, 1, 0],
    ];
    const opts = { keepFull: [[1, 3]] as [number, number][], lengths: [8, 6] };
    const a = attentionArraysBatch(rows, opts);
    const dense = buildAnchorMaskBatch(rows, { ...opts, padQuery: "none" });
    rows.forEach((flags, b) => {
      const one = attentionArrays(flags, { keepFull: opts.keepFull, length: opts.lengths[b] });
      expect([...a.kAnchor.subarray(b * 8, (b + 1) * 8)]).toEqual([...one.kAnchor]);
      const got = tensorRule(a, b);
      got.fill(0, opts.lengths[b]! * 8);
      expect(firstDiff(got, dense.subarray(b * 64, (b + 1) * 64))).toBe(-1);
    });
    expect(a.kAnchor[1]).toBe(1); // inside the range, not an anchor
  });

  it("rejects ragged batches", () => {
    expect(() => attentionArraysBatch([[0, 1], [1]])).toThrow(/isAnchor\[1\]: expected length 2/);
  });
});

describe("AnchorCacheState.fork", () => {
  it("continues independently and identically to the original", () => {
    const a = new AnchorCacheState({ positions: "compacted" });
    a.append([0, 0, 1, 0]);
    const b = a.fork();
    const sa = a.append([0, 1, 0]);
    const sb = b.append([0, 1, 0]);
    expect(sb).toEqual(sa);
    b.append([1]);
    expect(a.totalTokens).toBe(7);
    expect(b.totalTokens).toBe(8);
    expect(a.cachedRows()).not.toEqual(b.cachedRows());
  });
});
