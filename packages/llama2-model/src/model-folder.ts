// HF model folders, independent of where the files live (browser-safe): config.json plus
// model.safetensors, or shards listed by model.safetensors.index.json (and, in Node, PyTorch
// folders). A ModelFolder gives the files; CheckpointReader validates names and shapes against the
// model's ParamSpecs and reads one tensor at a time, so a loader streams tensors to the device.
// Folders on disk come from @anllm/llama2-model/node (nodeModelFolder); in a page, from Files
// (a dropped folder), in-memory buffers, or a base URL fetched file by file.
import { type BytesLike, f32ToF16Checked, SafetensorsReader } from "@anllm/tensor";
import { configFromHF, type LlamaConfig } from "./config";
import { WeightsError } from "./errors";
import type { ParamSpec } from "./spec";

export const INDEX = "model.safetensors.index.json";
export const SINGLE = "model.safetensors";
export const BIN_INDEX = "pytorch_model.bin.index.json";
export const BIN_SINGLE = "pytorch_model.bin";

/** What the reader needs of an open weights file (safetensors or torch.save). */
export interface WeightFile {
  readonly path: string;
  readonly entries: Map<string, { shape: number[]; dtype: "F32" | "F16" | "BF16" }>;
  entry(name: string): { shape: number[]; dtype: "F32" | "F16" | "BF16" };
  readF32(name: string): Promise<Float32Array<ArrayBuffer>>;
  /** Raw little-endian bytes (safetensors files; torch.save files decode through readF32). */
  readBytes?(name: string): Promise<Uint8Array<ArrayBuffer>>;
  close(): Promise<void>;
}

/** The files of one model folder, wherever they are stored. */
export interface ModelFolder {
  /** the folder's path or URL, for messages */
  readonly label: string;
  /** how messages name file `name` of the folder (its path or URL) */
  path(name: string): string;
  /** whether file `name` exists */
  exists(name: string): Promise<boolean>;
  /** top-level names, for the message when no weights are found */
  list(): Promise<string[]>;
  /** the text of file `name`; rejects with an Error whose message says why it cannot be read */
  readText(name: string): Promise<string>;
  /** opens a weights file; "torch" (pytorch_model.bin) only where the folder supports it */
  openWeights(name: string, format: "safetensors" | "torch"): Promise<WeightFile>;
}

/** Buffers HF keeps in old checkpoints that are derived, not learned: ignored on load. */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$|^rope\.freqs$/;

/** Reads and parses config.json of `folder`. */
export async function readConfigFrom(folder: ModelFolder): Promise<LlamaConfig> {
  const file = folder.path("config.json");
  let text: string;
  try {
    text = await folder.readText("config.json");
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
 * Every weight_map entry must name a file inside the model folder: a plain relative path (no
 * absolute path, no ".." leading out), so an index cannot make the loader read arbitrary files.
 */
function checkShardNames(folder: ModelFolder, indexPath: string, weightMap: object): void {
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string" || shard === "") {
      throw new WeightsError(
        `${indexPath}: weight_map entry "${name}" must be a file name, got ${JSON.stringify(shard)}`,
      );
    }
    if (!insideFolder(shard)) {
      throw new WeightsError(
        `${indexPath}: weight_map entry "${name}" points outside the model folder (${JSON.stringify(shard)}); shards must be files inside ${folder.label}`,
      );
    }
  }
}

/** A relative path that stays inside its folder ("sub/a.safetensors" yes; "/x", "../x", "a/../../b" no). */
function insideFolder(rel: string): boolean {
  if (rel.startsWith("/") || rel.includes("\\") || /^[A-Za-z]:/.test(rel)) return false;
  let depth = 0;
  for (const part of rel.split("/")) {
    if (part === "..") depth--;
    else if (part !== "" && part !== ".") depth++;
    if (depth < 0) return false;
  }
  return depth > 0;
}

/** All tensors of a checkpoint directory, each mapped to the open file that holds it. */
export class CheckpointReader {
  private constructor(
    /** the folder's path or URL */
    readonly dir: string,
    readonly files: WeightFile[],
    readonly where: Map<string, WeightFile>,
  ) {}

