// Property tests: on thousands of random sequences every public form of the mask (dense bytes,
// additive floats, isAllowed, compact form, batched builders) equals the brute-force oracle.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  anchorStructure,
  buildAdditiveAnchorMask,
  buildAdditiveAnchorMaskBatch,
  buildAnchorMask,
  buildAnchorMaskBatch,
  compactMask,
  isAllowed,
  segmentIds,
  visibleKeys,
} from "../src/index";
import { caseArb, flagsArb } from "./arbitraries";
import { bruteMask } from "./brute-force";
import { firstDiff } from "./compare";

const RUNS = 2000;

describe("dense, additive, rule and compact forms vs brute force", () => {
  it("buildAnchorMask equals the oracle", () => {
    fc.assert(
      fc.property(caseArb(40), ({ flags, options, brute }) => {
        const want = bruteMask(brute);
        expect(firstDiff(buildAnchorMask(flags, options), want)).toBe(-1);
        // Into a dirty caller buffer: every entry must be written.
        const out = new Uint8Array(flags.length ** 2).fill(7);
        expect(buildAnchorMask(flags, { ...options, out })).toBe(out);
        expect(firstDiff(out, want)).toBe(-1);
      }),
      { numRuns: RUNS },
    );
  });

  it("additive mask is 0 exactly where the oracle allows", () => {
    fc.assert(
      fc.property(caseArb(32), fc.constantFrom(-1e9, -3.4e38, -Infinity), (c, minValue) => {
        const want = Float32Array.from(bruteMask(c.brute), (b) => (b ? 0 : minValue));
        const fresh = buildAdditiveAnchorMask(c.flags, { ...c.options, minValue });
        expect(firstDiff(fresh, want)).toBe(-1);
        const out = new Float32Array(c.flags.length ** 2).fill(Number.NaN);
        buildAdditiveAnchorMask(c.flags, { ...c.options, minValue, out });
        expect(firstDiff(out, want)).toBe(-1);
      }),
      { numRuns: RUNS },
    );
  });

  it("isAllowed and the compact form equal the oracle; compact sets are disjoint", () => {
    const seen = { noAnchor: 0, consecutive: 0, anchorAt0: 0, anchorAtEnd: 0, padding: 0, docs: 0 };
    fc.assert(
      fc.property(caseArb(40), ({ flags, options, brute }) => {
        const n = flags.length;
        const want = bruteMask(brute);
        const s = anchorStructure(flags, options);
        const c = compactMask(s);
        const rule = new Uint8Array(n * n);
        const compact = new Uint8Array(n * n);
        let disjoint = true;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) rule[i * n + j] = isAllowed(i, j, s) ? 1 : 0;
          const keys = visibleKeys(c, i);
          for (const j of keys) compact[i * n + j]++;
          for (let a = c.anchorBegin[i]!; a < c.anchorEnd[i]!; a++) {
            if (c.anchorIndex[a]! >= c.segStart[i]!) disjoint = false;
          }
        }
        expect(firstDiff(rule, want)).toBe(-1);
        expect(firstDiff(compact, want)).toBe(-1); // a key listed twice would show up as 2
        expect(disjoint).toBe(true);
        countFeatures(seen, flags, s.valid, options.documentIds);
      }),
      { numRuns: RUNS },
    );
    // The generator really covers the edge cases of the rule (apps/docs/guide/method.md).
    for (const [feature, count] of Object.entries(seen)) {
      expect(count, feature).toBeGreaterThan(RUNS / 50);
    }
  });

  it("long sequences (up to 300 tokens): dense and compact forms equal the oracle", () => {
    fc.assert(
      fc.property(caseArb(300), ({ flags, options, brute }) => {
        const n = flags.length;
        const want = bruteMask(brute);
        expect(firstDiff(buildAnchorMask(flags, options), want)).toBe(-1);
        const c = compactMask(flags, options);
        const compact = new Uint8Array(n * n);
        for (let i = 0; i < n; i++) for (const j of visibleKeys(c, i)) compact[i * n + j]++;
        expect(firstDiff(compact, want)).toBe(-1);
      }),
      { numRuns: 20 },
    );
  });

  it("segmentIds is the exclusive prefix count of anchors", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }).chain((n) => flagsArb(n)),
        (flags) => {
          const seg = segmentIds(flags);
          flags.forEach((_, t) => {
            expect(seg[t]).toBe(flags.slice(0, t).filter((a) => a).length);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});

function countFeatures(
  seen: Record<string, number>,
  flags: number[],
  valid: Uint8Array,
  docs: ArrayLike<number> | undefined,
): void {
  const n = flags.length;
  if (n > 0 && flags.every((a) => !a)) seen.noAnchor!++;
  if (flags.some((a, t) => a && flags[t + 1])) seen.consecutive!++;
  if (flags[0]) seen.anchorAt0!++;
  if (n > 0 && flags[n - 1]) seen.anchorAtEnd!++;
  if (valid.includes(0)) seen.padding!++;
  if (docs && new Set(Array.from(docs)).size > 1) seen.docs!++;
}

describe("batched builders", () => {
  it("each batch row equals the single-sequence oracle", () => {
    const batchArb = fc.integer({ min: 0, max: 24 }).chain((n) =>
      fc.array(
        fc.record({
          flags: flagsArb(n),
          length: fc.integer({ min: 0, max: n }),
          docs: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    );
    fc.assert(
      fc.property(batchArb, fc.boolean(), (rows, bosVisible) => {
        const n = rows[0]!.flags.length;
        // Documents: sorted ids are contiguous runs.
        const docs = rows.map((r) => [...r.docs].sort((a, b) => a - b));
        const options = { lengths: rows.map((r) => r.length), documentIds: docs, bosVisible };
        const dense = buildAnchorMaskBatch(
          rows.map((r) => r.flags),
          options,
        );
        const additive = buildAdditiveAnchorMaskBatch(
          rows.map((r) => r.flags),
          { ...options, minValue: -1e4 },
        );
        rows.forEach((r, b) => {
          const valid = r.flags.map((_, t) => (t < r.length ? 1 : 0));
          const want = bruteMask({ isAnchor: r.flags, valid, docs: docs[b], bosVisible });
          expect(firstDiff(dense.subarray(b * n * n, (b + 1) * n * n), want)).toBe(-1);
          const wantAdd = Float32Array.from(want, (x) => (x ? 0 : -1e4));
          expect(firstDiff(additive.subarray(b * n * n, (b + 1) * n * n), wantAdd)).toBe(-1);
        });
      }),
      { numRuns: 1000 },
    );
  });
});
