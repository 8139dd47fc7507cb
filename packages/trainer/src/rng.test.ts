// The run generator (@anllm/tensor's seededRandom, which the trainer hands to the loss closure and
// stores in every checkpoint): seeded, well spread, and resumable from its exported state.
import { seededRandom } from "@anllm/tensor";
import { describe, expect, it } from "vitest";

describe("run generator", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = seededRandom(34);
    const b = seededRandom(34);
    const c = seededRandom(35);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
  });

  it("continues exactly from a saved state (JSON round trip)", () => {
    const r = seededRandom(7);
    for (let i = 0; i < 100; i++) r.next();
    const saved = JSON.parse(JSON.stringify(r.state()));
    const tail = Array.from({ length: 20 }, () => r.next());
    const r2 = seededRandom.fromState(saved);
    expect(Array.from({ length: 20 }, () => r2.next())).toEqual(tail);
  });

  it("gives uniform floats in [0, 1) with a plausible mean and integers in range", () => {
    const r = seededRandom(1);
    let sum = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[r.int(3)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(900);
  });
});
