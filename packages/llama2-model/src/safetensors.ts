// Streaming safetensors I/O (data-formats.md §6.1): read the JSON header, then each tensor's byte
// range through a file handle (the file is never held in memory whole); write with temp + rename.
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { WeightsError } from "./errors";
import { bf16ToF32, f16ToF32, f32ToBF16, f32ToF16 } from "./half";
import type { WeightDType } from "./spec";

/** dtypes this reader decodes. */
export type SafetensorsDType = "F32" | "F16" | "BF16";

/** One tensor entry of a safetensors header; offsets are absolute file offsets. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** absolute byte offset of the first data byte in the file */
  start: number;
  byteLength: number;
}

const ELEM_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

async function readExactly(fh: FileHandle, len: number, pos: number, file: string) {
  const buf = new Uint8Array(new ArrayBuffer(len));
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
    if (bytesRead === 0) {
      throw new WeightsError(`${file}: unexpected end of file at byte ${pos + done} (need ${len})`);
    }
    done += bytesRead;
  }
  return buf;
}

function parseEntry(name: string, raw: unknown, dataStart: number, dataLen: number, file: string) {
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (r.dtype !== "F32" && r.dtype !== "F16" && r.dtype !== "BF16") {
    throw new WeightsError(
      `${file}: tensor "${name}" has dtype ${JSON.stringify(r.dtype)}; supported: F32, F16, BF16`,
    );
  }
  const shape = r.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new WeightsError(
      `${file}: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`,
    );
  }
  const off = r.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !(off[0] <= off[1]) || off[1] > dataLen) {
    throw new WeightsError(
      `${file}: tensor "${name}" has invalid data_offsets ${JSON.stringify(off)} (data is ${dataLen} bytes)`,
    );
  }
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const byteLength = off[1] - off[0];
  if (byteLength !== numel * ELEM_BYTES[r.dtype]) {
    throw new WeightsError(
      `${file}: tensor "${name}" spans ${byteLength} bytes but shape ${JSON.stringify(shape)} ${r.dtype} needs ${numel * ELEM_BYTES[r.dtype]}`,
    );
  }
  const entry: SafetensorsEntry = {
    name,
    dtype: r.dtype,
    shape: shape as number[],
    start: dataStart + off[0],
    byteLength,
  };
  return entry;
}

/** An open safetensors file: header parsed, tensors read one at a time on demand. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly entries: Map<string, SafetensorsEntry>,
    readonly metadata: Record<string, string>,
  ) {}

  /** Open `path` and parse its header (8-byte length + JSON). */
  static async open(path: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      throw new WeightsError(`cannot open safetensors file ${path}: ${(e as Error).message}`);
    }
    try {
      const size = (await fh.stat()).size;
      if (size < 8) throw new WeightsError(`${path}: file too short (${size} bytes)`);
      const lenBytes = await readExactly(fh, 8, 0, path);
      const n = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
      if (n > MAX_HEADER || 8 + n > size) {
        throw new WeightsError(`${path}: header length ${n} is impossible for a ${size}-byte file`);
      }
      const text = new TextDecoder().decode(await readExactly(fh, n, 8, path));
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(text);
      } catch (e) {
        throw new WeightsError(`${path}: header is not valid JSON (${(e as Error).message})`);
      }
      const entries = new Map<string, SafetensorsEntry>();
      let metadata: Record<string, string> = {};
      for (const [name, raw] of Object.entries(header)) {
        if (name === "__metadata__") {
          metadata = raw as Record<string, string>;
          continue;
        }
        entries.set(name, parseEntry(name, raw, 8 + n, size - 8 - n, path));
      }
      return new SafetensorsFile(path, fh, entries, metadata);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Raw little-endian bytes of one tensor. */
  async readBytes(name: string): Promise<Uint8Array<ArrayBuffer>> {
    const e = this.entry(name);
    return readExactly(this.fh, e.byteLength, e.start, this.path);
  }

  /** Decode one tensor to f32 (F16/BF16 converted). */
  async readF32(name: string): Promise<Float32Array<ArrayBuffer>> {
    const e = this.entry(name);
    const bytes = await this.readBytes(name);
    if (e.dtype === "F32") return new Float32Array(bytes.buffer);
    const u16 = new Uint16Array(bytes.buffer);
    return e.dtype === "F16" ? f16ToF32(u16) : bf16ToF32(u16);
  }

  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (!e) throw new WeightsError(`${this.path}: no tensor named "${name}"`);
    return e;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** A tensor to write: shape plus a (possibly lazy) source of f32 values. */
export interface TensorSource {
  name: string;
  shape: number[];
  data: () => Promise<Float32Array> | Float32Array;
}

const DTYPE_TAG: Record<WeightDType, SafetensorsDType> = { f32: "F32", f16: "F16", bf16: "BF16" };

/** Byte size one tensor takes in a file of the given dtype. */
export function storedBytes(shape: number[], dtype: WeightDType): number {
  return shape.reduce((a, b) => a * b, 1) * (dtype === "f32" ? 4 : 2);
}

function encode(data: Float32Array, dtype: WeightDType): Uint8Array {
  if (dtype === "f32") return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const u16 = dtype === "f16" ? f32ToF16(data) : f32ToBF16(data);
  return new Uint8Array(u16.buffer);
}

/**
 * Write tensors to `path` as safetensors, one tensor in memory at a time, atomically
 * (written to `path.tmp-<pid>` and renamed). Metadata always carries {"format": "pt"} for HF.
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorSource[],
  dtype: WeightDType,
  metadata: Record<string, string> = {},
): Promise<void> {
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
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((json.length + 8) % 8)) % 8); // pad so data starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const lenBytes = new Uint8Array(8);
  new DataView(lenBytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, "w");
  try {
    await fh.write(lenBytes);
    await fh.write(headerBytes);
    for (const t of tensors) {
      const data = await t.data();
      const want = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== want) {
        throw new WeightsError(
          `writing ${path}: tensor "${t.name}" has ${data.length} values, shape ${JSON.stringify(t.shape)} needs ${want}`,
        );
      }
      await fh.write(encode(data, dtype));
    }
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await rename(tmp, path);
}
