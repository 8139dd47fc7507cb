// Schedules against hand-computed values of the Transformers formulas.
import { describe, expect, it } from "vitest";
import { TrainerConfigError } from "./errors";
import { learningRate, validateSchedule } from "./schedule";

describe("learningRate", () => {
  it("constant with warm-up ramps linearly from 0 then stays at the peak (paper: 2e-5, 20 steps)", () => {
    const s = { kind: "constant" as const, lr: 2e-5, warmupSteps: 20 };
    expect(learningRate(s, 0)).toBe(0);
    expect(learningRate(s, 10)).toBeCloseTo(1e-5, 15);
    expect(learningRate(s, 19)).toBeCloseTo(1.9e-5, 15);
    expect(learningRate(s, 20)).toBe(2e-5);
    expect(learningRate(s, 5000)).toBe(2e-5);
  });

  it("constant without warm-up is flat from the first step", () => {
    expect(learningRate({ kind: "constant", lr: 0.1 }, 0)).toBe(0.1);
  });

  it("linear decays to the floor at totalSteps", () => {
    const s = { kind: "linear" as const, lr: 1, warmupSteps: 10, totalSteps: 110 };
    expect(learningRate(s, 5)).toBeCloseTo(0.5);
    expect(learningRate(s, 10)).toBeCloseTo(1);
    expect(learningRate(s, 60)).toBeCloseTo(0.5);
    expect(learningRate(s, 110)).toBeCloseTo(0);
    expect(learningRate({ ...s, minLrRatio: 0.1 }, 110)).toBeCloseTo(0.1);
    expect(learningRate(s, 500)).toBeCloseTo(0);
  });

  it("cosine follows 0.5 (1 + cos(pi p))", () => {
    const s = { kind: "cosine" as const, lr: 2, warmupSteps: 0, totalSteps: 100 };
    expect(learningRate(s, 0)).toBeCloseTo(2);
    expect(learningRate(s, 25)).toBeCloseTo(1 + Math.cos(Math.PI / 4));
    expect(learningRate(s, 50)).toBeCloseTo(1);
    expect(learningRate(s, 100)).toBeCloseTo(0);
    expect(learningRate({ ...s, minLrRatio: 0.5 }, 100)).toBeCloseTo(1);
  });
});

describe("validateSchedule", () => {
  it("rejects unknown kinds, negative rates, missing totals and bad floors", () => {
    const bad = [
      { kind: "step" as never, lr: 1 },
      { kind: "constant" as const, lr: -1 },
      { kind: "constant" as const, lr: 1, warmupSteps: 1.5 },
      { kind: "cosine" as const, lr: 1 },
      { kind: "linear" as const, lr: 1, totalSteps: 10, minLrRatio: 2 },
    ];
    for (const s of bad) expect(() => validateSchedule(s)).toThrow(TrainerConfigError);
    expect(() => validateSchedule({ kind: "cosine", lr: 1, totalSteps: 5 })).not.toThrow();
  });
});
