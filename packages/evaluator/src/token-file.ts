// LongLoRA-style token files (flat little-endian uint16 ids, no header) and tokenisation of text,
// .jsonl and .jsonl.gz documents into that layout with the model's tokenizer.
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { atomicWrite } from "@anllm/tensor/io";
import { DataFormatError, EvalConfigError } from "./errors";

/** The tokenizer surface the evaluator needs (the model's tokenizer; ids without BOS). */
export interface TextTokenizer {
  /** Token ids of `text` WITHOUT BOS/EOS (SentencePiece dummy prefix as the tokenizer does). */
  encode(text: string): ArrayLike<number>;
  bosId: number;
  eosId: number;
}

/** Reads a flat little-endian uint16 token file (LongLoRA `.bin`). */
export async function readTokenFile(path: string): Promise<Uint16Array> {
  const buf = await readFile(path);
  if (buf.byteLength % 2 !== 0) {
    throw new DataFormatError(
      path,
      null,
      null,
      `size ${buf.byteLength} bytes is not a multiple of 2 (uint16 ids)`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Uint16Array(buf.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

/** Writes ids as flat little-endian uint16, atomically (temp file, fsync, rename). */
export async function writeTokenFile(path: string, ids: ArrayLike<number>): Promise<void> {
  const buf = Buffer.alloc(ids.length * 2);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) {
      throw new EvalConfigError(`writeTokenFile: id ${id} at index ${i} does not fit uint16`);
    }
    buf.writeUInt16LE(id, 2 * i);
  }
  await atomicWrite(path, buf);
}

/** Options of {@link tokenizeDocuments}. */
export interface TokenizeOptions {
  /** Prepend BOS to every document (default true, as Llama-2's HF tokenizer does). */
  addBos?: boolean;
  /** Append EOS after every document (default false). */
  addEos?: boolean;
  /** Keep only the first N tokens of each document (LongLoRA's Proof-Pile slices: 32768). */
  maxTokensPerDoc?: number;
  /** JSON field holding the text in .jsonl files (default "text"). */
  field?: string;
  /** Stop after this many documents. */
  maxDocs?: number;
  /** Token files: refuse ids >= this (the model's vocabulary size), naming file and byte offset. */
  vocabSize?: number;
  /** .jsonl: skip (and report) lines longer than this many bytes (default 16 MiB). */
  maxLineBytes?: number;
}

/** Throws DataFormatError naming the byte offset of the first id outside [0, vocabSize). */
function checkVocab(path: string, ids: Int32Array, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id >= vocabSize) {
      let count = 0;
      for (let j = i; j < ids.length; j++) if (ids[j]! >= vocabSize) count++;
      throw new DataFormatError(
        path,
        null,
        null,
        `token id ${id} at byte offset ${2 * i} (token ${i}) is outside the model's vocabulary of ${vocabSize} ids` +
          `${count > 1 ? ` (${count} such ids in the file)` : ""}; was the file made with another tokenizer?`,
      );
    }
  }
}

/** Report of a tokenisation run; skipped records are counted, never silently lost. */
export interface TokenizeReport {
  ids: Int32Array;
  documents: number;
  skipped: { line: number; reason: string }[];
}

/** Default longest line kept by {@link tokenizeDocuments} (as the loader's): 16 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * The lines of a (possibly gzip) file as text, without "\n" / "\r\n"; a line longer than
 * `maxLineBytes` is yielded as null (its bytes are dropped as they arrive, so memory stays
 * bounded). A corrupt or cut gzip stream is a DataFormatError naming the file and line.
 */
