// End-to-end behaviour of train(): loss falls, accumulation matches a bigger batch, clipping and
// the NaN/Inf guard work, checkpoints resume bit-exactly (in-process and after a SIGKILL).

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initDevice, mul, type Tensor } from "@anllm/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import { CheckpointError, NonFiniteError, TrainerConfigError } from "../src/index";
import { latestCheckpoint, readMetrics, readTrainerState, train } from "../src/node";
import { paramValues, type ToyBatch, toyLoss, toyParams, toyStream, toyTrainOptions } from "./toy";

const tmp = () => mkdtempSync(join(tmpdir(), "trainer-"));

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
});

const baseOpts = (params: Map<string, Tensor>, steps: number) => toyTrainOptions(params, steps);
const values = paramValues;

describe("train", () => {
  it("lowers the loss on a learnable problem and reports metrics", async () => {
    const params = toyParams();
    const res = await train(baseOpts(params, 40));
    expect(res.stopReason).toBe("completed");
    expect(res.history).toHaveLength(40);
    const first = res.history.slice(0, 3).reduce((a, m) => a + m.loss, 0) / 3;
    const last = res.history.slice(-3).reduce((a, m) => a + m.loss, 0) / 3;
    expect(first).toBeGreaterThan(1.2);
    expect(last).toBeLessThan(first * 0.6);
    const m = res.history[5]!;
    expect(m.lr).toBe(0.05);
    expect(res.history[0]!.lr).toBe(0);
    expect(m.tokens).toBe(8);
    expect(m.gradNorm).toBeGreaterThan(0);
    expect(m.tokensPerSec).toBeGreaterThan(0);
  });

  it("gradient accumulation of 2 x 4 rows gives the update of one 8-row batch", async () => {
    const pa = toyParams();
    const pb = toyParams();
    const big = toyStream(8, 1);
    // the accumulated run sees the same 8 rows split into two halves
    const halves = {
      async *iterate() {
        for await (const b of big.iterate(undefined)) {
          yield { x: b.x.slice(0, 32), y: b.y.slice(0, 4), batch: 4 };
          yield { x: b.x.slice(32), y: b.y.slice(4), batch: 4 };
        }
      },
      cursor: () => 0,
    };
    const opts = { schedule: { kind: "constant" as const, lr: 0.1 }, maxGradNorm: null };
    await train({ ...baseOpts(pa, 1), ...opts, data: toyStream(8, 1) });
    await train({ ...baseOpts(pb, 1), ...opts, data: halves, gradAccum: 2 });
    const [a, b] = [await values(pa), await values(pb)];
    for (let i = 0; i < a.length; i++) {
      for (let j = 0; j < a[i]!.length; j++) expect(b[i]![j]).toBeCloseTo(a[i]![j]!, 6);
    }
  });

  it("clips the global gradient norm and flags clipped steps", async () => {
    const params = toyParams();
    const res = await train({ ...baseOpts(params, 3), maxGradNorm: 1e-3 });
    for (const m of res.history) {
      expect(m.gradNorm).toBeGreaterThan(1e-3);
      expect(m.clipped).toBe(true);
    }
    const res2 = await train({ ...baseOpts(toyParams(), 3), maxGradNorm: 1e6 });
    expect(res2.history.every((m) => !m.clipped)).toBe(true);
  });

  it("is reproducible: same seed and data give identical losses", async () => {
    const a = await train(baseOpts(toyParams(), 8));
    const b = await train(baseOpts(toyParams(), 8));
    expect(b.history.map((m) => m.loss)).toEqual(a.history.map((m) => m.loss));
  });
});

describe("non-finite guard", () => {
  const poisoned = (params: Map<string, Tensor>) => (b: ToyBatch, ctx: { step: number }) => {
    const l = toyLoss(params, b);
    return ctx.step === 3 ? mul(l, Number.NaN) : l;
  };

  it('"stop" throws a clear error and checkpoints the last good state', async () => {
    const out = tmp();
    const params = toyParams();
    const run = train({ ...baseOpts(params, 6), loss: poisoned(params), outDir: out });
    await expect(run).rejects.toThrow(NonFiniteError);
    await expect(run).rejects.toThrow(/non-finite loss \(NaN\) at step 3.*after step 2/);
    const dir = await latestCheckpoint(join(out, "checkpoints"));
    expect((await readTrainerState(dir!)).step).toBe(2);
  });

  it('"skip" drops the step without touching the parameters and carries on', async () => {
    const params = toyParams();
    const seen: number[][][] = [];
    const res = await train({
      ...baseOpts(params, 5),
      loss: poisoned(params),
      onNonFinite: "skip",
      onStep: async (m) => {
        if (m.step === 2 || m.step === 3) seen.push(await values(params));
      },
    });
    expect(res.skippedSteps).toBe(1);
    expect(res.history[2]!.skipped).toBe(true);
    expect(seen[1]).toEqual(seen[0]);
    expect(res.history[4]!.loss).toBeLessThan(res.history[0]!.loss);
  });
});

