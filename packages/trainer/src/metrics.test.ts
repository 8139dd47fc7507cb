// The metrics stream: one JSON line per step, torn lines tolerated, truncation on resume.
import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MetricsWriter, readMetrics, type StepMetrics } from "./metrics";

function metric(step: number, loss: number): StepMetrics {
  return {
    step,
    loss,
    lr: 1e-3,
    gradNorm: 1,
    clipped: false,
    skipped: false,
    tokens: 10,
    totalTokens: 10 * step,
    tokensPerSec: 100,
    stepMs: 100,
    memory: { liveBytes: 0, peakBytes: 0, pooledBytes: 0, rssBytes: 0 },
    time: new Date(0).toISOString(),
  };
}

describe("MetricsWriter", () => {
  it("appends lines, ignores a torn last line and truncates after a step", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "metrics-")), "metrics.jsonl");
    const w = new MetricsWriter(path);
    for (let s = 1; s <= 5; s++) w.write(metric(s, 5 - s / 10));
    appendFileSync(path, '{"step": 6, "loss": 4.');
    expect(readMetrics(path).map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    await w.truncateAfter(3);
    const back = readMetrics(path);
    expect(back.map((m) => m.step)).toEqual([1, 2, 3]);
    expect(back[2]!.loss).toBe(4.7);
  });

  it("reads a non-finite loss (written as null) back as NaN", () => {
    const path = join(mkdtempSync(join(tmpdir(), "metrics-")), "metrics.jsonl");
    new MetricsWriter(path).write(metric(1, Number.NaN));
    expect(Number.isNaN(readMetrics(path)[0]!.loss)).toBe(true);
  });
});
