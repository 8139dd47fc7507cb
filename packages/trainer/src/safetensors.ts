// Minimal safetensors reader/writer for f32 tensors (format: u64 little-endian header size, a JSON
// header {name: {dtype, shape, data_offsets}, __metadata__}, then raw little-endian bytes). Writes
// stream tensor by tensor so the whole file never sits in memory; the header is padded to 8 bytes.

import { type FileHandle, open } from "node:fs/promises";
import { CheckpointError } from "./errors";

/** One f32 tensor on the host. */
export interface HostTensor {
  shape: number[];
  /** row-major values, length = product of shape */
  data: Float32Array;
}

/** Header entry of one tensor in a safetensors file. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Parsed header plus the byte offset where the data section starts. */
export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  dataStart: number;
}

/**
 * Writes tensors to `path` (not atomically: callers write into a temp folder). `get` is called
 * once per name, in sorted order, so a caller can read GPU tensors back one at a time.
 * The file is fsynced before the promise resolves.
 */
export async function writeSafetensors(
  path: string,
  shapes: Map<string, number[]>,
  get: (name: string) => Promise<Float32Array>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const names = [...shapes.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const shape = shapes.get(name)!;
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, "utf8");
  const fh = await open(path, "w");
  try {
    await fh.write(head);
    for (const name of names) {
      const data = await get(name);
      const expected = shapes.get(name)!.reduce((a, b) => a * b, 1);
      if (data.length !== expected) {
        throw new CheckpointError(
          path,
          `tensor "${name}" has ${data.length} values, shape says ${expected}`,
        );
      }
      await fh.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Reads the header of a safetensors file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await openOrThrow(path);
  try {
    const size = (await fh.stat()).size;
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (size < 8 || len > size - 8) {
      throw new CheckpointError(
        path,
        `header length ${len} exceeds file size ${size} (truncated file?)`,
      );
    }
    const jsonBuf = Buffer.alloc(len);
    await fh.read(jsonBuf, 0, len, 8);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(jsonBuf.toString("utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new CheckpointError(path, `header is not valid JSON (${(e as Error).message})`);
    }
    const entries = new Map<string, SafetensorsEntry>();
    let metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (k === "__metadata__") metadata = v as Record<string, string>;
      else entries.set(k, v as SafetensorsEntry);
    }
    const dataStart = 8 + len;
    for (const [k, e] of entries) {
      if (e.data_offsets[1] + dataStart > size) {
        throw new CheckpointError(
          path,
          `tensor "${k}" ends past the end of the file (truncated file?)`,
        );
      }
    }
    return { entries, metadata, dataStart };
  } finally {
    await fh.close();
  }
}

/** Reads one F32 tensor named `name` from `path` (header from {@link readSafetensorsHeader}). */
export async function readSafetensorsTensor(
  path: string,
  header: SafetensorsHeader,
  name: string,
): Promise<HostTensor> {
  const e = header.entries.get(name);
  if (!e) throw new CheckpointError(path, `has no tensor "${name}"`);
  if (e.dtype !== "F32") {
    throw new CheckpointError(
      path,
      `tensor "${name}" has dtype ${e.dtype}; the trainer stores F32 only`,
    );
  }
  const [start, end] = e.data_offsets;
  const data = new Float32Array((end - start) / 4);
  const fh = await openOrThrow(path);
  try {
    await fh.read(new Uint8Array(data.buffer), 0, end - start, header.dataStart + start);
  } finally {
    await fh.close();
  }
  return { shape: e.shape, data };
}

async function openOrThrow(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (e) {
    throw new CheckpointError(path, `cannot open (${(e as Error).message})`);
  }
}
