// Where model, data and optimiser meet: builds the model and tokenizer, the loader stream and the
// loss closure, runs @anllm/trainer, and writes the run folder's train-config.json and
// loss-curve.svg. Shared by `anllm train` and `anllm demo`.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configToHF } from "@anllm/llama2-model";
import type { Batch } from "@anllm/redpajama-loader";
import { atomicWrite } from "@anllm/tensor/io";
import {
  type ProgressMode,
  readMetrics,
  type StepMetrics,
  type TrainResult,
  train,
} from "@anllm/trainer";
import type { TrainConfig } from "../commands/train-config";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { lossCurveSvg } from "../plot";
import { batchTokens, loaderStream, toModelBatch } from "./data";
import { anllmMeta, freshModel, type LoadedModel, loadModelDir } from "./model";
import { loadTokenizer } from "./tokenizer";

/** Result of {@link runTraining}. */
export interface TrainingRun {
  result: TrainResult;
  loaded: LoadedModel;
  /** metrics of every step of the run, including steps before a resume */
  metrics: StepMetrics[];
}

/** Builds the model for `cfg` (fresh preset or a folder to continue pre-training). */
export async function buildModel(cfg: TrainConfig): Promise<LoadedModel> {
  if (existsSync(cfg.model)) {
    const l = await loadModelDir("train", cfg.model, {
      ...(cfg.tokenizer !== "from-model" ? { tokenizer: cfg.tokenizer } : {}),
      anchor: cfg.anchor,
      acInit: cfg.acInit, // training adds <AC> rows to a model that lacks them
    });
    return l;
  }
  if (cfg.tokenizer === "from-model") throw new UsageError("train", "--tokenizer is required here");
  const base = loadTokenizer("train", cfg.tokenizer);
  return freshModel(cfg.model, base, cfg.anchor, {
    seed: cfg.seed,
    acInit: cfg.acInit,
    maxSeqLen: cfg.seqLen,
  });
}

/** Saves train-config.json, or checks it when resuming. */
export function storedConfig(out: string): TrainConfig | null {
  const p = join(out, "train-config.json");
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as TrainConfig) : null;
}

/** Trains according to `cfg` into `cfg.out` (continuing from its latest checkpoint if `resume`). */
export async function runTraining(
  cfg: TrainConfig,
  io: Io,
  opts: {
    resume: boolean;
    progress?: ProgressMode;
    onStep?: (m: StepMetrics) => void;
    signal?: AbortSignal;
  },
): Promise<TrainingRun> {
  mkdirSync(cfg.out, { recursive: true });
  const loaded = await buildModel(cfg);
  const { model, tokenizer } = loaded;
  if (cfg.seqLen > model.config.maxSeqLen) {
    throw new UsageError(
      "train",
      `--seq-len ${cfg.seqLen} exceeds the model's maxSeqLen ${model.config.maxSeqLen}`,
    );
  }
  await atomicWrite(join(cfg.out, "train-config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
  const data = loaderStream({
    source: cfg.data.length === 1 ? cfg.data[0]! : cfg.data,
    tokenizer,
    anchors:
      loaded.anchorMode === "none"
        ? { mode: "none" }
        : loaded.anchorMode === "ep"
          ? { mode: "ep", ids: loaded.anchors.ids }
          : { mode: "ac" },
    mode: cfg.mode,
    contextLength: cfg.seqLen,
    batchSize: cfg.batchSize,
    shuffle: { seed: cfg.seed },
    epochs: 1_000_000,
    dropLast: true,
  });
  const attention = loaded.anchorMode === "none" ? "causal" : "anchor";
  const nParams = [...model.parameters().values()].reduce((a, t) => a + t.size, 0);
  io.err(
    `model ${cfg.model}: ${(nParams / 1e6).toFixed(2)}M parameters, vocab ${model.config.vocabSize}, ` +
      `anchor ${loaded.anchorMode} (ids ${loaded.anchors.ids.join(",") || "-"}), attention ${attention}\n`,
  );
  const result = await train<Batch>({
    params: model.parameters(),
    loss: (b) => model.loss(toModelBatch(b, attention)),
    data,
    steps: cfg.steps,
    gradAccum: cfg.gradAccum,
    batchTokens,
    schedule: {
      kind: cfg.schedule,
      lr: cfg.lr,
      warmupSteps: cfg.warmup,
      totalSteps: cfg.steps,
      minLrRatio: cfg.minLrRatio,
    },
    optimizer: { weightDecay: cfg.weightDecay },
    maxGradNorm: cfg.maxGradNorm > 0 ? cfg.maxGradNorm : null,
    seed: cfg.seed,
    onNonFinite: cfg.onNonFinite ?? "stop",
    outDir: cfg.out,
    checkpointEvery: cfg.checkpointEvery,
    resume: opts.resume,
    config: configToHF(model.config) as never,
    checkpointFiles: {
      "anllm.json": `${JSON.stringify(anllmMeta(loaded, cfg.acInit), null, 2)}\n`,
    },
    progress: opts.progress ?? "auto",
    ...(opts.onStep ? { onStep: opts.onStep } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const metrics = readMetrics(join(cfg.out, "metrics.jsonl"));
  writeFileSync(
    join(cfg.out, "loss-curve.svg"),
    lossCurveSvg(
      metrics.map((m) => [m.step, m.loss] as [number, number]),
      `training loss (${cfg.model}, anchor ${cfg.anchor})`,
    ),
  );
  return { result, loaded, metrics };
}
