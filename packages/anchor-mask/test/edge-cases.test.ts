// Named edge cases of apps/docs/guide/method.md as readable examples: no anchors, consecutive
// anchors, anchors at 0 and at the end, padding (no NaN rows), packed documents, BOS-visible,
// anchor selection by token id, and the error messages for bad input.
import { describe, expect, it } from "vitest";
import {
  AnchorMaskInputError,
  acStrategy,
  buildAdditiveAnchorMask,
  buildAnchorMask,
  buildAnchorMaskBatch,
  buildCausalMask,
  compactMask,
  epStrategy,
  formatMask,
  markAnchors,
  toAdditiveMask,
} from "../src/index";

/** Rows of an L x L mask as strings of 0/1, for readable expectations. */
function rows(mask: ArrayLike<number>, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    Array.from(mask)
      .slice(i * n, i * n + n)
      .join(""),
  );
}

describe("edge cases", () => {
  it("no anchor degenerates to the causal mask", () => {
    const m = buildAnchorMask([0, 0, 0, 0]);
    expect(rows(m, 4)).toEqual(["1000", "1100", "1110", "1111"]);
    expect(m).toEqual(buildCausalMask(4));
  });

  it("consecutive anchors: the second one forms a one-token segment and sees only itself", () => {
    expect(rows(buildAnchorMask([0, 1, 1, 0]), 4)).toEqual(["1000", "1100", "0010", "0111"]);
  });

  it("anchor at 0 and at the end", () => {
    expect(rows(buildAnchorMask([1, 0, 0, 1]), 4)).toEqual(["1000", "1100", "1110", "0111"]);
  });

  it("padding rows see only themselves, pad columns are blocked, no softmax row is NaN", () => {
    const m = buildAnchorMask([0, 1, 0, 1, 1], { length: 3 });
    expect(rows(m, 5)).toEqual(["10000", "11000", "01100", "00010", "00001"]);
    const left = buildAnchorMask([1, 0, 0, 1, 0], { attentionMask: [0, 0, 1, 1, 1] });
    expect(rows(left, 5)).toEqual(["10000", "01000", "00100", "00110", "00011"]);
    const none = buildAnchorMask([0, 0, 0], { length: 1, padQuery: "none" });
    expect(rows(none, 3)).toEqual(["100", "000", "000"]);
    const add = buildAdditiveAnchorMask([0, 1, 0, 0], { attentionMask: [1, 0, 1, 0] });
    for (let i = 0; i < 4; i++) {
      const r = add.subarray(i * 4, i * 4 + 4);
      const max = Math.max(...r);
      const z = r.reduce((a, x) => a + Math.exp(x - max), 0);
      expect(Number.isFinite(Math.log(z))).toBe(true);
    }
  });

  it("packed documents never see each other's anchors", () => {
    const m = buildAnchorMask([0, 1, 0, 0, 1, 0], { documentIds: [7, 7, 7, 3, 3, 3] });
    expect(rows(m, 6)).toEqual(["100000", "110000", "011000", "000100", "000110", "000011"]);
    expect(buildCausalMask(4, { documentIds: [0, 0, 1, 1] })).toEqual(
      Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1]),
    );
  });

  it("bosVisible keeps each document's first real token visible to all (off by default)", () => {
    expect(rows(buildAnchorMask([0, 1, 0, 1]), 4)).toEqual(["1000", "1100", "0110", "0011"]);
    const bos = buildAnchorMask([0, 1, 0, 1], { bosVisible: true });
    expect(rows(bos, 4)).toEqual(["1000", "1100", "1110", "1011"]);
    const packed = buildAnchorMask([1, 0, 0, 1], {
      bosVisible: true,
      documentIds: [0, 0, 1, 1],
      attentionMask: [1, 1, 0, 1],
    });
    expect(rows(packed, 4)).toEqual(["1000", "1100", "0010", "0001"]);
  });

  it("keepFull tokens are visible to later non-anchor queries, like anchors", () => {
    const m = buildAnchorMask([0, 0, 1, 0, 1, 0], { keepFull: [[0, 1]] });
    expect(rows(m, 6)).toEqual(["100000", "110000", "111000", "101100", "000110", "101011"]);
  });

  it("compact form of a padded, packed row", () => {
    const c = compactMask([0, 1, 0, 0, 1, 0], { documentIds: [1, 1, 1, 2, 2, 2], length: 5 });
    expect([...c.segStart]).toEqual([0, 0, 2, 3, 3, 5]);
    expect([...c.anchorIndex]).toEqual([1, 4]);
    expect([...c.anchorBegin]).toEqual([0, 0, 0, 1, 1, 2]);
    expect([...c.anchorEnd]).toEqual([0, 0, 1, 1, 1, 2]);
    expect(c.hasHoles).toBe(false);
    expect(compactMask([0, 0, 0], { attentionMask: [1, 0, 1] }).hasHoles).toBe(true);
    expect(compactMask([0, 0, 0], { attentionMask: [0, 1, 1] }).hasHoles).toBe(false);
  });

  it("empty sequences give empty masks", () => {
    expect(buildAnchorMask([])).toEqual(new Uint8Array(0));
    expect(buildAnchorMaskBatch([])).toEqual(new Uint8Array(0));
    expect(compactMask([]).anchorIndex.length).toBe(0);
  });
});

