// HF model folders: config.json + model.safetensors, or shards listed by
// model.safetensors.index.json; PyTorch folders (pytorch_model.bin, or shards listed by
// pytorch_model.bin.index.json) are read too, through @anllm/tensor/io's restricted torch.save
// reader. Validates names/shapes against the model's ParamSpecs and writes the safetensors layout
// atomically (each file via a temp file, fsync and rename; the index last).
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { isAbsolute, join, resolve, sep } from "node:path";
import { f32ToF16Checked } from "@anllm/tensor";
import {
  atomicWrite,
  SafetensorsFile,
  storedBytes,
  type TensorSource,
  TorchBinFile,
  writeSafetensors,
} from "@anllm/tensor/io";
import { configFromHF, configToHF, type LlamaConfig } from "./config";
import { WeightsError } from "./errors";
import { type ParamSpec, paramSpecs, type WeightDType } from "./spec";

const INDEX = "model.safetensors.index.json";
const SINGLE = "model.safetensors";
const BIN_INDEX = "pytorch_model.bin.index.json";
const BIN_SINGLE = "pytorch_model.bin";

/** What the reader needs of an open weights file (safetensors or torch.save). */
interface WeightFile {
  readonly path: string;
  readonly entries: Map<string, { shape: number[]; dtype: "F32" | "F16" | "BF16" }>;
  entry(name: string): { shape: number[]; dtype: "F32" | "F16" | "BF16" };
  readF32(name: string): Promise<Float32Array<ArrayBuffer>>;
  /** Raw little-endian bytes (safetensors files; torch.save files decode through readF32). */
  readBytes?(name: string): Promise<Uint8Array<ArrayBuffer>>;
  close(): Promise<void>;
}
/** Buffers HF keeps in old checkpoints that are derived, not learned: ignored on load. */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$|^rope\.freqs$/;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Read and parse `<dir>/config.json`. */
export async function readConfig(dir: string): Promise<LlamaConfig> {
  const file = join(dir, "config.json");
  let text: string;
  try {
    // reading a FIFO would block until a writer appears: only regular files are read
    if (!(await stat(file)).isFile()) throw new Error("not a regular file");
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new WeightsError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WeightsError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return configFromHF(json, file);
}

/**
 * Every weight_map entry must name a file inside the model folder: a string that is a plain
 * relative path (no absolute path, no ".." leading out), so an index cannot make the loader read
 * arbitrary files.
 */
function checkShardNames(dir: string, indexPath: string, weightMap: object): void {
  const root = resolve(dir);
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string" || shard === "") {
      throw new WeightsError(
        `${indexPath}: weight_map entry "${name}" must be a file name, got ${JSON.stringify(shard)}`,
      );
    }
    const target = resolve(root, shard);
    if (isAbsolute(shard) || !target.startsWith(root + sep)) {
      throw new WeightsError(
        `${indexPath}: weight_map entry "${name}" points outside the model folder (${JSON.stringify(shard)}); shards must be files inside ${dir}`,
      );
    }
  }
}

/** All tensors of a checkpoint directory, each mapped to the open file that holds it. */
export class CheckpointReader {
  private constructor(
    readonly dir: string,
    readonly files: WeightFile[],
    readonly where: Map<string, WeightFile>,
  ) {}

