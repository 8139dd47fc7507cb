// `anllm train`: continual pre-training with the anchor mask (apps/docs/guide/method.md §Training)
// on a preset or HF model and RedPajama-layout data; flags or a JSON config; --resume continues
// bit-exactly.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultDatasetPath } from "@anllm/redpajama-loader";
import type { Values } from "../args";
import type { Command } from "../command";
import { UsageError } from "../errors";
import { emit } from "../io";
import { ensureDevice } from "../wiring/device";
import { runTraining, storedConfig } from "../wiring/run-training";
import { readConfigFile, resumeConfig, TRAIN_SPECS, toTrainConfig } from "./train-config";

const USAGE =
  "anllm train [--model small|DIR] [--data PATH]... [--anchor ac|ep|none] [--steps N] [--out DIR] [--resume] [--config FILE]";

export const trainCommand: Command = {
  usage: USAGE,
  about: "Trains a Llama-2-architecture model with the anchor attention mask.",
  options: TRAIN_SPECS,
  async run({ values, given }, io) {
    // flags win over the --config file; defaults apply to what neither gives (toTrainConfig)
    const fromFile: Values = typeof values.config === "string" ? readConfigFile(values.config) : {};
    const merged: Values = { ...fromFile };
    for (const [k, v] of Object.entries(given)) if (v !== undefined) merged[k] = v;
    let cfg = toTrainConfig(merged, () => defaultDatasetPath());
    const resume = values.resume === true;
    if (resume) {
      const stored = storedConfig(cfg.out);
      if (!stored || !existsSync(join(cfg.out, "checkpoints", "latest.json"))) {
        throw new UsageError(
          "train",
          `--resume: no checkpoint in ${cfg.out} (give the run's --out folder)`,
        );
      }
      cfg = resumeConfig(stored, cfg, merged);
    } else if (existsSync(join(cfg.out, "checkpoints", "latest.json"))) {
      throw new UsageError(
        "train",
        `--out ${cfg.out} already holds a run; pass --resume to continue it or pick another --out`,
      );
    }
    for (const d of cfg.data) {
      if (!existsSync(d)) throw new UsageError("train", `--data path not found: ${d}`);
    }
    await ensureDevice(io);
    const run = await runTraining(cfg, io, { resume, progress: values.json ? "log" : "auto" });
    const h = run.metrics;
    const summary = {
      ok: true,
      out: cfg.out,
      steps: run.result.step,
      startStep: run.result.startStep,
      stopReason: run.result.stopReason,
      checkpoint: run.result.checkpointDir,
      lossFirst: h[0]?.loss ?? null,
      lossLast: h.at(-1)?.loss ?? null,
      losses: h.map((m) => m.loss),
      tokens: h.at(-1)?.totalTokens ?? 0,
      skippedSteps: run.result.skippedSteps,
      wallMs: run.result.wallMs,
      config: cfg,
    };
    emit(io, values.json === true, summary, () =>
      [
        `trained ${cfg.model} for ${run.result.step} steps (${run.result.stopReason}) in ${(run.result.wallMs / 1000).toFixed(1)} s`,
        `loss ${summary.lossFirst?.toFixed(4)} -> ${summary.lossLast?.toFixed(4)}`,
        `checkpoint: ${run.result.checkpointDir}`,
        `metrics: ${join(cfg.out, "metrics.jsonl")}, plot: ${join(cfg.out, "loss-curve.svg")}`,
      ].join("\n"),
    );
    run.loaded.model.dispose();
    return 0;
  },
};