async function* lines(path: string, maxLineBytes: number): AsyncGenerator<string | null> {
  if (!(await stat(path)).isFile()) {
    throw new DataFormatError(path, null, null, "is not a regular file (a FIFO or device?)");
  }
  const raw = createReadStream(path);
  let stream: AsyncIterable<Buffer> = raw;
  if (path.endsWith(".gz")) {
    const gunzip = createGunzip();
    pipeline(raw, gunzip, () => {
      // errors surface through iteration of the gunzip stream
    });
    stream = gunzip;
  }
  const decoder = new TextDecoder();
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  let lineNo = 1;
  const finish = (tail: Buffer): string | null => {
    const long = tooLong || size + tail.length > maxLineBytes;
    const text = long ? null : decoder.decode(Buffer.concat([...parts, tail]));
    parts = [];
    size = 0;
    tooLong = false;
    lineNo++;
    return text === null ? null : text.endsWith("\r") ? text.slice(0, -1) : text;
  };
  try {
    for await (const chunk of stream) {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        yield finish(chunk.subarray(start, nl));
        start = nl + 1;
      }
      const rest = chunk.subarray(start);
      size += rest.length;
      if (size > maxLineBytes) {
        tooLong = true;
        parts = [];
      } else if (rest.length > 0) parts.push(Buffer.from(rest));
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall !== undefined) throw e;
    throw new DataFormatError(
      path,
      lineNo,
      null,
      `compressed data is corrupt or cut short (${(e as Error).message}); nothing of the file is used`,
    );
  }
  if (size > 0 || tooLong) yield finish(Buffer.alloc(0));
}

/**
 * Tokenises documents and concatenates them: `.jsonl` / `.jsonl.gz` (one JSON object per line, text in
 * `field`), anything else = one plain-text document. Blank lines are ignored; malformed records are
 * skipped and reported with their line number.
 */
export async function tokenizeDocuments(
  path: string,
  tokenizer: TextTokenizer,
  opts: TokenizeOptions = {},
): Promise<TokenizeReport> {
  const field = opts.field ?? "text";
  const parts: number[][] = [];
  const skipped: TokenizeReport["skipped"] = [];
  const addDoc = (text: string) => {
    let ids = Array.from(tokenizer.encode(text));
    if (opts.addBos ?? true) ids.unshift(tokenizer.bosId);
    if (opts.addEos) ids.push(tokenizer.eosId);
    if (opts.maxTokensPerDoc !== undefined) ids = ids.slice(0, opts.maxTokensPerDoc);
    parts.push(ids);
  };
  if (/\.jsonl(\.gz)?$/.test(path)) {
    let lineNo = 0;
    const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    for await (const line of lines(path, maxLineBytes)) {
      lineNo++;
      if (opts.maxDocs !== undefined && parts.length >= opts.maxDocs) break;
      if (line === null) {
        skipped.push({ line: lineNo, reason: `line longer than ${maxLineBytes} bytes` });
        continue;
      }
      if (line.trim() === "") continue;
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch (err) {
        skipped.push({ line: lineNo, reason: `invalid JSON: ${(err as Error).message}` });
        continue;
      }
      const text = (rec as Record<string, unknown> | null)?.[field];
      if (typeof text !== "string") {
        skipped.push({ line: lineNo, reason: `field "${field}" missing or not a string` });
        continue;
      }
      addDoc(text);
    }
  } else {
    const text = path.endsWith(".gz")
      ? await (async () => {
          const out: string[] = [];
          // one plain-text document: its lines are kept whatever their length
          for await (const l of lines(path, Number.MAX_SAFE_INTEGER)) out.push(l ?? "");
          return out.join("\n");
        })()
      : await readFile(path, "utf8");
    addDoc(text);
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const ids = new Int32Array(total);
  let o = 0;
  for (const p of parts) {
    ids.set(p, o);
    o += p.length;
  }
  return { ids, documents: parts.length, skipped };
}

/**
 * Loads evaluation tokens: a `.bin` / `.u16` token file directly, or text/jsonl tokenised with
 * `tokenizer` (required then).
 */
export async function loadEvalTokens(
  path: string,
  tokenizer?: TextTokenizer,
  opts: TokenizeOptions = {},
): Promise<{
  ids: Int32Array;
  source: "token-file" | "tokenized";
  documents?: number;
  skipped: number;
}> {
  if (/\.(bin|u16)$/.test(path)) {
    const ids = Int32Array.from(await readTokenFile(path));
    if (opts.vocabSize !== undefined) checkVocab(path, ids, opts.vocabSize);
    return { ids, source: "token-file", skipped: 0 };
  }
  if (!tokenizer) {
    throw new EvalConfigError(
      `${path}: text/jsonl data needs the model's tokenizer (or pass a .bin token file)`,
    );
  }
  const rep = await tokenizeDocuments(path, tokenizer, opts);
  return {
    ids: rep.ids,
    source: "tokenized",
    documents: rep.documents,
    skipped: rep.skipped.length,
  };
}
