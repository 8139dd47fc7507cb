// The golden 10 x 10 example of apps/docs/guide/method.md (the rule), bit for bit, through every
// public form (dense bytes, additive floats, isAllowed, compact form) and the pretty printer's
// table layout. The mask itself is typed in once, in fixtures/golden-10x10.json.
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
import golden from "./fixtures/golden-10x10.json" with { type: "json" };

const LABELS: string[] = golden.labels;
const FLAGS: number[] = golden.isAnchor;
const goldenBits = golden.mask.flatMap((row) => [...row].map(Number));

// The table as the method page prints it: every cell right-aligned in 3 characters.
const cell = (s: string) => s.padStart(3);
const GOLDEN = [
  [" ", ...LABELS].map(cell).join(" "),
  ...golden.mask.map((row, i) => [LABELS[i]!, ...row].map(cell).join(" ")),
].join("\n");

describe("golden 10 x 10 example (method page, the rule)", () => {
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
