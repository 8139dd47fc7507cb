// Checkpoints: weights (model.safetensors with the parameter map's names + the caller's
// config.json, i.e. Hugging Face layout when the names and config are HF ones), optimiser moments
// (optimizer.safetensors), and trainer-state.json (step, schedule, RNG, data cursor, caller state).
// Each checkpoint is written into a temp folder, fsynced and renamed; latest.json is written last.

import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { assignInPlace, type SeededRandomState, type Tensor, tensor } from "@anllm/tensor";
import {
  atomicWrite,
  fsErrorText,
  makeDirs,
  OutputPathError,
  readSafetensorsHeader,
  readSafetensorsTensor,
  type SafetensorsHeader,
  type TensorSource,
  writeSafetensors,
} from "@anllm/tensor/io";
import type { AdamW, AdamWHyper } from "./adamw";
import { publishDir, writeFileSynced } from "./atomic";
import { CheckpointError } from "./errors";
import type { ScheduleOptions } from "./schedule";

/** Any JSON value (data-loader cursors and caller state are opaque JSON). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Contents of trainer-state.json. */
export interface TrainerState {
  format: "anllm-trainer-checkpoint";
  version: 1;
  /** optimiser steps completed */
  step: number;
  totalTokens: number;
  schedule: ScheduleOptions;
  optimizer: AdamWHyper & { t: number };
  rng: SeededRandomState;
  /** the batch stream's cursor after the last batch of `step` */
  dataCursor: Json;
  /** caller's extra state (e.g. the CLI's resolved options) */
  extra: Json;
  /** dynamic loss scaling state (mixed precision); absent or null when off */
  lossScale?: { scale: number; goodSteps: number } | null;
  /** parameter names and shapes, checked on restore */
  params: Record<string, number[]>;
  createdAt: string;
}

/** Writes and reads the weights of a checkpoint; the default is model.safetensors by parameter name. */
export interface WeightsIO {
  save(dir: string, params: Map<string, Tensor>): Promise<void>;
  load(dir: string, params: Map<string, Tensor>): Promise<void>;
}

/** Content of `<root>/latest.json`, the pointer to the newest complete checkpoint. */
export interface LatestPointer {
  step: number;
  dir: string;
}

/** Folder name of the checkpoint of `step`. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

async function readParamData(p: Tensor): Promise<Float32Array> {
  return (await p.data()) as Float32Array;
}

/** f32 sources for `tensors` under `<prefix><name>`, sorted by name; read back one at a time. */
function sources(tensors: Map<string, Tensor>, prefix = ""): TensorSource[] {
  return [...tensors.keys()].sort().map((n) => {
    const t = tensors.get(n) as Tensor;
    return { name: prefix + n, shape: [...t.shape], data: () => readParamData(t) };
  });
}

/** Default weights IO: model.safetensors (f32, HF "pt" metadata) keyed by parameter name. */
export const safetensorsWeights: WeightsIO = {
  async save(dir, params) {
    await writeSafetensors(join(dir, "model.safetensors"), sources(params), "f32");
  },
  async load(dir, params) {
    await restoreTensors(join(dir, "model.safetensors"), params, "");
  },
};

/** Copies tensors `<prefix><name>` of a safetensors file into `targets` (shapes must match). */
export async function restoreTensors(
  path: string,
  targets: Map<string, Tensor>,
  prefix: string,
  header?: SafetensorsHeader,
): Promise<void> {
  const h = header ?? (await readSafetensorsHeader(path));
  for (const [name, t] of targets) {
    const host = await readSafetensorsTensor(path, h, prefix + name);
    if (host.shape.join(",") !== t.shape.join(",")) {
      throw new CheckpointError(
        path,
        `tensor "${prefix + name}" has shape [${host.shape}], the parameter has [${t.shape}]`,
      );
    }
    const src = tensor(host.data, [...host.shape]);
    assignInPlace(t, src);
    src.dispose();
  }
}

/** What {@link saveCheckpoint} writes. */
export interface CheckpointContent {
  params: Map<string, Tensor>;
  optimizer: AdamW;
  state: Omit<TrainerState, "format" | "version" | "optimizer" | "params" | "createdAt">;
  /** written as config.json (e.g. the HF model config) */
  config?: Json;
  /** extra small text files written into the checkpoint (e.g. tokenizer files) */
  files?: Record<string, string>;
  weights?: WeightsIO;
}

/**
 * Writes checkpoint `step` under `root` atomically, then points latest.json at it, then deletes
 * all but the newest `keep` checkpoints. Returns the checkpoint folder.
 */
export async function saveCheckpoint(
  root: string,
  c: CheckpointContent,
  keep = 2,
): Promise<string> {
  makeDirs(root);
  const name = checkpointName(c.state.step);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  try {
    await writeContent(tmp, c);
  } catch (e) {
    // free the space of the partial folder; the previous checkpoint and latest.json are untouched
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw await writeFailure(root, join(root, name), e);
  }
  const dest = join(root, name);
  await publishDir(tmp, dest);
  const pointer: LatestPointer = { step: c.state.step, dir: name };
  await atomicWrite(join(root, "latest.json"), `${JSON.stringify(pointer)}\n`);
  await pruneCheckpoints(root, keep);
  return dest;
}

