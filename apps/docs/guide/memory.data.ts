// Build-time data for the GPU training guide: sizes of the Llama-2 presets from
// @anllm/llama2-model's memoryReport (computed from the configs, nothing allocated or typed in).
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

declare const data: MemoryRow[];

export { data };

const NAMES: PresetName[] = ["small", "tinyllama-1.1b", "llama2-7b", "llama2-13b"];

export default {
  load(): MemoryRow[] {
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
  },
};
