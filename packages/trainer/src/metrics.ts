// The metrics stream: one JSON object per optimiser step appended to metrics.jsonl (written with
// a synchronous append so a killed run keeps every finished line). On resume the file is cut back
// to the checkpoint's step, so it reads as if the run had never been interrupted.

import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { atomicWrite, fsErrorText, OutputPathError } from "@anllm/tensor/io";
import type { Json } from "./checkpoint";

/** What the trainer records after each optimiser step. */
export interface StepMetrics {
  /** optimiser step, 1-based */
  step: number;
  /** mean loss over the step's micro-batches (NaN/Infinity are written as null) */
  loss: number;
  /** learning rate used by this step */
  lr: number;
  /** global L2 norm of the gradient before clipping */
  gradNorm: number;
  /** true when clipping scaled the gradient down */
  clipped: boolean;
  /** true when the step was skipped because of a non-finite loss or gradient */
  skipped: boolean;
  /** tokens consumed by this step (sum over micro-batches) */
  tokens: number;
  /** tokens consumed since the start of the run (across resumes) */
  totalTokens: number;
  /** tokens / second of this step */
  tokensPerSec: number;
  /** wall time of this step in ms */
  stepMs: number;
  /** live, peak and pooled (cached for reuse) tensor bytes on the device; process resident set size */
  memory: { liveBytes: number; peakBytes: number; pooledBytes: number; rssBytes: number };
  /** wall-clock time (ISO 8601) */
  time: string;
  /** loss scale after this step (mixed precision; absent when loss scaling is off) */
  lossScale?: number;
  /** the caller's `stepData()` at this step (absent without it) */
  data?: Json;
}

/** Appends {@link StepMetrics} lines to a JSONL file. */
export class MetricsWriter {
  constructor(readonly path: string) {}

  /** Appends one line (synchronously, so a crash never loses a finished step's line). */
  write(m: StepMetrics): void {
    try {
      appendFileSync(this.path, `${JSON.stringify(m)}\n`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      throw new OutputPathError(this.path, `cannot append: ${fsErrorText(e)}`, code);
    }
  }

  /** Drops lines whose step is greater than `step` (resume); a torn last line is dropped too. */
  async truncateAfter(step: number): Promise<void> {
    if (!existsSync(this.path)) return;
    const keep = readMetrics(this.path).filter((m) => m.step <= step);
    await atomicWrite(this.path, keep.map((m) => `${JSON.stringify(m)}\n`).join(""));
  }
}

/** Reads a metrics.jsonl file; a torn (partial) last line, as left by a killed run, is ignored. */
export function readMetrics(path: string): StepMetrics[] {
  const out: StepMetrics[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const m = JSON.parse(line) as StepMetrics;
      if (m.loss === null) m.loss = Number.NaN;
      out.push(m);
    } catch {
      // Only a final line cut by a kill can fail to parse; anything before it was complete.
    }
  }
  return out;
}
