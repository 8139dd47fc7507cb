// Where model, data and optimiser meet: builds the model and tokenizer, the loader stream and the
// loss closure, runs @anllm/trainer, and writes the run folder's train-config.json and
// loss-curve.svg. Shared by `anllm train` and `anllm demo`.

import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parsePolicy } from "@anllm/anchor-mask";
import {
  configToHF,
  formatBytes,
  type LlamaConfig,
  type ModelBatch,
  memoryReport,
  resolveModelDType,
} from "@anllm/llama2-model";
import type { Batch, Tokenizer } from "@anllm/redpajama-loader";
import { getDevice, OutOfMemoryError } from "@anllm/tensor";
import { atomicWrite, makeDirs } from "@anllm/tensor/io";
import {
  CheckpointError,
  type Json,
  type ProgressMode,
  type StepMetrics,
  type TrainResult,
} from "@anllm/trainer";
import { latestCheckpoint, readMetrics, train } from "@anllm/trainer/node";
import type { TrainConfig } from "../commands/train-config";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { lossCurveSvg } from "../plot";
import {
  batchTokens,
  loaderStream,
  parseIdRanges,
  skippedJson,
  skippedSummary,
  toModelBatch,
} from "./data";
import { anllmMeta, freshModel, hfFolderFiles, type LoadedModel, loadModelDir } from "./model";
import { separatorIds } from "./policy";
import { loadTokenizer } from "./tokenizer";
import { tuneForTraining } from "./tune";

/** Result of {@link runTraining}. */
export interface TrainingRun {
  result: TrainResult;
  loaded: LoadedModel;
  /** metrics of every step of the run, including steps before a resume */
  metrics: StepMetrics[];
  /** records the loader skipped, by reason, with the first samples (file:line) */
  skippedRecords: ReturnType<typeof skippedJson>;
}

/** A run folder's own file (train-config.json) is unreadable or malformed. */
export class RunFolderError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "RunFolderError";
  }
}

/** Builds the model for `cfg` (fresh preset or a folder to continue pre-training). */
export async function buildModel(cfg: TrainConfig): Promise<LoadedModel> {
  if (existsSync(cfg.model)) {
    if (cfg.initStd !== undefined)
      throw new UsageError(
        "train",
        `--init-std initialises a fresh preset; --model ${cfg.model} is a folder whose weights are continued`,
      );
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
    initStd: cfg.initStd,
  });
}

/** The train-config.json of run folder `out`, or null when there is none. */
export function storedConfig(out: string): TrainConfig | null {
  const p = join(out, "train-config.json");
  if (!existsSync(p)) return null;
  if (!statSync(p).isFile()) throw new RunFolderError(p, "is not a regular file");
  let obj: unknown;
  try {
    obj = JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    throw new RunFolderError(p, `is not valid JSON (${(e as Error).message})`);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new RunFolderError(p, "must hold a JSON object (the options of the run)");
  }
  const c = obj as Record<string, unknown>;
  for (const [k, type] of [
    ["model", "string"],
    ["out", "string"],
    ["seqLen", "number"],
    ["steps", "number"],
  ] as const) {
    if (typeof c[k] !== type) {
      throw new RunFolderError(p, `field "${k}" must be a ${type}, got ${JSON.stringify(c[k])}`);
    }
  }
  if (!Array.isArray(c.data) || !c.data.every((d) => typeof d === "string")) {
    throw new RunFolderError(
      p,
      `field "data" must be a list of paths, got ${JSON.stringify(c.data)}`,
    );
  }
  return c as unknown as TrainConfig;
}

/** The cost of training beyond the model's positions, for the --extend-positions messages. */
function positionCost(seqLen: number, max: number): string {
  const x = (seqLen / max) ** 2;
  return (
    `positions ${max}..${seqLen - 1} were never trained (RoPE extrapolation), and attention costs ` +
    `grow with the square of the length: one ${seqLen}-token row costs about ${x.toFixed(x < 10 ? 1 : 0)}x ` +
    `the attention work and memory of a ${max}-token row`
  );
}

