// Node entry (@anllm/tensor/io): streaming safetensors I/O and the atomic file write every package
// uses. Reads the JSON header, then each tensor's byte range through a file handle (a file is
// never held in memory whole); writes tensor by tensor to a temp file that is fsynced and renamed.
import { mkdirSync, type Stats, statSync, unlinkSync, writeFileSync } from "node:fs";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { OutputPathError, SafetensorsError } from "./errors";
import { openRegularFile, readExactly as readBytes } from "./file-read";
import { f32ToBF16, f32ToF16 } from "./half";
import {
  type ByteSource,
  decodeSafetensors as decode,
  type HostTensor,
  numel,
  readSafetensorsHeaderFrom,
  type SafetensorsDType,
  type SafetensorsHeader,
  SafetensorsReader,
} from "./safetensors";

// What this entry's readers return; the other safetensors types and the reader over any byte
// source are the main entry's (@anllm/tensor), browser-safe.
export type { HostTensor, SafetensorsHeader } from "./safetensors";

/** dtype to store f32 values as (lower case, as in model configs). */
export type StoreDType = "f32" | "f16" | "bf16";

const DTYPE_TAG: Record<StoreDType, SafetensorsDType> = { f32: "F32", f16: "F16", bf16: "BF16" };

/** Exactly `len` bytes of safetensors file `file` from byte `pos`. */
function readExactly(fh: FileHandle, len: number, pos: number, file: string) {
  return readBytes(fh, len, pos, (detail) => new SafetensorsError(file, detail));
}

/** An open file handle as a {@link ByteSource}. */
async function fileSource(fh: FileHandle, path: string): Promise<ByteSource> {
  const size = (await fh.stat()).size;
  return { size, read: (offset, length) => readExactly(fh, length, offset, path) };
}

/** Reads and checks the header through an open handle. */
async function readHeader(fh: FileHandle, path: string): Promise<SafetensorsHeader> {
  return readSafetensorsHeaderFrom(await fileSource(fh, path), path);
}

export type { TorchBinDType, TorchBinEntry } from "./torch-bin";
export { TorchBinError, TorchBinFile } from "./torch-bin";
export { OutputPathError, SafetensorsError };

function openForRead(path: string): Promise<FileHandle> {
  return openRegularFile(path, (detail) => new SafetensorsError(path, detail));
}

/** An open safetensors file: a SafetensorsReader over a file handle (`close()` releases it). */
export type SafetensorsFile = SafetensorsReader;

/** Opens safetensors files on disk. */
export const SafetensorsFile = {
  /** Opens `path` and parses its header; throws SafetensorsError naming the file on bad input. */
  async open(path: string): Promise<SafetensorsFile> {
    const fh = await openForRead(path);
    try {
      const src = await fileSource(fh, path);
      return await SafetensorsReader.open({ ...src, close: () => fh.close() }, path);
    } catch (e) {
      await fh.close();
      throw e;
    }
  },
};

/** Reads and checks the header of a safetensors file (the file is closed again). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(path);
  try {
    return await readHeader(fh, path);
  } finally {
    await fh.close();
  }
}

/** Reads tensor `name` of `path` as f32, given the file's header from {@link readSafetensorsHeader}. */
export async function readSafetensorsTensor(
  path: string,
  header: SafetensorsHeader,
  name: string,
): Promise<HostTensor> {
  const e = header.entries.get(name);
  if (!e) throw new SafetensorsError(path, `no tensor named "${name}"`, name);
  const fh = await openForRead(path);
  try {
    return {
      shape: [...e.shape],
      data: decode(e, await readExactly(fh, e.byteLength, e.start, path)),
    };
  } finally {
    await fh.close();
  }
}

/** A tensor to write: name, shape and a (possibly lazy, possibly async) source of f32 values. */
export interface TensorSource {
  name: string;
  shape: number[];
  data: () => Promise<Float32Array> | Float32Array;
}

/** Bytes one tensor of `shape` takes when stored as `dtype`. */
export function storedBytes(shape: readonly number[], dtype: StoreDType): number {
  return numel(shape) * (dtype === "f32" ? 4 : 2);
}

function encode(data: Float32Array, dtype: StoreDType): Uint8Array {
  if (dtype === "f32") return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const u16 = dtype === "f16" ? f32ToF16(data) : f32ToBF16(data);
  return new Uint8Array(u16.buffer);
}

/** The 8-byte length + JSON header (padded with spaces so the data starts 8-byte aligned). */
function encodeHeader(
  tensors: readonly TensorSource[],
  dtype: StoreDType,
  metadata: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: "pt", ...metadata } };
  let offset = 0;
  for (const t of tensors) {
    const len = storedBytes(t.shape, dtype);
    header[t.name] = {
      dtype: DTYPE_TAG[dtype],
      shape: t.shape,
      data_offsets: [offset, offset + len],
    };
    offset += len;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  const out = new Uint8Array(8 + json.length + pad).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length + pad), true);
  out.set(json, 8);
  return out;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r").catch(() => null); // some platforms cannot open folders
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // fsync of a folder is not supported everywhere; the rename itself is still atomic
  } finally {
    await fh.close();
  }
}

