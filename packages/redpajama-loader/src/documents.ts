// Sequential, seekable reader of normalised documents over a dataset's files; its position
// (file index, next line) is what loader states store.

import { existsSync } from "node:fs";
import { BadInputReport } from "./bad-input";
import { type DatasetSource, resolveDataset } from "./layouts";
import { type LineEvent, readLines } from "./line-reader";
import { type DocRecord, type FileInfo, normaliseLine } from "./records";

/** Position of a {@link DocumentReader}: the next line (1-based) of the file at `fileIndex`. */
export interface ReaderPosition {
  fileIndex: number;
  line: number;
}

/** Reads documents file after file, counting bad input in `report`. */
export class DocumentReader {
  private iter: AsyncGenerator<LineEvent> | null = null;
  private signals: AsyncGenerator<LineEvent> | null = null;
  private fileIndex = 0;
  private nextLine = 1;

  constructor(
    readonly files: readonly FileInfo[],
    readonly report: BadInputReport,
    readonly maxLineBytes?: number,
    /** RedPajama-V2: attach the line-aligned quality signals as `meta.quality_signals`. */
    readonly v2Signals = false,
  ) {}

  /** The position just after the last document returned (or seeked to). */
  position(): ReaderPosition {
    return { fileIndex: this.fileIndex, line: this.nextLine };
  }

  /** Moves to `pos`; lines before it are skipped unparsed (their bad input is not counted). */
  async seek(pos: ReaderPosition): Promise<void> {
    await this.close();
    this.fileIndex = pos.fileIndex;
    this.nextLine = 1;
    if (pos.line <= 1 || this.fileIndex >= this.files.length) return;
    this.open();
    while (this.nextLine < pos.line) {
      const r = await this.iter!.next();
      if (r.done) return this.advanceFile();
      await this.signals?.next();
      this.nextLine = r.value.line + 1;
      if (r.value.kind === "truncated" || r.value.kind === "corrupt") return this.advanceFile();
    }
  }

  /** The next valid document, or null when every file is read. */
  async next(): Promise<DocRecord | null> {
    while (this.fileIndex < this.files.length) {
      if (this.iter === null) this.open();
      const info = this.files[this.fileIndex]!;
      const r = await this.iter!.next();
      if (r.done) {
        await this.advanceFile();
        continue;
      }
      const ev = r.value;
      this.nextLine = ev.line + 1;
      if (ev.kind === "truncated") {
        await this.advanceFile();
        this.report.add(
          "truncated",
          info.relPath,
          ev.line,
          `compressed stream ended early: ${ev.message}`,
        );
        continue;
      }
      if (ev.kind === "corrupt") {
        await this.advanceFile();
        this.report.add(
          "corrupt",
          info.relPath,
          ev.line,
          `gzip integrity check failed (${ev.message}); no line of this file is used`,
        );
        continue;
      }
      if (ev.kind === "too-long") {
        await this.signals?.next();
        this.report.add("line-too-long", info.relPath, ev.line, `line has ${ev.bytes} bytes`);
        continue;
      }
      const sig = this.signals ? await this.signals.next() : null;
      const doc = normaliseLine(ev.bytes, info, ev.line, this.report);
      if (doc && sig && !sig.done && sig.value.kind === "line") attachSignals(doc, sig.value.bytes);
      if (doc) return doc;
    }
    return null;
  }

  /** Releases the open file. */
  async close(): Promise<void> {
    if (this.iter) await this.iter.return(undefined);
    if (this.signals) await this.signals.return(undefined);
    this.iter = null;
    this.signals = null;
  }

  private open(): void {
    const info = this.files[this.fileIndex]!;
    this.iter = readLines(info.path, { maxLineBytes: this.maxLineBytes });
    const sig = info.v2 && this.v2Signals ? signalsPath(info.path) : null;
    if (sig && existsSync(sig)) this.signals = readLines(sig);
  }

  private async advanceFile(): Promise<void> {
    await this.close();
    this.fileIndex++;
    this.nextLine = 1;
  }
}

/** quality_signals/<tag>.signals.json.gz beside documents/<tag>.json.gz (null if not V2). */
export function signalsPath(documentsPath: string): string | null {
  const m = /^(.*)[/\\]documents[/\\](.+)\.json\.gz$/.exec(documentsPath);
  return m ? `${m[1]}/quality_signals/${m[2]}.signals.json.gz` : null;
}

function attachSignals(doc: DocRecord, bytes: Buffer): void {
  try {
    const row = JSON.parse(bytes.toString("utf8")) as { id?: unknown; quality_signals?: unknown };
    if (row.id !== undefined && row.id !== doc.meta.doc_id) return;
    doc.meta.quality_signals = row.quality_signals;
  } catch {
    // a malformed signals line leaves the document without signals
  }
}

/** Options of {@link readDocuments}. */
export interface ReadDocumentsOptions {
  /** Throw {@link BadRecordError} on the first bad line instead of counting it. */
  strict?: boolean;
  /** Report to count bad input into (one is created otherwise; read it after iterating). */
  report?: BadInputReport;
  /** Skip lines longer than this (default 16 MiB). */
  maxLineBytes?: number;
  /** RedPajama-V2: attach quality signals (when the signals file exists) as meta.quality_signals. */
  v2Signals?: boolean;
}

/**
 * Streams the normalised documents of a dataset in its deterministic order.
 * @example for await (const doc of readDocuments(defaultDatasetPath())) console.log(doc.subset)
 */
export async function* readDocuments(
  source: DatasetSource,
  opts: ReadDocumentsOptions = {},
): AsyncGenerator<DocRecord> {
  const ds = await resolveDataset(source);
  const report = opts.report ?? new BadInputReport(opts.strict ?? false);
  const reader = new DocumentReader(ds.files, report, opts.maxLineBytes, opts.v2Signals ?? false);
  try {
    for (let doc = await reader.next(); doc !== null; doc = await reader.next()) yield doc;
  } finally {
    await reader.close();
  }
}