/** Refuses --seq-len above the model's positions unless --extend-positions; extends them if given. */
function checkPositions(cfg: TrainConfig, model: LoadedModel["model"], io: Io): void {
  const max = model.config.maxSeqLen;
  if (cfg.seqLen <= max) return;
  if (!cfg.extendPositions) {
    throw new UsageError(
      "train",
      `--seq-len ${cfg.seqLen} exceeds the model's max_position_embeddings ${max}; ` +
        `pass --extend-positions to train at this length anyway (${positionCost(cfg.seqLen, max)})`,
    );
  }
  io.err(
    `warning: --extend-positions: max_position_embeddings ${max} -> ${cfg.seqLen}; ${positionCost(cfg.seqLen, max)}\n`,
  );
  model.config.maxSeqLen = cfg.seqLen;
}

/** Trains according to `cfg` into `cfg.out` (continuing from its latest checkpoint if `resume`). */
export async function runTraining(
  cfg: TrainConfig,
  io: Io,
  opts: {
    /** true: the latest checkpoint in cfg.out; a string: that checkpoint folder */
    resume: boolean | string;
    progress?: ProgressMode;
    onStep?: (m: StepMetrics) => void;
    signal?: AbortSignal;
  },
): Promise<TrainingRun> {
  makeDirs(cfg.out);
  const loaded = await buildModel(cfg);
  const { model, tokenizer } = loaded;
  try {
    checkPositions(cfg, model, io);
  } catch (e) {
    model.dispose();
    throw e;
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
    // blockSize only when asked: the loader state's fingerprint of earlier runs names { seed }
    shuffle: { seed: cfg.seed, ...(cfg.shuffleBlock ? { blockSize: cfg.shuffleBlock } : {}) },
    epochs: 1_000_000,
    dropLast: true,
  });
  const attention = loaded.anchorMode === "none" ? "causal" : "anchor";
  const window = windowMask(cfg, tokenizer);
  await tuneForTraining(
    io,
    getDevice(),
    model,
    { batch: cfg.batchSize, seqLen: cfg.seqLen, attention },
    cfg.out,
  );
  const nParams = [...model.parameters().values()].reduce((a, t) => a + t.size, 0);
  io.err(
    `model ${cfg.model}: ${(nParams / 1e6).toFixed(2)}M parameters, vocab ${model.config.vocabSize}, ` +
      `anchor ${loaded.anchorMode} (ids ${loaded.anchors.ids.join(",") || "-"}), attention ${attention}` +
      `${window ? `, mask ${cfg.mask} (separator ids ${window.separatorIds.join(",")})` : ""}\n`,
  );
  // --dtype f16: mixed precision (f32 master weights and AdamW state, f16 compute, loss scaling)
  const { dtype: compute, note } = resolveModelDType(cfg.dtype, getDevice());
  if (note) io.err(`note: --dtype f16: ${note}\n`);
  if (compute === "f16")
    io.err("mixed precision: f16 forward and backward, dynamic loss scaling\n");
  const lossIds = cfg.lossIds !== undefined ? idSet(parseIdRanges(cfg.lossIds)) : undefined;
  const result = await trainOrExplainOom(cfg, model.config, compute, () =>
    train<Batch>({
      stepData: () => ({ skippedRecords: skippedJson(data.report(), 0) }) as unknown as Json,
      params: model.parameters(),
      loss: (b) =>
        model.loss(withLossIds(toModelBatch(b, attention, window), lossIds), {
          ...(compute === "f16" ? { compute: "f16" as const } : {}),
          ...(cfg.checkpointActivations ? { checkpointActivations: true } : {}),
        }),
      ...(compute === "f16" ? { lossScale: {} } : {}),
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
        ...hfFolderFiles(loaded),
      },
      progress: opts.progress ?? "auto",
      ...(opts.onStep ? { onStep: opts.onStep } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    }).catch((e: unknown) => {
      throw withResumeHint(e, cfg.out);
    }),
  );
  const report = data.report();
  if (report) io.err(`${skippedSummary(report)}\n`);
  const metrics = readMetrics(join(cfg.out, "metrics.jsonl"));
  await atomicWrite(
    join(cfg.out, "loss-curve.svg"),
    lossCurveSvg(
      metrics.map((m) => [m.step, m.loss] as [number, number]),
      `training loss (${cfg.model}, anchor ${cfg.anchor})`,
    ),
  );
  return { result, loaded, metrics, skippedRecords: skippedJson(report) };
}

/** A resume failure that names an older complete checkpoint gets the CLI flag to use it. */
function withResumeHint(e: unknown, out: string): unknown {
  if (!(e instanceof CheckpointError) || !e.previous) return e;
  const name = basename(e.previous);
  const err = new CheckpointError(e.path, e.detail);
  err.message += `. The previous checkpoint ${name} is complete: continue from it with --resume-from ${name} --out ${out}`;
  return err;
}