describe("anchor selection", () => {
  it("ep marks every id of the set, ac marks the added token", () => {
    const ids = [1, 450, 29889, 13, 29892, 29889, 32001];
    expect([...markAnchors(ids, epStrategy([29889]))]).toEqual([0, 0, 1, 0, 0, 1, 0]);
    expect([...markAnchors(ids, epStrategy([29889, 29892]))]).toEqual([0, 0, 1, 0, 1, 1, 0]);
    expect([...markAnchors(ids, acStrategy(32001))]).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect([...markAnchors(Int32Array.from(ids), { kind: "ac", tokenId: 13 })]).toEqual([
      0, 0, 0, 1, 0, 0, 0,
    ]);
  });

  it("rejects bad strategies", () => {
    expect(() => epStrategy([])).toThrow(AnchorMaskInputError);
    expect(() => acStrategy(-1)).toThrow(/tokenId: expected a non-negative integer/);
    expect(() => markAnchors([1], { kind: "ep", tokenIds: [] })).toThrow(/strategy.tokenIds/);
  });
});

describe("input errors name the field and the expectation", () => {
  it("structure options", () => {
    expect(() => buildAnchorMask([0, 1], { length: 3 })).toThrow(
      "options.length: expected an integer in [0, 2], got 3",
    );
    expect(() => buildAnchorMask([0, 1], { attentionMask: [1] })).toThrow(
      "options.attentionMask: expected length 2 (seqLen), got 1",
    );
    expect(() => buildAnchorMask([0, 0, 0], { documentIds: [1, 2, 1] })).toThrow(
      /options.documentIds\[2\]: document 1 appears again/,
    );
    expect(() => buildAnchorMask([0], { keepFull: [[2, 1]] })).toThrow(/options.keepFull\[0\]/);
    expect(() => buildAdditiveAnchorMask([0], { minValue: 0 })).toThrow(/options.minValue/);
    expect(() => buildCausalMask(-1)).toThrow(/seqLen/);
    expect(() => buildAnchorMask([0, 1], { out: new Uint8Array(3) })).toThrow(
      "options.out: expected length 4 (seqLen^2 = 2^2), got 3",
    );
  });

  it("batch shapes", () => {
    expect(() => buildAnchorMaskBatch([[0, 1], [0]])).toThrow(
      /isAnchor\[1\]: expected length 2 .* got 1/,
    );
    expect(() => buildAnchorMaskBatch([[0, 1]], { lengths: [1, 2] })).toThrow(
      "options.lengths: expected 1 rows (batch), got 2",
    );
  });

  it("pretty printer", () => {
    expect(() => formatMask([1, 0, 1])).toThrow(/pass options.rows\/cols/);
    expect(() => formatMask(new Uint8Array(100 * 100))).toThrow(/larger than maxSize 64/);
    expect(() => formatMask([1], { labels: [] })).toThrow(/options.labels/);
  });
});

describe("formatMask", () => {
  it("prints rectangular and additive masks with custom symbols", () => {
    const text = formatMask([1, 0, 1, 1, 1, 0], {
      rows: 2,
      labels: ["q0", "q1"],
      colLabels: ["k0", "k1", "k2"],
      symbols: [".", "#"],
    });
    expect(text).toBe("   k0 k1 k2\nq0  #  .  #\nq1  #  #  .");
    expect(formatMask(toAdditiveMask([1, 0, 1, 1]), { symbols: ["-", "x"] })).toBe(
      "  0 1\n0 x -\n1 x x",
    );
    expect(formatMask(new Float32Array(1), { kind: "additive" })).toBe("  0\n0 1");
    expect(formatMask(new Float32Array(1))).toBe("  0\n0 0");
  });
});
