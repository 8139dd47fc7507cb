// `anllm train`: continual pre-training with the anchor mask (apps/docs/guide/method.md §Training)
// on a preset or HF model and RedPajama-layout data; flags or a JSON config; --resume continues
// bit-exactly.

import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { defaultDatasetPath } from "@anllm/redpajama-loader";
import type { Values } from "../args";
import type { Command } from "../command";
import { UsageError } from "../errors";
import { emit } from "../io";
import { ensureDevice } from "../wiring/device";
import { checkInputPath, checkOutputDir } from "../wiring/paths";
import { runTraining, storedConfig } from "../wiring/run-training";
import { readConfigFile, resumeConfig, TRAIN_SPECS, toTrainConfig } from "./train-config";

const USAGE =
  "anllm train [--model small|DIR] [--data PATH]... [--anchor ac|ep|none] [--steps N] [--out DIR] [--resume | --resume-from step-N] [--config FILE]";

/** The checkpoint folder of --resume-from NAME (a step-N folder under <out>/checkpoints). */
function resumeFromDir(out: string, name: string): string {
  const dir = join(out, "checkpoints", basename(name));
  if (!/^step-\d+$/.test(basename(name)) || !existsSync(join(dir, "trainer-state.json"))) {
    const root = join(out, "checkpoints");
    const have = existsSync(root) ? readdirSync(root).filter((e) => /^step-\d+$/.test(e)) : [];
    throw new UsageError(
      "train",
      `--resume-from ${name}: no complete checkpoint of that name in ${root}` +
        ` (there: ${have.join(", ") || "none"})`,
    );
  }
  return dir;
}

export const trainCommand: Command = {
  usage: USAGE,
  about: "Trains a Llama-2-architecture model with the anchor attention mask.",
  options: TRAIN_SPECS,
  async run({ values, given }, io) {
    // flags win over the --config file; defaults apply to what neither gives (toTrainConfig)
    if (typeof values.config === "string")
      checkInputPath("train", "--config file", values.config, false);
    const fromFile: Values = typeof values.config === "string" ? readConfigFile(values.config) : {};
    const merged: Values = { ...fromFile };
    for (const [k, v] of Object.entries(given)) if (v !== undefined) merged[k] = v;
    let cfg = toTrainConfig(merged, () => defaultDatasetPath());
    const resumeFrom = typeof values["resume-from"] === "string" ? values["resume-from"] : null;
    if (resumeFrom !== null && values.resume === true) {
      throw new UsageError("train", "--resume and --resume-from exclude each other");
    }
    const resume: boolean | string =
      resumeFrom !== null ? resumeFromDir(cfg.out, resumeFrom) : values.resume === true;
    if (resume) {
      const stored = storedConfig(cfg.out);
      if (!stored || !existsSync(join(cfg.out, "checkpoints", "latest.json"))) {
        throw new UsageError(
          "train",
          `${resumeFrom !== null ? "--resume-from" : "--resume"}: no checkpoint in ${cfg.out} (give the run's --out folder)`,
        );
      }
      cfg = resumeConfig(stored, cfg, merged);
    } else if (existsSync(join(cfg.out, "checkpoints", "latest.json"))) {
      throw new UsageError(
        "train",
        `--out ${cfg.out} already holds a run; pass --resume to continue it or pick another --out`,
      );
    }
    for (const d of cfg.data) checkInputPath("train", "--data path", d);
    checkOutputDir("train", "--out", cfg.out);
    await ensureDevice(io);
    const run = await runTraining(cfg, io, { resume, progress: values.json ? "log" : "auto" });
    const h = run.metrics;
    const finite = h.map((m) => m.loss).filter((l) => Number.isFinite(l));
    const summary = {
      ok: true,
      out: cfg.out,
      steps: run.result.step,
      startStep: run.result.startStep,
      stopReason: run.result.stopReason,
      checkpoint: run.result.checkpointDir,
      // skipped (non-finite) steps are in `losses` as null; first/last are finite losses only
      lossFirst: finite[0] ?? null,
      lossLast: finite.at(-1) ?? null,
      losses: h.map((m) => m.loss),
      tokens: h.at(-1)?.totalTokens ?? 0,
      skippedSteps: run.result.skippedSteps,
      skippedRecords: run.skippedRecords,
      wallMs: run.result.wallMs,
      config: cfg,
    };
    emit(io, values.json === true, summary, () =>
      [
        `trained ${cfg.model} for ${run.result.step} steps (${run.result.stopReason}) in ${(run.result.wallMs / 1000).toFixed(1)} s`,
        `loss ${summary.lossFirst?.toFixed(4) ?? "-"} -> ${summary.lossLast?.toFixed(4) ?? "-"}` +
          (run.result.skippedSteps > 0
            ? ` (${run.result.skippedSteps} steps skipped for a non-finite loss or gradient)`
            : ""),
        `checkpoint: ${run.result.checkpointDir}`,
        `metrics: ${join(cfg.out, "metrics.jsonl")}, plot: ${join(cfg.out, "loss-curve.svg")}`,
      ].join("\n"),
    );
    run.loaded.model.dispose();
    if (run.result.stopReason === "too-many-skips") {
      io.err(
        `anllm train: stopped at step ${run.result.step}: too many consecutive steps had a non-finite loss or gradient ` +
          `(the model or its checkpoint diverged); the last finite loss is ${summary.lossLast ?? "none"}. ` +
          "Try a lower --lr, a longer --warmup, or resume from an earlier checkpoint with --resume-from.\n",
      );
      return 1;
    }
    return 0;
  },
};