describe("checkpoints and resume", () => {
  it("writes HF-style weights, config, optimiser state and a latest pointer", async () => {
    const out = tmp();
    const res = await train({
      ...baseOpts(toyParams(), 4),
      outDir: out,
      checkpointEvery: 1,
      keepCheckpoints: 2,
      config: { model_type: "toy" },
    });
    const root = join(out, "checkpoints");
    expect(readdirSync(root).filter((d) => d.startsWith("step-"))).toEqual([
      "step-00000003",
      "step-00000004",
    ]);
    expect(res.checkpointDir).toBe(join(root, "step-00000004"));
    for (const f of [
      "model.safetensors",
      "optimizer.safetensors",
      "config.json",
      "trainer-state.json",
    ]) {
      expect(existsSync(join(root, "step-00000004", f))).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(root, "latest.json"), "utf8"))).toEqual({
      step: 4,
      dir: "step-00000004",
    });
    const st = await readTrainerState(res.checkpointDir!);
    expect(st.dataCursor).toBe(4);
    expect(st.optimizer.t).toBe(4);
    expect(readMetrics(join(out, "metrics.jsonl")).map((m) => m.step)).toEqual([1, 2, 3, 4]);
  });

  it("resumes in-process bit-exactly, ignoring a half-written temp checkpoint", async () => {
    const full = await train({ ...baseOpts(toyParams(), 10), gradAccum: 2 });
    const out = tmp();
    await train({ ...baseOpts(toyParams(), 6), gradAccum: 2, outDir: out, checkpointEvery: 3 });
    // a checkpoint folder cut by a kill: never published, so never trusted
    mkdirSync(join(out, "checkpoints", ".tmp-step-00000009-1"));
    const params = toyParams(99); // different init: everything must come from the checkpoint
    const res = await train({
      ...baseOpts(params, 10),
      loss: (b: ToyBatch) => toyLoss(params, b),
      gradAccum: 2,
      outDir: out,
      resume: true,
    });
    expect(res.startStep).toBe(6);
    expect(res.history.map((m) => m.loss)).toEqual(full.history.slice(6).map((m) => m.loss));
    const all = readMetrics(join(out, "metrics.jsonl"));
    expect(all.map((m) => m.loss)).toEqual(full.history.map((m) => m.loss));
    expect(existsSync(join(out, "checkpoints", ".tmp-step-00000009-1"))).toBe(false);
  });

  it("fails clearly when asked to resume without a checkpoint", async () => {
    await expect(
      train({ ...baseOpts(toyParams(), 2), outDir: tmp(), resume: true }),
    ).rejects.toThrow(CheckpointError);
  });

  it.each([
    ["f32", "0"],
    ["mixed precision with loss scaling", "1"],
  ])(
    "after SIGKILL mid-run, resuming reproduces the uninterrupted run's losses (%s)",
    async (_name, mixed) => {
      const fixture = join(import.meta.dirname, "fixtures", "toy-run.ts");
      const runChild = (out: string, resume: boolean, killAt?: number) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [
              "--conditions=@anllm/source",
              "--import",
              "tsx",
              fixture,
              out,
              "12",
              resume ? "1" : "0",
              "40",
              mixed,
            ],
            { stdio: ["ignore", "pipe", "inherit"] },
          );
          let text = "";
          child.stdout.on("data", (d: Buffer) => {
            text += d.toString();
            if (killAt !== undefined && text.includes(`step ${killAt}\n`)) child.kill("SIGKILL");
          });
          child.on("error", reject);
          child.on("close", (code, signal) => resolve(`${text}exit ${code ?? signal}`));
        });
      const ref = tmp();
      expect(await runChild(ref, false)).toMatch(/done\nexit 0$/);
      const out = tmp();
      const killed = await runChild(out, false, 7);
      expect(killed).toMatch(/exit SIGKILL$/);
      expect(killed).not.toMatch(/done/);
      expect(await runChild(out, true)).toMatch(/done\nexit 0$/);
      const ref12 = readMetrics(join(ref, "metrics.jsonl"));
      const got = readMetrics(join(out, "metrics.jsonl"));
      expect(ref12).toHaveLength(12);
      expect(got.map((m) => m.loss)).toEqual(ref12.map((m) => m.loss));
      expect(got.map((m) => m.lossScale)).toEqual(ref12.map((m) => m.lossScale));
      if (mixed === "1") {
        // the run overflowed, backed off and grew again, and the kill fell inside that history
        expect(ref12.some((m) => m.skipped)).toBe(true);
        expect(new Set(ref12.map((m) => m.lossScale)).size).toBeGreaterThan(2);
      }
    },
  );
});

describe("options", () => {
  it("rejects invalid options with the field name", async () => {
    const p = toyParams();
    const bad: Array<[string, object]> = [
      ["steps", { steps: 0 }],
      ["gradAccum", { gradAccum: 1.5 }],
      ["maxGradNorm", { maxGradNorm: -1 }],
      ["schedule.kind", { schedule: { kind: "warp", lr: 1 } }],
      ["resume", { resume: true }],
      ["params", { params: new Map() }],
    ];
    for (const [field, o] of bad) {
      const run = train({ ...baseOpts(p, 3), ...o } as never);
      await expect(run).rejects.toThrow(TrainerConfigError);
      await expect(run).rejects.toThrow(`"${field}"`);
    }
  });
});
