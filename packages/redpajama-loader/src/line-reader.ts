// Streaming line reader over .jsonl, .jsonl.zst (fzstd) and .gz (node:zlib) files: bounded memory,
// 1-based line numbers, byte lines (UTF-8 is validated later), truncation surfaced as an event.
import { createReadStream } from "node:fs";
import { pipeline, Writable } from "node:stream";
import { pipeline as pipelineAsync } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";

/** Compression of a data file, from its name. */
export type Compression = "none" | "gzip" | "zstd";

/** Picks the decompressor from the file name (.zst / .zstd, .gz / .dz, else none). */
export function compressionOf(path: string): Compression {
  if (/\.zstd?$/i.test(path)) return "zstd";
  if (/\.(gz|dz)$/i.test(path)) return "gzip";
  return "none";
}

/**
 * Default longest line kept, in bytes (16 MiB). A line is parsed, normalised and tokenised whole, and
 * that costs many times its size (a 50 MB line cost about 3 GB), so longer lines are skipped and
 * counted as "line-too-long" unless a caller raises the bound.
 */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /** Lines longer than this many bytes are skipped (reported as "too-long"). Default 16 MiB. */
  maxLineBytes?: number;
  /** Read chunk size in bytes. Default 1 MiB. */
  highWaterMark?: number;
}

/** One item from {@link readLines}. */
export type LineEvent =
  | { kind: "line"; line: number; bytes: Buffer }
  | { kind: "too-long"; line: number; bytes: number }
  | { kind: "truncated"; line: number; message: string }
  | { kind: "corrupt"; line: number; message: string };

async function* zstdChunks(path: string, highWaterMark: number): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const dec = new Decompress((chunk) => {
    out.push(chunk);
  });
  for await (const chunk of createReadStream(path, { highWaterMark })) {
    dec.push(chunk as Buffer, false);
    while (out.length > 0) yield out.shift()!;
  }
  dec.push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift()!;
}

/** Decompressed byte chunks of a file; errors (truncation, corrupt data) are thrown. */
export function openChunks(path: string, highWaterMark = 1 << 20): AsyncIterable<Uint8Array> {
  const comp = compressionOf(path);
  if (comp === "zstd") return zstdChunks(path, highWaterMark);
  const src = createReadStream(path, { highWaterMark });
  if (comp === "none") return src;
  const gunzip = createGunzip({ chunkSize: 1 << 16 });
  pipeline(src, gunzip, () => {
    // errors surface through iteration of `gunzip`
  });
  return gunzip;
}

/**
 * gzip only: decompresses the whole file once, discarding the output, so that every member's
 * CRC-32 and length trailer is checked before any line is used. Returns null when the data is
 * intact, else the zlib error: "unexpected end of file" (code Z_BUF_ERROR: cut short, or a
 * flipped bit that makes the stream look longer; either way no trailer vouches for the data) or
 * a bad CRC, length, header or deflate block. zlib inflates at hundreds of MB/s, far faster than
 * tokenisation, so the pass costs little.
 */
async function gzipCorruption(path: string): Promise<NodeJS.ErrnoException | null> {
  const sink = new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });
  try {
    await pipelineAsync(
      createReadStream(path, { highWaterMark: 1 << 20 }),
      createGunzip({ chunkSize: 1 << 16 }),
      sink,
    );
    return null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).syscall !== undefined) throw err;
    return err as NodeJS.ErrnoException;
  }
}

/**
 * Yields every line of a (possibly compressed) file as bytes, without the "\n" (and without a
 * trailing "\r"). A missing final newline is fine. Memory is bounded by the longest line kept
 * (at most `maxLineBytes`) plus one chunk. A decompression error ends the file with a
 * "truncated" event naming the line being read. gzip files are verified first: one whose data
 * fails its CRC/length trailer, header or deflate checks yields one "corrupt" event, and one cut
 * short (no trailer to check) one "truncated" event at line 1, and no line either way, since
 * their decompressed bytes cannot be trusted. A missing or unreadable file throws.
 */
export async function* readLines(
  path: string,
  opts: ReadLinesOptions = {},
): AsyncGenerator<LineEvent> {
  if (compressionOf(path) === "gzip") {
    const bad = await gzipCorruption(path);
    if (bad?.code === "Z_BUF_ERROR") {
      const message = `${bad.message}; without its CRC/length trailer no line of a gzip file is trusted`;
      yield { kind: "truncated", line: 1, message };
      return;
    }
    if (bad) {
      yield { kind: "corrupt", line: 1, message: bad.message };
      return;
    }
  }
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let skipping = false;
  let line = 1;
  const finish = (tail: Buffer): LineEvent => {
    const total = partBytes + tail.length;
    let ev: LineEvent;
    if (skipping || total > maxLineBytes) ev = { kind: "too-long", line, bytes: total };
    else {
      let bytes = parts.length === 0 ? tail : Buffer.concat([...parts, tail], total);
      if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
      ev = { kind: "line", line, bytes };
    }
    parts = [];
    partBytes = 0;
    skipping = false;
    line++;
    return ev;
  };
  try {
    for await (const raw of openChunks(path, opts.highWaterMark)) {
      const chunk = Buffer.isBuffer(raw)
        ? raw
        : Buffer.from(raw.buffer, raw.byteOffset, raw.length);
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        yield finish(chunk.subarray(start, nl));
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        partBytes += rest.length;
        if (partBytes > maxLineBytes) {
          skipping = true;
          parts = [];
        } else parts.push(Buffer.from(rest));
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).syscall !== undefined) throw err;
    yield { kind: "truncated", line, message: (err as Error).message };
    return;
  }
  if (partBytes > 0 || skipping) yield finish(Buffer.alloc(0));
}