  /**
   * Open `dir`: model.safetensors.index.json, else model.safetensors, else (PyTorch folders)
   * pytorch_model.bin.index.json, else pytorch_model.bin.
   */
  static async open(dir: string): Promise<CheckpointReader> {
    let indexPath = join(dir, INDEX);
    let shardNames: string[];
    let weightMap: Record<string, string> | null = null;
    let openFile: (path: string) => Promise<WeightFile> = SafetensorsFile.open;
    if (!(await exists(indexPath)) && !(await exists(join(dir, SINGLE)))) {
      if ((await exists(join(dir, BIN_INDEX))) || (await exists(join(dir, BIN_SINGLE)))) {
        indexPath = join(dir, BIN_INDEX);
        openFile = TorchBinFile.open;
      }
    }
    const single = openFile === SafetensorsFile.open ? SINGLE : BIN_SINGLE;
    if (await exists(indexPath)) {
      let idx: { weight_map?: Record<string, string> };
      if (!(await stat(indexPath)).isFile()) {
        throw new WeightsError(`${indexPath}: not a regular file (a FIFO or device?)`);
      }
      try {
        idx = JSON.parse(await readFile(indexPath, "utf8"));
      } catch (e) {
        throw new WeightsError(`${indexPath}: invalid JSON (${(e as Error).message})`);
      }
      if (!idx.weight_map || typeof idx.weight_map !== "object") {
        throw new WeightsError(`${indexPath}: missing "weight_map" object`);
      }
      weightMap = idx.weight_map;
      checkShardNames(dir, indexPath, weightMap);
      shardNames = [...new Set(Object.values(weightMap))].sort();
    } else if (await exists(join(dir, single))) {
      shardNames = [single];
    } else {
      const listing = await readdir(dir).catch(() => [] as string[]);
      throw new WeightsError(
        `${dir}: no ${SINGLE}, ${INDEX}, ${BIN_SINGLE} or ${BIN_INDEX} found (directory holds: ${listing.join(", ") || "nothing"})`,
      );
    }
    const files: WeightFile[] = [];
    try {
      for (const s of shardNames) files.push(await openFile(join(dir, s)));
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    const where = new Map<string, WeightFile>();
    for (const f of files) for (const name of f.entries.keys()) where.set(name, f);
    if (weightMap) {
      for (const [name, shard] of Object.entries(weightMap)) {
        const f = where.get(name);
        if (!f?.path.endsWith(shard)) {
          await Promise.all(files.map((x) => x.close()));
          throw new WeightsError(
            `${indexPath}: tensor "${name}" is mapped to ${shard}, which does not contain it`,
          );
        }
      }
    }
    return new CheckpointReader(dir, files, where);
  }

  /** Names of all tensors, ignored derived buffers (rotary inv_freq) excluded. */
  names(): string[] {
    return [...this.where.keys()].filter((n) => !IGNORED.test(n));
  }

  /**
   * Check the checkpoint against the expected parameters; throws one WeightsError naming every
   * missing, extra or mis-shaped tensor (with expected vs actual shape and the file).
   */
  validate(specs: ParamSpec[]): void {
    const problems: string[] = [];
    const expected = new Set(specs.map((s) => s.name));
    for (const s of specs) {
      const f = this.where.get(s.name);
      if (!f) {
        problems.push(`missing tensor "${s.name}" (expected shape [${s.shape}])`);
        continue;
      }
      const actual = f.entry(s.name).shape;
      if (actual.length !== s.shape.length || actual.some((d, i) => d !== s.shape[i])) {
        problems.push(
          `tensor "${s.name}" in ${f.path}: expected shape [${s.shape}], got [${actual}]`,
        );
      }
    }
    for (const name of this.names()) {
      if (!expected.has(name)) {
        problems.push(`unexpected tensor "${name}" in ${this.where.get(name)?.path}`);
      }
    }
    if (problems.length > 0) {
      const shown = problems.slice(0, 20).join("\n  ");
      const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : "";
      throw new WeightsError(`checkpoint ${this.dir} does not match the model:\n  ${shown}${more}`);
    }
  }

  /** The file holding tensor `name` (for messages). */
  fileOf(name: string): string {
    return this.where.get(name)?.path ?? this.dir;
  }

  /** Decode one tensor to f32. */
  async readF32(name: string): Promise<Float32Array<ArrayBuffer>> {
    const f = this.where.get(name);
    if (!f) throw new WeightsError(`checkpoint ${this.dir}: no tensor named "${name}"`);
    return f.readF32(name);
  }

  /**
   * One tensor as IEEE half codes: an F16 tensor's bytes as they are (no f32 copy on the host),
   * F32/BF16 converted, refusing values beyond f16's range (F16RangeError naming file and tensor).
   */
  async readF16(name: string): Promise<Uint16Array<ArrayBuffer>> {
    const f = this.where.get(name);
    if (!f) throw new WeightsError(`checkpoint ${this.dir}: no tensor named "${name}"`);
    if (f.entry(name).dtype === "F16" && f.readBytes) {
      const bytes = await f.readBytes(name);
      return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    }
    return f32ToF16Checked(await f.readF32(name), `${f.path}: tensor "${name}"`);
  }

  /** Shape and stored dtype of tensor `name`. */
  info(name: string): { shape: number[]; dtype: "F32" | "F16" | "BF16" } {
    const f = this.where.get(name);
    if (!f) throw new WeightsError(`checkpoint ${this.dir}: no tensor named "${name}"`);
    const e = f.entry(name);
    return { shape: [...e.shape], dtype: e.dtype };
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
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
  const reader = await CheckpointReader.open(src);
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
