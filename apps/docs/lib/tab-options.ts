// The settings of "Train in the tab" (lib/tab-training.ts), apart from the model code so the page
// can show them without loading the packages.
import type { AdamWOptions, ScheduleOptions } from "@anllm/trainer";

/** The run's settings (the same object drives the page and the Node comparison). */
export interface TabTrainingOptions {
  steps: number;
  /** documents per step (one per row, right-truncated to seqLen, as the CLI's loader does) */
  batch: number;
  seqLen: number;
  seed: number;
  schedule: ScheduleOptions;
  optimizer: AdamWOptions;
  maxGradNorm: number;
}

/** The page's run: 30 steps of 4 x 64 tokens. */
export const TAB_TRAINING: TabTrainingOptions = {
  steps: 30,
  batch: 4,
  seqLen: 64,
  seed: 34,
  schedule: { kind: "constant", lr: 1e-2, warmupSteps: 5 },
  optimizer: { weightDecay: 0 },
  maxGradNorm: 1,
};

/** Where the page fetches the corpus slice (written at build time by scripts/gen-corpus-slice.ts). */
export const CORPUS_SLICE_FILE = "corpus-slice.json";

/** The slice of the embedded corpus the tab trains on. */
export interface CorpusSlice {
  source: string;
  documents: string[];
}