  /**
   * Opens `folder`: model.safetensors.index.json, else model.safetensors, else (PyTorch folders)
   * pytorch_model.bin.index.json, else pytorch_model.bin.
   */
  static async open(folder: ModelFolder): Promise<CheckpointReader> {
    let index = INDEX;
    let format: "safetensors" | "torch" = "safetensors";
    if (!(await folder.exists(INDEX)) && !(await folder.exists(SINGLE))) {
      if ((await folder.exists(BIN_INDEX)) || (await folder.exists(BIN_SINGLE))) {
        index = BIN_INDEX;
        format = "torch";
      }
    }
    const indexPath = folder.path(index);
    const single = format === "safetensors" ? SINGLE : BIN_SINGLE;
    let shardNames: string[];
    let weightMap: Record<string, string> | null = null;
    if (await folder.exists(index)) {
      let idx: { weight_map?: Record<string, string> };
      let text: string;
      try {
        text = await folder.readText(index);
      } catch (e) {
        throw new WeightsError(`${indexPath}: ${(e as Error).message}`);
      }
      try {
        idx = JSON.parse(text);
      } catch (e) {
        throw new WeightsError(`${indexPath}: invalid JSON (${(e as Error).message})`);
      }
      if (!idx.weight_map || typeof idx.weight_map !== "object") {
        throw new WeightsError(`${indexPath}: missing "weight_map" object`);
      }
      weightMap = idx.weight_map;
      checkShardNames(folder, indexPath, weightMap);
      shardNames = [...new Set(Object.values(weightMap))].sort();
    } else if (await folder.exists(single)) {
      shardNames = [single];
    } else {
      const listing = await folder.list().catch(() => [] as string[]);
      throw new WeightsError(
        `${folder.label}: no ${SINGLE}, ${INDEX}, ${BIN_SINGLE} or ${BIN_INDEX} found (directory holds: ${listing.join(", ") || "nothing"})`,
      );
    }
    const files: WeightFile[] = [];
    try {
      for (const s of shardNames) files.push(await folder.openWeights(s, format));
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
    return new CheckpointReader(folder.label, files, where);
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

/** A file of a folder kept in memory or as a Blob (a File from a file input or a drop). */
type FolderFile = BytesLike;

/** Opens a safetensors file of an in-memory/Blob folder; torch.save files are Node-only. */
async function openBlobWeights(
  folder: ModelFolder,
  data: FolderFile,
  name: string,
  format: "safetensors" | "torch",
): Promise<WeightFile> {
  if (format === "torch") {
    throw new WeightsError(
      `${folder.path(name)}: PyTorch .bin weights are read in Node only; convert the folder with \`anllm convert\` to safetensors first`,
    );
  }
  return SafetensorsReader.open(data, folder.path(name));
}

/**
 * A model folder from files in memory or Blobs, keyed by their path inside the folder
 * ("config.json", "model-00001-of-00002.safetensors", ...). In a page: the Files of an
 * `<input type="file" webkitdirectory>` or of a drop (see {@link filesModelFolder}), or
 * ArrayBuffers the caller fetched.
 */
export function memoryModelFolder(
  files: Record<string, FolderFile> | Map<string, FolderFile>,
  label = "model folder",
): ModelFolder {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  const get = (name: string): FolderFile => {
    const f = map.get(name);
    if (f === undefined)
      throw new Error(
        `no file named ${name} (the folder holds: ${[...map.keys()].join(", ") || "nothing"})`,
      );
    return f;
  };
  const folder: ModelFolder = {
    label,
    path: (name) => `${label}/${name}`,
    exists: async (name) => map.has(name),
    list: async () => [...map.keys()].sort(),
    readText: async (name) => {
      const f = get(name);
      if (typeof Blob !== "undefined" && f instanceof Blob) return f.text();
      return new TextDecoder().decode(f as ArrayBuffer | Uint8Array);
    },
    openWeights: (name, format) => openBlobWeights(folder, get(name), name, format),
  };
  return folder;
}

/**
 * A model folder from a list of Files (a folder picked with `webkitdirectory` or dropped): names
 * are taken relative to the common top folder (`webkitRelativePath` minus its first part).
 */
export function filesModelFolder(files: Iterable<File>, label?: string): ModelFolder {
  const map = new Map<string, FolderFile>();
  let top: string | undefined;
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    const parts = rel.split("/");
    if (parts.length > 1) top ??= parts[0];
    map.set(parts.length > 1 ? parts.slice(1).join("/") : rel, f);
  }
  return memoryModelFolder(map, label ?? top ?? "dropped folder");
}

/**
 * A model folder served over HTTP at `baseUrl` (no trailing slash needed). A URL folder cannot be
 * listed, so `names` lists its files (e.g. ["config.json", "model.safetensors"]); each file is
 * fetched whole when first opened and its tensors are then read one at a time.
 */
export function urlModelFolder(
  baseUrl: string,
  names: readonly string[],
  fetchFn: typeof fetch = (...a) => fetch(...a),
): ModelFolder {
  const base = baseUrl.replace(/\/+$/, "");
  const url = (name: string) => `${base}/${name}`;
  const get = async (name: string): Promise<Blob> => {
    if (!names.includes(name))
      throw new Error(`not among the folder's files (${names.join(", ")})`);
    const res = await fetchFn(url(name));
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    return res.blob();
  };
  const folder: ModelFolder = {
    label: base,
    path: url,
    exists: async (name) => names.includes(name),
    list: async () => [...names],
    readText: async (name) => (await get(name)).text(),
    openWeights: async (name, format) => {
      let blob: Blob;
      try {
        blob = await get(name);
      } catch (e) {
        throw new WeightsError(`cannot fetch ${url(name)}: ${(e as Error).message}`);
      }
      return openBlobWeights(folder, blob, name, format);
    },
  };
  return folder;
}
