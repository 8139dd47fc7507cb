// Failing disks and bad checkpoints: an output folder that cannot be created (no spin, the real
// reason), a full disk during a checkpoint write (the file named, the older checkpoint intact),
// resuming from a checkpoint with NaN weights or a corrupt newest checkpoint (the previous complete
// one named), and the wording of a non-finite loss on the first step after a resume.

import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initDevice, mul, type Tensor } from "@anllm/tensor";
import {
  OutputPathError,
  readSafetensorsHeader,
  readSafetensorsTensor,
  writeSafetensors,
} from "@anllm/tensor/io";
import { beforeAll, describe, expect, it } from "vitest";
import { CheckpointError, NonFiniteError, type WeightsIO } from "../src/index";
import { MetricsWriter, type StepMetrics } from "../src/metrics";
import {
  latestCheckpoint,
  readMetrics,
  readTrainerState,
  safetensorsWeights,
  train,
} from "../src/node";
import { type ToyBatch, toyLoss, toyParams, toyStream } from "./toy";

const tmp = () => mkdtempSync(join(tmpdir(), "trainer-rel-"));

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
});

function opts(params: Map<string, Tensor>, steps: number, outDir: string) {
  return {
    params,
    loss: (b: ToyBatch) => toyLoss(params, b),
    data: toyStream(8),
    steps,
    schedule: { kind: "constant" as const, lr: 0.05, warmupSteps: 0 },
    progress: "none" as const,
    outDir,
  };
}

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

/** Rewrites tensor `name` of a checkpoint's model.safetensors with `value` in its first element. */
async function poison(file: string, name: string, value: number): Promise<void> {
  const h = await readSafetensorsHeader(file);
  const tensors = [];
  for (const n of h.entries.keys()) {
    const t = await readSafetensorsTensor(file, h, n);
    if (n === name) t.data[0] = value;
    tensors.push({ name: n, shape: t.shape, data: () => t.data });
  }
  await writeSafetensors(file, tensors, "f32");
}

describe("output folder", () => {
  it("refuses an outDir under /proc at once with the reason (no endless recursive mkdir)", async () => {
    const t0 = Date.now();
    const err = await caught(train(opts(toyParams(), 2, "/proc/anllm-x/run")));
    expect(err).toBeInstanceOf(OutputPathError);
    expect(err.message).toBe(
      "/proc/anllm-x/run: cannot create the folder: /proc does not allow new entries (ENOENT)",
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("a full disk during a checkpoint write", () => {
  it("names the file, removes the partial folder and keeps the previous checkpoint", async () => {
    const out = tmp();
    let saves = 0;
    const fullDisk: WeightsIO = {
      async save(dir, params) {
        saves += 1;
        if (saves === 2) {
          // a real ENOSPC from the kernel: /dev/full accepts no bytes
          await writeFile("/dev/full", "x".repeat(1 << 16));
        }
        await safetensorsWeights.save(dir, params);
      },
      load: safetensorsWeights.load,
    };
    const err = await caught(
      train({ ...opts(toyParams(), 4, out), checkpointEvery: 2, weights: fullDisk }),
    );
    expect(err).toBeInstanceOf(CheckpointError);
    const root = join(out, "checkpoints");
    expect(err.message).toContain("no space left on the device (ENOSPC)");
    expect(err.message).toContain(`while writing ${join(root, "step-00000004")}`);
    expect(err.message).toContain(
      `The newest complete checkpoint is still ${join(root, "step-00000002")}.`,
    );
    expect(readdirSync(root).sort()).toEqual(["latest.json", "step-00000002"]);
    expect((await readTrainerState((await latestCheckpoint(root))!)).step).toBe(2);
  });
});

describe("resuming from a bad checkpoint", () => {
  async function twoCheckpoints(): Promise<string> {
    const out = tmp();
    await train({ ...opts(toyParams(), 4, out), checkpointEvery: 2 });
    return out;
  }

  it("refuses NaN or Infinity in checkpoint weights by tensor name and offers the previous one", async () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const out = await twoCheckpoints();
      const root = join(out, "checkpoints");
      await poison(join(root, "step-00000004", "model.safetensors"), "w", value);
      const err = await caught(train({ ...opts(toyParams(9), 6, out), resume: true }));
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err.message).toBe(
        `checkpoint ${join(root, "step-00000004")}: tensor "w" holds NaN or Infinity, so this ` +
          "checkpoint is not a usable state. The previous checkpoint " +
          `${join(root, "step-00000002")} is complete: resume from it instead.`,
      );
      expect((err as CheckpointError).previous).toBe(join(root, "step-00000002"));
      const res = await train({
        ...opts(toyParams(9), 6, out),
        resume: (err as CheckpointError).previous!,
      });
      expect(res.startStep).toBe(2);
      expect(res.step).toBe(6);
    }
  });

  it("names the previous complete checkpoint when the newest is truncated", async () => {
    const out = await twoCheckpoints();
    const root = join(out, "checkpoints");
    truncateSync(join(root, "step-00000004", "optimizer.safetensors"), 20);
    const err = await caught(train({ ...opts(toyParams(), 6, out), resume: true }));
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toContain("optimizer.safetensors");
    expect((err as CheckpointError).previous).toBe(join(root, "step-00000002"));
  });

  it("does not call a resumed checkpoint 'the last good state' when its first step is NaN", async () => {
    const out = await twoCheckpoints();
    const params = toyParams();
    const err = await caught(
      train({
        ...opts(params, 6, out),
        loss: (b: ToyBatch) => mul(toyLoss(params, b), Number.NaN),
        resume: true,
      }),
    );
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.message).not.toContain("last good state");
    expect(err.message).toContain(
      `first step after resuming from ${join(out, "checkpoints", "step-00000004")} (after step 4)`,
    );
    expect(existsSync(join(out, "checkpoints", "step-00000004"))).toBe(true);
  });
});

describe("stepData", () => {
  it("records the caller's data with every step's metrics (history and metrics.jsonl)", async () => {
    const out = tmp();
    let calls = 0;
    const res = await train({
      ...opts(toyParams(), 3, out),
      stepData: () => ({ skippedRecords: { total: ++calls } }),
    });
    expect(res.history.map((m) => m.data)).toEqual(
      [1, 2, 3].map((total) => ({ skippedRecords: { total } })),
    );
    expect(readMetrics(join(out, "metrics.jsonl")).map((m) => m.data)).toEqual(
      res.history.map((m) => m.data),
    );
  });
});

describe("metrics of a fresh run", () => {
  it("drops the lines of an earlier run killed before its first checkpoint", async () => {
    const out = tmp();
    await train({ ...opts(toyParams(), 3, out), checkpointEvery: 100 });
    // as if that run had been killed before any checkpoint: only its metrics remain
    rmSync(join(out, "checkpoints"), { recursive: true, force: true });
    const res = await train({ ...opts(toyParams(), 2, out), checkpointEvery: 100 });
    expect(readMetrics(join(out, "metrics.jsonl")).map((m) => m.step)).toEqual([1, 2]);
    expect(res.history.map((m) => m.step)).toEqual([1, 2]);
  });
});

describe("metrics.jsonl on a full disk", () => {
  it("names the file and the reason", () => {
    const link = join(tmp(), "metrics.jsonl");
    symlinkSync("/dev/full", link); // every write to /dev/full fails with ENOSPC
    const w = new MetricsWriter(link);
    const m = { step: 1, loss: 1 } as StepMetrics;
    expect(() => w.write(m)).toThrow(OutputPathError);
    expect(() => w.write(m)).toThrow(
      `${link}: cannot append: no space left on the device (ENOSPC)`,
    );
  });
});
