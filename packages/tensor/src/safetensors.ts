// Browser-safe safetensors reading (@anllm/tensor): the header parser and checks, and a reader over
// any random-access byte source (an ArrayBuffer, a Blob or File, a fetched Response's bytes, or a
// file handle in Node through @anllm/tensor/io). Tensors are read one byte range at a time, so a
// loader can upload them to the device one by one without holding the whole file.
import { SafetensorsError } from "./errors";
import { bf16ToF32, f16ToF32 } from "./half";

/** Random access to the bytes of one file. */
export interface ByteSource {
  /** total length in bytes */
  readonly size: number;
  /** exactly `length` bytes from byte `offset`; rejects when the source ends first */
  read(offset: number, length: number): Promise<Uint8Array<ArrayBuffer>>;
  /** releases what the source holds (a file handle); absent for bytes in memory */
  close?(): Promise<void>;
}

/** What {@link byteSource} accepts: bytes in memory, or a Blob (a File, a fetch Response's blob()). */
export type BytesLike = ArrayBuffer | ArrayBufferView | Blob;

/** A {@link ByteSource} over bytes in memory or a Blob/File (read lazily with Blob.slice). */
export function byteSource(data: BytesLike): ByteSource {
  if (typeof Blob !== "undefined" && data instanceof Blob) {
    return {
      size: data.size,
      async read(offset, length) {
        if (offset + length > data.size)
          throw new RangeError(endMessage(offset, length, data.size));
        return new Uint8Array(await data.slice(offset, offset + length).arrayBuffer());
      },
    };
  }
  const bytes =
    data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(
          (data as ArrayBufferView).buffer,
          (data as ArrayBufferView).byteOffset,
          (data as ArrayBufferView).byteLength,
        );
  return {
    size: bytes.byteLength,
    async read(offset, length) {
      if (offset + length > bytes.byteLength)
        throw new RangeError(endMessage(offset, length, bytes.byteLength));
      return bytes.slice(offset, offset + length) as Uint8Array<ArrayBuffer>;
    },
  };
}

function endMessage(offset: number, length: number, size: number): string {
  return `unexpected end of file at byte ${size} (needed ${length} bytes from ${offset}; truncated file?)`;
}

/** Exactly `len` bytes of `file` from byte `pos`, short reads reported as SafetensorsError. */
async function readRange(src: ByteSource, len: number, pos: number, file: string) {
  try {
    return await src.read(pos, len);
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(file, (e as Error).message);
  }
}

/** dtypes this module reads and writes (as spelled in safetensors headers). */
export type SafetensorsDType = "F32" | "F16" | "BF16";

/** One tensor entry of a safetensors header. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) relative to the start of the data section, as in the header */
  data_offsets: [number, number];
  /** absolute byte offset of the first data byte in the file */
  start: number;
  byteLength: number;
}

/** Parsed header of a file plus the byte offset where its data section starts. */
export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  dataStart: number;
}

/** One tensor on the host, decoded to f32. */
export interface HostTensor {
  shape: number[];
  /** row-major values, length = product of shape */
  data: Float32Array<ArrayBuffer>;
}

const ELEM_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

/** Number of elements of a tensor of `shape`. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function parseEntry(
  name: string,
  raw: unknown,
  dataStart: number,
  dataLen: number,
  file: string,
): SafetensorsEntry {
  const r = (raw ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const fail = (detail: string) => new SafetensorsError(file, `tensor "${name}" ${detail}`, name);
  if (r.dtype !== "F32" && r.dtype !== "F16" && r.dtype !== "BF16") {
    throw fail(`has dtype ${JSON.stringify(r.dtype)}; expected one of F32, F16, BF16`);
  }
  const shape = r.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw fail(`has an invalid shape ${JSON.stringify(shape)}; expected non-negative integers`);
  }
  const off = r.data_offsets;
  if (
    !Array.isArray(off) ||
    off.length !== 2 ||
    !off.every((o) => Number.isInteger(o) && o >= 0) ||
    off[0] > off[1] ||
    off[1] > dataLen
  ) {
    throw fail(
      `has invalid data_offsets ${JSON.stringify(off)}: expected [begin, end] within the ${dataLen}-byte data section (truncated file?)`,
    );
  }
  const byteLength = off[1] - off[0];
  const want = numel(shape) * ELEM_BYTES[r.dtype];
  if (byteLength !== want) {
    throw fail(
      `spans ${byteLength} bytes but shape ${JSON.stringify(shape)} ${r.dtype} needs ${want}`,
    );
  }
  return {
    name,
    dtype: r.dtype,
    shape: shape as number[],
    data_offsets: [off[0], off[1]],
    start: dataStart + off[0],
    byteLength,
  };
}

/** Reads and checks the 8-byte length + JSON header of the safetensors bytes in `src`. */
export async function readSafetensorsHeaderFrom(
  src: ByteSource,
  path: string,
): Promise<SafetensorsHeader> {
  const size = src.size;
  if (size < 8) {
    throw new SafetensorsError(path, `file too short (${size} bytes; a header needs at least 8)`);
  }
  const lenBytes = await readRange(src, 8, 0, path);
  const n = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > size) {
    throw new SafetensorsError(
      path,
      `header length ${n} is impossible for a ${size}-byte file (truncated file?)`,
    );
  }
  const text = new TextDecoder().decode(await readRange(src, n, 8, path));
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(path, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new SafetensorsError(path, "header is not a JSON object");
  }
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") metadata = (raw ?? {}) as Record<string, string>;
    else entries.set(name, parseEntry(name, raw, 8 + n, size - 8 - n, path));
  }
  checkLayout(entries, size - 8 - n, path);
  return { entries, metadata, dataStart: 8 + n };
}

