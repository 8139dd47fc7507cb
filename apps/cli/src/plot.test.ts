// The SVG loss curve: valid standalone SVG, one path per series, escaped labels, moving average.
import { describe, expect, it } from "vitest";
import { lineChartSvg, lossCurveSvg, movingAverage } from "./plot";

describe("plot", () => {
  it("computes a trailing moving average", () => {
    const pts: Array<[number, number]> = [
      [1, 4],
      [2, 2],
      [3, 6],
      [4, 0],
    ];
    expect(movingAverage(pts, 2)).toEqual([
      [1, 4],
      [2, 3],
      [3, 4],
      [4, 3],
    ]);
  });

  it("renders the loss curve with two series and skips non-finite points", () => {
    const svg = lossCurveSvg(
      [
        [1, 5.5],
        [2, Number.NaN],
        [3, 4],
        [4, 3.5],
      ],
      "loss <AC>",
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain("loss &lt;AC&gt;");
    expect(svg).not.toContain("NaN");
  });

  it("handles a single point", () => {
    const svg = lineChartSvg("t", "x", "y", [{ label: "a", color: "#000", points: [[1, 2]] }]);
    expect(svg).not.toContain("NaN");
    expect(svg).not.toContain("Infinity");
  });
});
