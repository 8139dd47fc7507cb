// Record normalisation to {text, meta, subset}: meta never required, missing meta wraps the
// top-level keys, V2 documents map raw_content, SlimPajama set names.
import type { BadInputReport } from "./bad-input";

/** Where a data file sits in its dataset, derived from its path (never from meta). */
export interface FileInfo {
  /** Absolute path of the file. */
  path: string;
  /** Path relative to the dataset root (used in reports and the resume fingerprint). */
  relPath: string;
  /** Subset name: arxiv, book, c4, common_crawl, github, stackexchange, wikipedia, … */
  subset: string;
  /** Common-crawl dump (e.g. "2019-30") when the path names one. */
  dump?: string;
  /** RedPajama-V2 documents file: the shard tag parts. */
  v2?: { snapshot: string; shard: string; language: string; partition: string; tag: string };
}

/** A normalised document. */
export interface DocRecord {
  text: string;
  /** The record's meta object (or the wrapped top-level keys); unknown keys carried unchanged. */
  meta: Record<string, unknown>;
  /** Subset from the path (SlimPajama: from meta.redpajama_set_name when the path gives none). */
  subset: string;
  /** Common-crawl dump, when known from the path. */
  dump?: string;
  /** Data file (relative to the dataset root). */
  file: string;
  /** 1-based line number in the decompressed file. */
  line: number;
}

const SLIM_SETS: Record<string, string> = {
  RedPajamaC4: "c4",
  RedPajamaCommonCrawl: "common_crawl",
  RedPajamaGithub: "github",
  RedPajamaBook: "book",
  RedPajamaArXiv: "arxiv",
  RedPajamaWikipedia: "wikipedia",
  RedPajamaStackExchange: "stackexchange",
};

const V2_META_KEYS = ["url", "language", "source_domain", "date_download", "digest"] as const;

// fatal: invalid UTF-8 throws; a leading byte-order mark is dropped (ignoreBOM defaults to false).
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The JSON type of a parsed value in words: "an array", "null", "a string", ... */
export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function v2Record(
  row: Record<string, unknown>,
  info: FileInfo,
  line: number,
): { text: unknown; meta: Record<string, unknown> } {
  const meta: Record<string, unknown> = {};
  for (const k of V2_META_KEYS) if (k in row) meta[k] = row[k];
  if (info.v2) {
    meta.partition = info.v2.partition;
    meta.snapshot = info.v2.snapshot;
    meta.doc_id = `${info.v2.tag}.json.gz/${line - 1}`;
  }
  return { text: row.raw_content, meta };
}

/** A meta value as an object: objects pass through, JSON strings (HF parquet view) are parsed. */
function metaObject(m: unknown): Record<string, unknown> {
  if (isPlainObject(m)) return m;
  if (typeof m === "string") {
    try {
      const parsed: unknown = JSON.parse(m);
      if (isPlainObject(parsed)) return parsed;
    } catch {
      // not JSON: keep the raw string below
    }
  }
  return m === null || m === undefined ? {} : { value: m };
}

/** File name without directories and data extensions (fallback subset of unknown layouts). */
export function stemOf(info: FileInfo): string {
  const base = info.relPath.split("/").pop() ?? info.relPath;
  return base.replace(/(\.(jsonl|json|zst|zstd|gz|dz))+$/i, "");
}

/**
 * Parses and normalises one line. Returns the record, or null after counting the reason in
 * `report` (which throws in strict mode).
 */
export function normaliseLine(
  bytes: Uint8Array,
  info: FileInfo,
  line: number,
  report: BadInputReport,
): DocRecord | null {
  let str: string;
  try {
    str = decoder.decode(bytes);
  } catch {
    report.add("invalid-utf8", info.relPath, line, "line is not valid UTF-8");
    return null;
  }
  if (str.trim() === "") {
    report.add("blank-line", info.relPath, line, "blank line");
    return null;
  }
  let row: unknown;
  try {
    row = JSON.parse(str);
  } catch (err) {
    report.add("malformed-json", info.relPath, line, (err as Error).message);
    return null;
  }
  if (!isPlainObject(row)) {
    report.add("not-an-object", info.relPath, line, `expected a JSON object, got ${jsonKind(row)}`);
    return null;
  }
  return normaliseRow(row, info, line, report);
}

/** Normalises an already parsed row (see {@link normaliseLine}). */
export function normaliseRow(
  row: Record<string, unknown>,
  info: FileInfo,
  line: number,
  report: BadInputReport,
): DocRecord | null {
  let text: unknown;
  let meta: Record<string, unknown>;
  if (info.v2 || (!("text" in row) && "raw_content" in row)) {
    ({ text, meta } = v2Record(row, info, line));
  } else if ("meta" in row) {
    text = row.text;
    meta = metaObject(row.meta);
  } else {
    text = row.text;
    meta = {};
    for (const k of Object.keys(row)) if (k !== "text") meta[k] = row[k];
  }
  if (text === undefined) {
    const field = info.v2 ? '"raw_content"' : '"text"';
    report.add("missing-text", info.relPath, line, `no ${field} field`);
    return null;
  }
  if (typeof text !== "string") {
    report.add(
      "non-string-text",
      info.relPath,
      line,
      `"text" is ${jsonKind(text)}, expected a string`,
    );
    return null;
  }
  if (text.trim() === "") {
    report.add("empty-text", info.relPath, line, "text is empty or whitespace only");
    return null;
  }
  let subset = info.subset;
  const slim = meta.redpajama_set_name;
  if (subset === "") subset = typeof slim === "string" ? (SLIM_SETS[slim] ?? slim) : stemOf(info);
  const rec: DocRecord = { text, meta, subset, file: info.relPath, line };
  if (info.dump !== undefined) rec.dump = info.dump;
  return rec;
}
