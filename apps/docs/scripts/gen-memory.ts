// Memory table of the GPU training guide: sizes of the Llama-2 presets from @anllm/llama2-model's
// memoryReport (computed from the configs; nothing allocated, nothing typed in), written to
// guide/memory-table.json. Done here, under the "@anllm/source" condition, so the site builds
// without the packages' dist/.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatBytes, memoryReport, PRESETS, type PresetName } from "@anllm/llama2-model";

/** One row of the memory table. */
export interface MemoryRow {
  preset: string;
  params: string;
  weightsBf16: string;
  trainingState: string;
  kvPerToken: string;
  kvAt4096: string;
}

const NAMES: PresetName[] = ["small", "tinyllama-1.1b", "llama2-7b", "llama2-13b"];

/** The rows for sequence length 4096, batch 1. */
export function memoryRows(): MemoryRow[] {
  return NAMES.map((name) => {
    const r = memoryReport(PRESETS[name], { batch: 1, seqLen: 4096 });
    return {
      preset: name,
      params: `${(r.totalParams / 1e9).toFixed(r.totalParams < 1e8 ? 4 : 2)} B`,
      weightsBf16: formatBytes(r.weightBytes.bf16),
      trainingState: formatBytes(r.trainingStateBytes),
      kvPerToken: formatBytes(r.kvBytesPerToken),
      kvAt4096: formatBytes(r.kvBytesFull),
    };
  });
}

/** Writes guide/memory-table.json. */
export function generateMemoryTable(docsRoot: string): void {
  const rows = memoryRows();
  writeFileSync(join(docsRoot, "guide", "memory-table.json"), `${JSON.stringify(rows, null, 2)}\n`);
  console.log(`memory: ${rows.length} presets`);
}