let tmpCount = 0;

/**
 * Runs `write` on a new temp file beside `path` (same folder: the rename is atomic), fsyncs it,
 * renames it over `path` and fsyncs the folder. If `write` throws, the temp file is removed and
 * `path` is untouched: a reader sees the old file or the new one, never a partial one.
 */
async function writeAtomically(
  path: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${tmpCount++}`;
  const fh = await open(tmp, "w").catch((e: unknown) => {
    throw writeError(path, e);
  });
  try {
    await write(fh);
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw writeError(path, e);
  }
  await rename(tmp, path).catch((e: unknown) => {
    throw writeError(path, e);
  });
  await fsyncDir(dirname(path));
}

/** A system error while writing `path` as an {@link OutputPathError} naming it (others unchanged). */
function writeError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (!code || e instanceof OutputPathError || e instanceof SafetensorsError) return e;
  return new OutputPathError(path, `cannot write: ${fsErrorText(e)}`, code);
}

/**
 * Writes `data` (text as UTF-8, or bytes) to `path` atomically: temp file in the same folder,
 * fsync, rename, fsync of the folder. A crash leaves the old content or the new, never a mix.
 */
export async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  await writeAtomically(path, async (fh) => {
    await fh.writeFile(data);
  });
}

/**
 * Writes `tensors` (in the given order) to `path` as safetensors stored as `dtype`, one tensor in
 * memory at a time, atomically (as atomicWrite), so a failure (or a tensor whose data length
 * disagrees with its shape) leaves `path` untouched. Metadata always carries {"format": "pt"}
 * so Hugging Face loaders accept the file.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorSource[],
  dtype: StoreDType = "f32",
  metadata: Record<string, string> = {},
): Promise<void> {
  const names = new Set<string>();
  for (const t of tensors) {
    if (t.name === "__metadata__" || names.has(t.name)) {
      const why = names.has(t.name) ? "appears twice" : "is a reserved name";
      throw new SafetensorsError(path, `cannot write: tensor "${t.name}" ${why}`, t.name);
    }
    names.add(t.name);
  }
  await writeAtomically(path, async (fh) => {
    await fh.write(encodeHeader(tensors, dtype, metadata));
    for (const t of tensors) {
      const data = await t.data();
      const want = numel(t.shape);
      if (data.length !== want) {
        throw new SafetensorsError(
          path,
          `tensor "${t.name}" has ${data.length} values, shape ${JSON.stringify(t.shape)} needs ${want}`,
          t.name,
        );
      }
      await fh.write(encode(data, dtype));
    }
  });
}

const ERRNO_WORDS: Record<string, string> = {
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a component of the path is not a folder",
  EEXIST: "already exists",
  EISDIR: "is a folder",
  ENAMETOOLONG: "name too long",
  EIO: "input/output error",
};

/** A file-system error in words with its code, e.g. "read-only file system (EROFS)". */
export function fsErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code && ERRNO_WORDS[code]) return `${ERRNO_WORDS[code]} (${code})`;
  if (code) return `${(e as Error).message.split(",")[0]} (${code})`;
  return e instanceof Error ? e.message : String(e);
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new OutputPathError(p, `cannot be examined: ${fsErrorText(e)}`, code);
  }
}

/**
 * Creates folder `path` and any missing parents, one level at a time, and throws
 * {@link OutputPathError} naming the path and the real reason. Node's `mkdir(..., { recursive:
 * true })` spins forever where a parent allows no new entries (under /proc) and reports ENOENT
 * for a read-only mount; this walks up to the first existing ancestor (which must be a folder)
 * and creates each missing level itself.
 */
export function makeDirs(path: string): void {
  const target = resolve(path);
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    const st = statOrNull(p);
    if (st) {
      if (!st.isDirectory()) {
        const detail =
          p === target
            ? "exists and is not a folder"
            : `cannot create the folder: ${p} is not a folder`;
        throw new OutputPathError(p === target ? path : target, detail, "ENOTDIR");
      }
      break;
    }
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && statOrNull(d)?.isDirectory()) continue;
      const detail =
        code === "ENOENT"
          ? `cannot create the folder: ${dirname(d)} does not allow new entries (ENOENT)`
          : `cannot create the folder${d === target ? "" : ` ${d}`}: ${fsErrorText(e)}`;
      throw new OutputPathError(path, detail, code);
    }
  }
}

/**
 * Makes sure results can be written into folder `path` before any work is done: creates it
 * ({@link makeDirs}) and writes and removes a small probe file. Throws {@link OutputPathError}.
 */
export function checkWritableDir(path: string): void {
  makeDirs(path);
  const probe = join(path, `.anllm-write-test-${process.pid}`);
  try {
    writeFileSync(probe, "ok\n");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OutputPathError(path, `cannot write into the folder: ${fsErrorText(e)}`, code);
  }
  try {
    unlinkSync(probe);
  } catch {
    // the probe is harmless if it cannot be removed
  }
}