/**
 * Runs `run`; an OutOfMemoryError comes back with what would fit: the step's memory now (from
 * memoryReport) and with --dtype f16, --checkpoint-activations, half the batch or half the
 * sequence, against the device's limit; the run's last checkpoint is untouched (the trainer
 * writes none after a failed step).
 */
export async function trainOrExplainOom<T>(
  cfg: TrainConfig,
  config: LlamaConfig,
  compute: "f32" | "f16",
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof OutOfMemoryError)) throw e;
    const last = await latestCheckpoint(join(cfg.out, "checkpoints")).catch(() => null);
    const hint = `${fitHint(cfg, config, compute, e.limitBytes)}. ${
      last
        ? `The last checkpoint (${last}) is intact: change the options and --resume`
        : "No checkpoint was written yet"
    }`;
    throw new OutOfMemoryError(e.what, e.bytes, e.allocatedBytes, e.limitBytes, hint);
  }
}

/** The options that would make a training step fit `limit` bytes, by memoryReport. */
export function fitHint(
  cfg: TrainConfig,
  config: LlamaConfig,
  compute: "f32" | "f16",
  limit: number | undefined,
): string {
  const gib = formatBytes;
  const need = (batch: number, seqLen: number, c: "f32" | "f16", ckpt: boolean) => {
    const t = memoryReport(config, { batch, seqLen, compute: c }).training.totalBytes;
    return ckpt ? t.checkpointed : t.plain;
  };
  const ckpt = cfg.checkpointActivations === true;
  const now = need(cfg.batchSize, cfg.seqLen, compute, ckpt);
  const options: [string, number][] = [];
  if (compute === "f32")
    options.push(["--dtype f16", need(cfg.batchSize, cfg.seqLen, "f16", ckpt)]);
  if (!ckpt)
    options.push(["--checkpoint-activations", need(cfg.batchSize, cfg.seqLen, compute, true)]);
  if (cfg.batchSize > 1) {
    const b = Math.ceil(cfg.batchSize / 2);
    options.push([
      `--batch-size ${b} --grad-accum ${cfg.gradAccum * 2}`,
      need(b, cfg.seqLen, compute, ckpt),
    ]);
  }
  if (cfg.seqLen > 2) {
    const l = Math.ceil(cfg.seqLen / 2);
    options.push([`--seq-len ${l}`, need(cfg.batchSize, l, compute, ckpt)]);
  }
  const list = options.map(([o, b]) => `${o}: ${gib(b)}`).join(", ");
  // buffers are pooled and rounded up: count an option as fitting with 10% to spare
  const fits =
    limit === undefined ? [] : options.filter(([, b]) => b <= 0.9 * limit).map(([o]) => o);
  return (
    `a training step here needs about ${gib(now)} (weights, gradients, AdamW state, activations, by memoryReport); ` +
    `with ${list}` +
    (limit === undefined
      ? ""
      : fits.length > 0
        ? `; within the limit: ${fits.join(" or ")}`
        : "; none of these fits the limit: raise ANLLM_DEVICE_MEMORY or use a larger device")
  );
}

/** `--mask sepllm[:...]`: the window policy and its separator ids in the run's tokenizer. */
function windowMask(cfg: TrainConfig, tokenizer: Tokenizer) {
  if (!cfg.mask) return undefined;
  const policy = parsePolicy(cfg.mask);
  if (policy.kind !== "sepllm" && policy.kind !== "sink") return undefined;
  const named = [{ name: policy.kind, spec: cfg.mask, policy }];
  return { policy, separatorIds: separatorIds(tokenizer, named) };
}

/** --loss-ids: HF-style labels that keep only the scored ids (-100 elsewhere: not scored). */
function withLossIds(b: ModelBatch, scored: ((id: number) => boolean) | undefined): ModelBatch {
  if (!scored) return b;
  return { ...b, labels: Int32Array.from(b.inputIds, (id) => (scored(id) ? id : -100)) };
}

/** A lookup table of the ids in `ranges`, built once per run (not per token and range). */
function idSet(ranges: [number, number][]): (id: number) => boolean {
  const table = new Uint8Array(Math.max(...ranges.map(([, to]) => to)) + 1);
  for (const [from, to] of ranges) table.fill(1, from, to + 1);
  return (id) => table[id] === 1;
}