/**
 * The safetensors format's rule for the data section: the tensors' byte ranges, in offset order,
 * are contiguous, do not overlap and cover the whole section (no holes, no trailing bytes).
 * Overlapping or out-of-place ranges would otherwise load the wrong bytes without a word.
 */
function checkLayout(entries: Map<string, SafetensorsEntry>, dataLen: number, file: string) {
  const sorted = [...entries.values()].sort(
    (a, b) => a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1],
  );
  let end = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of sorted) {
    const [begin] = e.data_offsets;
    if (begin < end) {
      throw new SafetensorsError(
        file,
        `tensor "${e.name}" (data_offsets ${JSON.stringify(e.data_offsets)}) overlaps tensor "${prev!.name}" (${JSON.stringify(prev!.data_offsets)}); the header is corrupt`,
        e.name,
      );
    }
    if (begin > end) {
      throw new SafetensorsError(
        file,
        `tensor "${e.name}" starts at data byte ${begin} but the previous tensor ends at ${end}: a hole in the data section (tensors must be contiguous)`,
        e.name,
      );
    }
    end = e.data_offsets[1];
    prev = e;
  }
  if (end !== dataLen) {
    throw new SafetensorsError(
      file,
      `the tensors cover ${end} bytes of the ${dataLen}-byte data section; the rest is not indexed by the header (corrupt header or wrong file)`,
    );
  }
}

/** Decodes the raw little-endian bytes of one entry to f32 (F16/BF16 converted). */
export function decodeSafetensors(
  entry: SafetensorsEntry,
  bytes: Uint8Array<ArrayBuffer>,
): Float32Array<ArrayBuffer> {
  if (entry.dtype === "F32")
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  return entry.dtype === "F16" ? f16ToF32(u16) : bf16ToF32(u16);
}

/** A safetensors file read through a {@link ByteSource}: header parsed, tensors read on demand. */
export class SafetensorsReader {
  private constructor(
    /** the file's name or URL, for messages */
    readonly path: string,
    private readonly src: ByteSource,
    readonly entries: Map<string, SafetensorsEntry>,
    readonly metadata: Record<string, string>,
    /** absolute byte offset of the data section */
    readonly dataStart: number,
  ) {}

  /** Parses the header of `data`; throws SafetensorsError naming `path` on bad input. */
  static async open(data: ByteSource | BytesLike, path: string): Promise<SafetensorsReader> {
    const src = isByteSource(data) ? data : byteSource(data);
    const h = await readSafetensorsHeaderFrom(src, path);
    return new SafetensorsReader(path, src, h.entries, h.metadata, h.dataStart);
  }

  /** The header entry of tensor `name` (throws SafetensorsError when there is none). */
  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (!e) throw new SafetensorsError(this.path, `no tensor named "${name}"`, name);
    return e;
  }

  /** Raw little-endian bytes of one tensor. */
  async readBytes(name: string): Promise<Uint8Array<ArrayBuffer>> {
    const e = this.entry(name);
    return readRange(this.src, e.byteLength, e.start, this.path);
  }

  /** One tensor decoded to f32 (F16/BF16 converted). */
  async readF32(name: string): Promise<Float32Array<ArrayBuffer>> {
    return decodeSafetensors(this.entry(name), await this.readBytes(name));
  }

  /** Releases the source (a file handle in Node); nothing to do for bytes in memory. */
  async close(): Promise<void> {
    await this.src.close?.();
  }
}

function isByteSource(x: ByteSource | BytesLike): x is ByteSource {
  return typeof (x as ByteSource).read === "function" && typeof (x as ByteSource).size === "number";
}