/** A failed checkpoint write as a CheckpointError naming the file and the checkpoint still valid. */
async function writeFailure(root: string, dest: string, e: unknown): Promise<unknown> {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (!code && !(e instanceof OutputPathError)) return e;
  const file = e instanceof OutputPathError ? e.path : ((e as { path?: string }).path ?? dest);
  const detail = e instanceof OutputPathError ? e.detail : `cannot write: ${fsErrorText(e)}`;
  let kept = " No earlier checkpoint exists.";
  try {
    const prev = await latestCheckpoint(root);
    if (prev) kept = ` The newest complete checkpoint is still ${prev}.`;
  } catch {
    // an unreadable latest.json is reported when resuming
  }
  return new CheckpointError(file, `${detail} (while writing ${dest}).${kept}`);
}

/** Writes every file of a checkpoint into the fresh temp folder `tmp`. */
async function writeContent(tmp: string, c: CheckpointContent): Promise<void> {
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  await (c.weights ?? safetensorsWeights).save(tmp, c.params);
  if (c.config !== undefined) {
    await writeFileSynced(join(tmp, "config.json"), `${JSON.stringify(c.config, null, 2)}\n`);
  }
  for (const [f, text] of Object.entries(c.files ?? {})) await writeFileSynced(join(tmp, f), text);
  await saveOptimizer(tmp, c.optimizer);
  const state: TrainerState = {
    format: "anllm-trainer-checkpoint",
    version: 1,
    ...c.state,
    optimizer: { ...c.optimizer.hyper, t: c.optimizer.t },
    params: Object.fromEntries([...c.params].map(([n, p]) => [n, [...p.shape]])),
    createdAt: new Date().toISOString(),
  };
  // trainer-state.json last inside the folder: a folder without it is never trusted.
  await writeFileSynced(join(tmp, "trainer-state.json"), `${JSON.stringify(state, null, 2)}\n`);
}

async function saveOptimizer(dir: string, opt: AdamW): Promise<void> {
  const moments = [...sources(opt.m, "m."), ...sources(opt.v, "v.")];
  await writeSafetensors(join(dir, "optimizer.safetensors"), moments, "f32");
}

async function pruneCheckpoints(root: string, keep: number): Promise<void> {
  const entries = await readdir(root);
  const steps = entries.filter((e) => /^step-\d{8}$/.test(e)).sort();
  for (const old of steps.slice(0, Math.max(0, steps.length - keep))) {
    await rm(join(root, old), { recursive: true, force: true });
  }
  for (const e of entries) {
    if (e.startsWith(".tmp-") && !e.endsWith(`-${process.pid}`)) {
      await rm(join(root, e), { recursive: true, force: true });
    }
  }
}

/** Folder of the newest complete checkpoint under `root`, or null when there is none. */
export async function latestCheckpoint(root: string): Promise<string | null> {
  const ptr = join(root, "latest.json");
  if (!existsSync(ptr)) return null;
  let p: LatestPointer;
  try {
    p = JSON.parse(await readFile(ptr, "utf8")) as LatestPointer;
  } catch (e) {
    throw new CheckpointError(ptr, `is not valid JSON (${(e as Error).message})`);
  }
  const dir = join(root, p.dir);
  if (!existsSync(join(dir, "trainer-state.json"))) {
    throw new CheckpointError(dir, "latest.json points here but trainer-state.json is missing");
  }
  return dir;
}

/**
 * The newest checkpoint folder under `root` other than `failed` whose trainer-state.json,
 * model.safetensors and optimizer.safetensors headers read back (weights are not checked).
 */
export async function previousComplete(
  root: string,
  failed: string | null,
): Promise<string | null> {
  let names: string[];
  try {
    names = (await readdir(root))
      .filter((e) => /^step-\d{8}$/.test(e))
      .sort()
      .reverse();
  } catch {
    return null;
  }
  for (const n of names) {
    const dir = join(root, n);
    if (failed !== null && resolve(dir) === resolve(failed)) continue;
    try {
      await readTrainerState(dir);
      await readSafetensorsHeader(join(dir, "model.safetensors"));
      await readSafetensorsHeader(join(dir, "optimizer.safetensors"));
      return dir;
    } catch {
      // incomplete or corrupt: try an older one
    }
  }
  return null;
}

/** Reads and checks trainer-state.json of checkpoint folder `dir`. */
export async function readTrainerState(dir: string): Promise<TrainerState> {
  const path = join(dir, "trainer-state.json");
  let s: TrainerState;
  try {
    s = JSON.parse(await readFile(path, "utf8")) as TrainerState;
  } catch (e) {
    throw new CheckpointError(path, `cannot read (${(e as Error).message})`);
  }
  if (s.format !== "anllm-trainer-checkpoint" || s.version !== 1) {
    throw new CheckpointError(path, `unknown format ${s.format} v${s.version}`);
  }
  return s;
}

/** Restores parameters and optimiser moments from checkpoint folder `dir`; returns its state. */
export async function loadCheckpoint(
  dir: string,
  params: Map<string, Tensor>,
  optimizer: AdamW,
  weights: WeightsIO = safetensorsWeights,
): Promise<TrainerState> {
  const state = await readTrainerState(dir);
  const names = Object.keys(state.params).sort().join("\n");
  if (names !== [...params.keys()].sort().join("\n")) {
    throw new CheckpointError(dir, "parameter names differ from the model being trained");
  }
  await weights.load(dir, params);
  const optPath = join(dir, "optimizer.safetensors");
  const header = await readSafetensorsHeader(optPath);
  await restoreTensors(optPath, optimizer.m, "m.", header);
  await restoreTensors(optPath, optimizer.v, "v.", header);
  optimizer.t = state.optimizer.t;
  return state;
}
