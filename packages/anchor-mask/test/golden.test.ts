// The golden 10 x 10 example of anllm-method.md §2, bit for bit, through every public form
// (dense bytes, additive floats, isAllowed, compact form) and the pretty printer's table layout.
import { describe, expect, it } from "vitest";
import {
  anchorStructure,
  buildAdditiveAnchorMask,
  buildAnchorMask,
  compactMask,
  formatMask,
  isAllowed,
  segmentIds,
  visibleKeys,
} from "../src/index";

const LABELS = ["<s>", "a1", "a2", "A", "b1", "A", "c1", "c2", "A", "d1"];
const FLAGS = LABELS.map((l) => (l === "A" ? 1 : 0));

// Copied from anllm-method.md §2 (rows = query, 1 = may attend).
const GOLDEN = `
    <s>  a1  a2   A  b1   A  c1  c2   A  d1
<s>   1   0   0   0   0   0   0   0   0   0
 a1   1   1   0   0   0   0   0   0   0   0
 a2   1   1   1   0   0   0   0   0   0   0
  A   1   1   1   1   0   0   0   0   0   0
 b1   0   0   0   1   1   0   0   0   0   0
  A   0   0   0   0   1   1   0   0   0   0
 c1   0   0   0   1   0   1   1   0   0   0
 c2   0   0   0   1   0   1   1   1   0   0
  A   0   0   0   0   0   0   1   1   1   0
 d1   0   0   0   1   0   1   0   0   1   1`.slice(1);

const goldenBits = GOLDEN.split("\n")
  .slice(1)
  .flatMap((line) => line.trim().split(/\s+/).slice(1).map(Number));

describe("golden 10 x 10 example (anllm-method.md §2)", () => {
  it("has the expected segment ids", () => {
    expect([...segmentIds(FLAGS)]).toEqual([0, 0, 0, 0, 1, 1, 2, 2, 2, 3]);
  });

  it("dense mask equals the table bit for bit", () => {
    expect(goldenBits).toHaveLength(100);
    expect([...buildAnchorMask(FLAGS)]).toEqual(goldenBits);
  });

  it("pretty printer reproduces the table's text", () => {
    const text = formatMask(buildAnchorMask(FLAGS), { labels: LABELS });
    expect(text).toBe(GOLDEN);
  });

  it("additive mask is 0 where allowed and -inf elsewhere", () => {
    const add = buildAdditiveAnchorMask(FLAGS);
    expect([...add]).toEqual(goldenBits.map((b) => (b ? 0 : Number.NEGATIVE_INFINITY)));
    const finite = buildAdditiveAnchorMask(FLAGS, { minValue: -1e9 });
    expect([...finite]).toEqual(goldenBits.map((b) => (b ? 0 : -1e9)));
  });

  it("isAllowed and the compact form agree with the table", () => {
    const s = anchorStructure(FLAGS);
    const c = compactMask(s);
    for (let i = 0; i < 10; i++) {
      const row = goldenBits.slice(i * 10, i * 10 + 10);
      expect(row.map((_, j) => (isAllowed(i, j, s) ? 1 : 0))).toEqual(row);
      expect([...visibleKeys(c, i)]).toEqual(row.flatMap((b, j) => (b ? [j] : [])));
    }
    // d1 (query 9): own run starts at 9 and sees the three anchors 3, 5, 8.
    expect(c.segStart[9]).toBe(9);
    expect([...c.anchorIndex.slice(c.anchorBegin[9], c.anchorEnd[9])]).toEqual([3, 5, 8]);
  });
});
