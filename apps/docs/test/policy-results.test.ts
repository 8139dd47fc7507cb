// The results page's cache-policy section: tables per prompt length and charts from
// `eval cache --policy` JSON; the general results charts leave those files alone.
import { describe, expect, it } from "vitest";
import { isPolicyReport, policyResults } from "../lib/policy-results";
import { buildCharts, parseDataFile } from "../lib/results";

const row = (promptLength: number, policy: string, C: number, acc: number) => ({
  promptLength,
  policy,
  spec: policy,
  peakEntries: 10,
  meanEntries: 8,
  fullEntries: 100,
  C,
  Cmean: 0.92,
  msPerToken: 5,
  tFullCache: 1.5,
  tNoCache: 20,
  ppl: 3,
  pplFull: 2.5,
  recall: [
    { distance: 16, accuracy: acc, correct: 8 * acc, total: 8 },
    { distance: 64, accuracy: acc / 2, correct: 4 * acc, total: 8 },
  ],
});
const report = (mode: string, rows: unknown[]) =>
  JSON.stringify({ anchor: { mode, ids: [] }, policies: ["x"], rows, noCache: [] });

describe("policy results", () => {
  it("builds one table per prompt length and the C / recall charts, with the commands", () => {
    const files = [
      parseDataFile(
        "eval-policies-none.json",
        report("none", [row(512, "sink", 0.5, 1), row(1024, "sink", 0.75, 0.5)]),
      ),
      parseDataFile("eval-policies-ep.json", report("ep", [row(512, "anchor", 0.9, 0.25)])),
    ];
    const manifest = files.map((f) => ({ file: f.file, command: `cmd ${f.file}` }));
    const r = policyResults(manifest, files);
    expect(r.tables.map((t) => [t.promptLength, t.rows.length])).toEqual([
      [512, 2],
      [1024, 1],
    ]);
    expect(r.tables[0]?.distances).toEqual([16, 64]);
    expect(r.tables[0]?.rows.map((x) => x.model)).toEqual([
      "full-attention model",
      "AnLLM-EP model",
    ]);
    const cache = r.charts.find((c) => c.id === "policy-cache");
    expect(cache?.series.find((s) => s.name === "sink (full-attention model)")?.points).toEqual([
      [512, 50],
      [1024, 75],
    ]);
    const recall = r.charts.find((c) => c.id === "policy-recall-512");
    expect(recall?.series.find((s) => s.name.startsWith("anchor"))?.points).toEqual([
      [16, 25],
      [64, 12.5],
    ]);
    expect(r.sources.map((s) => s.command)).toEqual([
      "cmd eval-policies-none.json",
      "cmd eval-policies-ep.json",
    ]);
    // the general cache chart does not plot these files
    expect(isPolicyReport(files[0]?.content)).toBe(true);
    expect(buildCharts(manifest, files)).toEqual([]);
  });
});
