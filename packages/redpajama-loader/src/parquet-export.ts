// Export of prepared sequences as Parquet shards (one row per sequence: input_ids, anchor_mask,
// doc_ids as int32 lists without padding, plus length) for HF datasets / pandas / Spark.
import { join } from "node:path";
import { atomicWrite, makeDirs } from "@anllm/tensor/io";
import { parquetWriteBuffer } from "hyparquet-writer";
import type { SequenceBatch } from "./sequences";

/** Options of {@link exportParquet}. */
export interface ParquetExportOptions {
  /** Output folder (created when missing). */
  outDir: string;
  /** Sequences per shard file (default 10,000). */
  rowsPerShard?: number;
  /** Shard file name prefix (default "part"): part-00000.parquet, … */
  prefix?: string;
  /** Extra key/value metadata stored in every file (e.g. tokenizer name, anchor ids). */
  metadata?: Record<string, string>;
}

/** What {@link exportParquet} wrote. */
export interface ParquetExportResult {
  files: string[];
  rows: number;
  tokens: number;
}

function listColumn(name: string) {
  return [
    { name, repetition_type: "REQUIRED", num_children: 1, converted_type: "LIST" },
    { name: "list", repetition_type: "REPEATED", num_children: 1 },
    { name: "element", type: "INT32", repetition_type: "REQUIRED" },
  ];
}

const SCHEMA = [
  { name: "schema", num_children: 4 },
  ...listColumn("input_ids"),
  ...listColumn("anchor_mask"),
  ...listColumn("doc_ids"),
  { name: "length", type: "INT32", repetition_type: "REQUIRED" },
];

interface Rows {
  ids: number[][];
  anchors: number[][];
  docs: number[][];
  lengths: number[];
}

function emptyRows(): Rows {
  return { ids: [], anchors: [], docs: [], lengths: [] };
}

/** Writes one shard atomically (temp file, fsync, rename). */
async function writeShard(
  path: string,
  rows: Rows,
  metadata: Record<string, string>,
): Promise<void> {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: "input_ids", data: rows.ids },
      { name: "anchor_mask", data: rows.anchors },
      { name: "doc_ids", data: rows.docs },
      { name: "length", data: rows.lengths },
    ],
    schema: SCHEMA as never,
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  await atomicWrite(path, new Uint8Array(buf));
}

/**
 * Streams batches into Parquet shards, one row per sequence with its real (unpadded) tokens.
 * @example await exportParquet(loader.batches(), { outDir: "prepared", metadata: { tokenizer: "llama2" } })
 */
export async function exportParquet(
  batches: AsyncIterable<SequenceBatch>,
  opts: ParquetExportOptions,
): Promise<ParquetExportResult> {
  const perShard = opts.rowsPerShard ?? 10_000;
  const prefix = opts.prefix ?? "part";
  makeDirs(opts.outDir);
  const files: string[] = [];
  let rows = emptyRows();
  let total = 0;
  let tokens = 0;
  const flush = async () => {
    if (rows.lengths.length === 0) return;
    const path = join(opts.outDir, `${prefix}-${String(files.length).padStart(5, "0")}.parquet`);
    await writeShard(path, rows, opts.metadata ?? {});
    files.push(path);
    rows = emptyRows();
  };
  for await (const b of batches) {
    for (let r = 0; r < b.batch; r++) {
      const s = r * b.seqLen;
      const len = b.lengths[r]!;
      rows.ids.push(Array.from(b.inputIds.subarray(s, s + len)));
      rows.anchors.push(Array.from(b.anchorMask.subarray(s, s + len)));
      rows.docs.push(Array.from(b.docIds.subarray(s, s + len)));
      rows.lengths.push(len);
      total++;
      tokens += len;
      if (rows.lengths.length >= perShard) await flush();
    }
  }
  await flush();
  return { files, rows: total, tokens };
}
