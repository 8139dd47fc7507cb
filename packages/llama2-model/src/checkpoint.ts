// HF model folders on disk (Node; @anllm/llama2-model/node): a ModelFolder over the file system
// (PyTorch pytorch_model.bin folders included, through @anllm/tensor/io's restricted torch.save
// reader), loading and saving a Llama2 from/to a directory, and folder conversion. Writes the
// safetensors layout atomically (each file via a temp file, fsync and rename; the index last).
// Reading and validation are model-folder.ts's (browser-safe).
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  atomicWrite,
  SafetensorsFile,
  storedBytes,
  type TensorSource,
  TorchBinFile,
  writeSafetensors,
} from "@anllm/tensor/io";
import { configToHF, type LlamaConfig } from "./config";
import { WeightsError } from "./errors";
import { Llama2, type LoadOptions } from "./model";
import { CheckpointReader, INDEX, type ModelFolder, readConfigFrom, SINGLE } from "./model-folder";
import { paramSpecs, type WeightDType } from "./spec";

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** The model folder `dir` on disk. Only regular files are read (a FIFO would block). */
export function nodeModelFolder(dir: string): ModelFolder {
  return {
    label: dir,
    path: (name) => join(dir, name),
    exists: (name) => exists(join(dir, name)),
    list: () => readdir(dir),
    readText: async (name) => {
      const file = join(dir, name);
      if (!(await stat(file)).isFile()) throw new Error("not a regular file (a FIFO or device?)");
      return readFile(file, "utf8");
    },
    openWeights: (name, format) =>
      format === "torch"
        ? TorchBinFile.open(join(dir, name))
        : SafetensorsFile.open(join(dir, name)),
  };
}

/** Read and parse `<dir>/config.json`. */
export function readConfig(dir: string): Promise<LlamaConfig> {
  return readConfigFrom(nodeModelFolder(dir));
}

/** Opens the checkpoint in folder `dir` (see CheckpointReader.open for the layouts). */
export function openCheckpoint(dir: string): Promise<CheckpointReader> {
  return CheckpointReader.open(nodeModelFolder(dir));
}

/** Loads an HF directory (config.json + model.safetensors or shards, or PyTorch .bin; F32/F16/BF16). */
export function loadModel(dir: string, opts: LoadOptions = {}): Promise<Llama2> {
  return Llama2.load(nodeModelFolder(dir), opts);
}

/** Saves config.json + safetensors (atomic per file) so HF transformers can open the directory. */
export async function saveModel(model: Llama2, dir: string, opts: SaveOptions = {}): Promise<void> {
  const sources = paramSpecs(model.config).map((s) => ({
    name: s.name,
    shape: s.shape,
    data: async () => (await model.param(s.name).data()) as Float32Array,
  }));
  await saveModelFolder(dir, model.config, sources, opts);
}

/** Files of a model folder besides the weights and config.json that a conversion copies. */
const SIDE_FILES = [
  "generation_config.json",
  "tokenizer.json",
  "tokenizer.model",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "anllm.json",
];

/** Options of convertModelFolder. */
export interface ConvertOptions {
  /** stored dtype of the output (default: the source's when all its tensors share one, else f32) */
  dtype?: WeightDType;
  maxShardBytes?: number;
}

/**
 * Writes the model folder `src` (safetensors or PyTorch pytorch_model.bin, sharded or not) as an
 * HF safetensors folder `dst`: config.json, model.safetensors (or shards + index) and the side
 * files (tokenizer, generation config, anllm.json). Tensors stream one at a time. The weights are
 * checked against the config first (names and shapes).
 */
export async function convertModelFolder(
  src: string,
  dst: string,
  opts: ConvertOptions = {},
): Promise<{ tensors: number; dtype: WeightDType }> {
  if (resolve(src) === resolve(dst))
    throw new WeightsError(`${dst}: the output folder must differ from the model folder`);
  const config = await readConfig(src);
  const reader = await openCheckpoint(src);
  try {
    reader.validate(paramSpecs(config));
    const names = reader.names();
    const stored = new Set(names.map((n) => reader.info(n).dtype));
    const only = stored.size === 1 ? [...stored][0] : undefined;
    const dtype: WeightDType =
      opts.dtype ?? (only === "F16" ? "f16" : only === "BF16" ? "bf16" : "f32");
    const tensors: TensorSource[] = names.map((name) => ({
      name,
      shape: reader.info(name).shape,
      data: () => reader.readF32(name),
    }));
    await mkdir(dst, { recursive: true });
    await saveModelFolder(dst, config, tensors, { dtype, maxShardBytes: opts.maxShardBytes });
    for (const f of SIDE_FILES) {
      if (await exists(join(src, f))) await atomicWrite(join(dst, f), await readFile(join(src, f)));
    }
    return { tensors: names.length, dtype };
  } finally {
    await reader.close();
  }
}

/** Options for saving a checkpoint directory. */
export interface SaveOptions {
  dtype?: WeightDType;
  /** start a new shard when a file would exceed this many bytes (default 2 GiB) */
  maxShardBytes?: number;
}

function planShards(tensors: TensorSource[], dtype: WeightDType, maxBytes: number) {
  const shards: TensorSource[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const b = storedBytes(t.shape, dtype);
    if (size > 0 && size + b > maxBytes) {
      shards.push([]);
      size = 0;
    }
    (shards[shards.length - 1] as TensorSource[]).push(t);
    size += b;
  }
  return shards;
}

/**
 * Save config.json plus weights in HF layout: one model.safetensors, or numbered shards and an
 * index when the total exceeds maxShardBytes. Stale files of the other layout are removed.
 */
export async function saveModelFolder(
  dir: string,
  config: LlamaConfig,
  tensors: TensorSource[],
  opts: SaveOptions = {},
): Promise<void> {
  const dtype = opts.dtype ?? "f32";
  const shards = planShards(tensors, dtype, opts.maxShardBytes ?? 2 ** 31);
  const hfConfig = { ...configToHF(config), torch_dtype: TORCH_DTYPE[dtype] };
  await atomicWrite(join(dir, "config.json"), `${JSON.stringify(hfConfig, null, 2)}\n`);
  if (shards.length === 1) {
    await writeSafetensors(join(dir, SINGLE), shards[0] as TensorSource[], dtype);
    await rm(join(dir, INDEX), { force: true });
    return;
  }
  const n = shards.length;
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let i = 0; i < n; i++) {
    const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
    const shard = shards[i] as TensorSource[];
    await writeSafetensors(join(dir, name), shard, dtype);
    for (const t of shard) {
      weightMap[t.name] = name;
      total += storedBytes(t.shape, dtype);
    }
  }
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  await atomicWrite(join(dir, INDEX), `${JSON.stringify(index, null, 2)}\n`);
  await rm(join(dir, SINGLE), { force: true });
}

const TORCH_DTYPE: Record<WeightDType, string> = {
  f32: "float32",
  f16: "float16",
  bf16: "bfloat16",
};
