// Mixed precision in the trainer: f16 forward/backward on f32 master parameters with dynamic loss
// scaling (PyTorch GradScaler's rule): the loss curve follows the f32 run; f16 overflows skip the
// step, leave the parameters untouched and halve the scale; good steps grow it; the scale is in
// the checkpoint, so a resumed run reproduces the uninterrupted one exactly.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initDevice } from "@anllm/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import { TrainerConfigError } from "../src/index";
import { readMetrics, readTrainerState, train } from "../src/node";
import { paramValues, toyParams, toyTrainOptions } from "./toy";

const tmp = () => mkdtempSync(join(tmpdir(), "trainer-ls-"));

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
});

const opts = toyTrainOptions;
const values = paramValues;

/** GradScaler's scale after each step, replayed from the skipped flags. */
function replayScale(skipped: boolean[], init: number, interval: number): number[] {
  let s = init;
  let good = 0;
  return skipped.map((sk) => {
    if (sk) {
      s *= 0.5;
      good = 0;
    } else if (++good >= interval) {
      s *= 2;
      good = 0;
    }
    return s;
  });
}

describe("mixed precision with dynamic loss scaling", () => {
  it("follows the f32 loss curve within 0.01 per step over 40 steps; the parameters stay f32", async () => {
    const ref = await train(opts(toyParams(), 40, "f32"));
    const params = toyParams();
    const mp = await train({ ...opts(params, 40, "f16"), lossScale: {} });
    expect(mp.skippedSteps).toBe(0);
    for (const p of params.values()) expect(p.dtype).toBe("f32");
    const diffs = mp.history.map((m, i) => Math.abs(m.loss - (ref.history[i]?.loss ?? 0)));
    expect(Math.max(...diffs)).toBeLessThan(0.01);
    expect(mp.history.at(-1)!.loss).toBeLessThan(mp.history[0]!.loss * 0.6);
    expect(mp.history.every((m) => m.lossScale === 65536)).toBe(true);
  });

  it("an f16 overflow skips the step without touching the parameters and halves the scale; good steps grow it", async () => {
    const params = toyParams();
    const before = await values(params);
    // 2^30 x a loss of ~1.4: f16 gradients overflow (65504) until the scale has come down
    const res = await train({
      ...opts(params, 30, "f16"),
      lossScale: { init: 2 ** 30, growthInterval: 4 },
    });
    const skipped = res.history.map((m) => m.skipped);
    expect(skipped[0]).toBe(true);
    expect(skipped.filter(Boolean).length).toBeGreaterThanOrEqual(10);
    expect(skipped.filter((s) => !s).length).toBeGreaterThanOrEqual(10);
    expect(res.history.map((m) => m.lossScale)).toEqual(replayScale(skipped, 2 ** 30, 4));
    expect(res.skippedSteps).toBe(skipped.filter(Boolean).length);
    expect(res.stopReason).toBe("completed");
    // the first skipped steps left the parameters exactly as they were
    const firstGood = skipped.indexOf(false);
    const early = await train({
      ...opts(toyParams(), firstGood, "f16"),
      lossScale: { init: 2 ** 30, growthInterval: 4 },
    });
    expect(early.history.every((m) => m.skipped)).toBe(true);
    const p2 = toyParams();
    await train({ ...opts(p2, firstGood, "f16"), lossScale: { init: 2 ** 30, growthInterval: 4 } });
    expect(await values(p2)).toEqual(before);
  });

  it("the scale is checkpointed: a resumed run equals the uninterrupted one (losses and scales)", async () => {
    const ls = { init: 2 ** 20, growthInterval: 3 };
    const full = await train({ ...opts(toyParams(), 14, "f16"), lossScale: ls });
    expect(full.history.some((m) => m.skipped)).toBe(true);
    const out = tmp();
    await train({ ...opts(toyParams(), 7, "f16"), lossScale: ls, outDir: out, checkpointEvery: 7 });
    const st = await readTrainerState(join(out, "checkpoints", "step-00000007"));
    expect(st.lossScale).toEqual({
      scale: full.history[6]!.lossScale,
      goodSteps: expect.any(Number),
    });
    const params = toyParams(99); // different init: everything must come from the checkpoint
    await train({ ...opts(params, 14, "f16"), lossScale: ls, outDir: out, resume: true });
    const all = readMetrics(join(out, "metrics.jsonl"));
    expect(all.map((m) => m.loss)).toEqual(full.history.map((m) => m.loss));
    expect(all.map((m) => m.lossScale)).toEqual(full.history.map((m) => m.lossScale));
  });

  it("runs without loss scaling record no scale; invalid options name their field", async () => {
    const out = tmp();
    const res = await train({ ...opts(toyParams(), 2, "f32"), outDir: out });
    expect(res.history[0]?.lossScale).toBeUndefined();
    expect((await readTrainerState(res.checkpointDir!)).lossScale).toBeNull();
    for (const [field, o] of [
      ["lossScale.init", { init: 0 }],
      ["lossScale.growthFactor", { growthFactor: 1 }],
      ["lossScale.backoffFactor", { backoffFactor: 1 }],
      ["lossScale.growthInterval", { growthInterval: 0.5 }],
    ] as const) {
      const run = train({ ...opts(toyParams(), 2, "f32"), lossScale: o });
      await expect(run).rejects.toThrow(TrainerConfigError);
      await expect(run).rejects.toThrow(`"${field}"`);
    }
  });
});
