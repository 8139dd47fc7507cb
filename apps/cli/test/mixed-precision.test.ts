// `anllm train --dtype f16` (mixed precision: f32 weights and AdamW state, f16 forward and
// backward, dynamic loss scaling) on the small preset, on the WebGPU device: the loss curve
// follows the f32 run's on the same batches, and the metrics carry the loss scale.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMetrics } from "@anllm/trainer/node";
import { describe, expect, it } from "vitest";
import { type AnyJson, cliJson, FIXTURES } from "./helpers";

process.env.ANLLM_DEVICE = "webgpu";
// the kernel choices do not matter here; tuning would time every candidate in f32 and in f16
process.env.ANLLM_AUTOTUNE = "0";
const tmp = () => mkdtempSync(join(tmpdir(), "anllm-mixed-"));

/**
 * Mixed precision vs f32 on the small preset: largest |loss difference| over 12 steps on the same
 * batches (f16 activations and gradients round every op's output to 2^-11 relative; measured
 * 1e-4 on this machine).
 */
const MIXED_LOSS_BOUND = 0.01;

describe("anllm train --dtype f16", () => {
  it("mixed precision on the small preset follows the f32 loss curve", async () => {
    const run = async (dtype: string) => {
      const out = join(tmp(), "run");
      const j = await cliJson<AnyJson>(
        "train",
        "--model",
        "small",
        "--data",
        join(FIXTURES, "corpus"),
        "--batch-size",
        "2",
        "--seq-len",
        "64",
        "--steps",
        "12",
        "--lr",
        "3e-3",
        "--warmup",
        "2",
        "--dtype",
        dtype,
        "--out",
        out,
      );
      return { j, metrics: readMetrics(join(out, "metrics.jsonl")) };
    };
    const f32 = await run("f32");
    const f16 = await run("f16");
    const a: number[] = f32.j.losses;
    const b: number[] = f16.j.losses;
    expect(b).toHaveLength(12);
    const diffs = b.map((l, i) => Math.abs(l - (a[i] as number)));
    console.log(
      `mixed precision vs f32: largest |loss difference| ${Math.max(...diffs).toFixed(4)}`,
    );
    expect(Math.max(...diffs)).toBeLessThan(MIXED_LOSS_BOUND);
    expect(b[11] as number).toBeLessThan((b[0] as number) - 0.5);
    expect(f16.metrics.every((m) => m.lossScale === 65536)).toBe(true);
    expect(f32.metrics.every((m) => m.lossScale === undefined)).toBe(true);
  }, 600_000);
});
